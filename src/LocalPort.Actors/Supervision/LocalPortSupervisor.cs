using Akka.Actor;
using Akka.Event;
using LocalPort.Actors.Forwarding;
using LocalPort.Actors.Health;
using LocalPort.Actors.Reload;
using LocalPort.Actors.Services;
using LocalPort.Actors.SshMasters;
using LocalPort.Core.Config;
using Relay = LocalPort.Core.Relay;

namespace LocalPort.Actors.Supervision;

/// <summary>
/// The root: one forward-&lt;svc&gt; and one health-&lt;svc&gt; child per enabled service, and the single
/// source of truth for service state (the CLI, the API and the logs all read it from here).
/// Reloads (<see cref="ApplyConfig"/>) run one at a time in <see cref="Reloading"/>: services that leave
/// are stopped and their actors terminated before anything new starts, so a port is free again and a
/// re-added service gets its plain forward-&lt;svc&gt;/health-&lt;svc&gt; names back.
/// </summary>
public sealed partial class LocalPortSupervisor : ReceiveActor, IWithTimers, IWithUnboundedStash
{
    /// <summary>A known service; Forward/Health are null while it is disabled or between reload steps.</summary>
    private sealed record Service(ServiceSpec Spec, IActorRef? Forward, IActorRef? Health)
    {
        /// <summary>Being stopped by a reload: no phase command, restart or health verdict reaches it.</summary>
        public bool Leaving { get; init; }
        /// <summary>Toxics set by command, handed to a replacement forward if this one crashes.</summary>
        public Relay.Toxics.ToxicSet? Toxics { get; init; }
        /// <summary>When its actors crashed lately (for the restart intensity), most recent last.</summary>
        public IReadOnlyList<DateTimeOffset> Crashes { get; init; } = [];
    }

    /// <summary>More crashes than this within <see cref="CrashPeriod"/> and the service is failed instead of restarted.</summary>
    private const int MaxCrashes = 10;
    private static readonly TimeSpan CrashPeriod = TimeSpan.FromMinutes(1);

    private readonly LocalPortRuntime _runtime;
    private readonly Func<ServiceSpec, bool> _selection;
    private readonly Dictionary<string, Service> _services = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ServiceStatus> _status = new(StringComparer.Ordinal);
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private bool _acceptingWork = true;

    public ITimerScheduler Timers { get; set; } = null!;
    public IStash Stash { get; set; } = null!;

    /// <param name="selection">Which services of a configuration this root runs, at start and on every
    /// reload (e.g. the names given to `run`); null means all of them.</param>
    /// <param name="clusterHealth">How kube contexts are watched; null means the defaults.</param>
    /// <param name="autoStart">False: services start stopped and wait for a <see cref="StartService"/> (`daemon start --no-auto-start`).</param>
    public static Props Props(IEnumerable<ServiceSpec> services, LocalPortRuntime runtime, Func<ServiceSpec, bool>? selection = null,
        ClusterHealthConfig? clusterHealth = null, bool autoStart = true)
    {
        // A plain variable in the factory: Akka compiles a call expression (`services.ToList()`) to evaluate it.
        var list = services.ToList();
        return Akka.Actor.Props.Create(() => new LocalPortSupervisor(list, runtime, selection, clusterHealth, autoStart));
    }

    private readonly bool _autoStart;

    public LocalPortSupervisor(IReadOnlyList<ServiceSpec> services, LocalPortRuntime runtime, Func<ServiceSpec, bool>? selection,
        ClusterHealthConfig? clusterHealth, bool autoStart = true)
    {
        _autoStart = autoStart;
        _runtime = WithSharedSsh(runtime);
        _clusterHealth = clusterHealth ?? ClusterHealthConfig.Default;
        _selection = selection ?? (_ => true);
        foreach (var spec in services.Where(_selection))
        {
            _services[spec.Name] = new Service(spec, null, null);
            var initial = ServiceStatus.Initial(spec, DateTimeOffset.Now);
            _status[spec.Name] = autoStart || !spec.Enabled ? initial : initial with { State = ServiceState.Stopped };
        }
        Running();
    }

    /// <summary>ssh-masters, when ssh services share masters: told when shutdown begins, so idle masters stop at once.</summary>
    private IActorRef? _sshMasters;

    /// <summary>Shared ssh masters live under the root (ssh-masters), so forwards reach them through the tunnel factory.</summary>
    private LocalPortRuntime WithSharedSsh(LocalPortRuntime runtime)
    {
        if (runtime.SshMasters is not { } settings) return runtime;
        settings = settings with { StartTimeout = runtime.StartTimeout, StopGrace = runtime.StopGrace };
        _sshMasters = Context.ActorOf(SshMastersActor.Props(settings, runtime.Ledger, runtime.Random), "ssh-masters");
        return runtime with { Tunnels = new SharedSshTunnelFactory(runtime.Tunnels, _sshMasters, settings, runtime.Ledger) };
    }

    /// <summary>The last exception of each child that crashed, until its Terminated is handled.</summary>
    private readonly Dictionary<IActorRef, Exception> _crashReasons = [];

    protected override SupervisorStrategy SupervisorStrategy() => new ServiceChildStrategy(_crashReasons);

    /// <summary>
    /// A crashing forward or health actor is stopped and, on its Terminated, replaced by the root from the current
    /// spec (never the start-up one its Props captured); other children (cluster monitors, the sleep watcher) are
    /// restarted in place. One failing service never disturbs another.
    /// </summary>
    private sealed class ServiceChildStrategy(Dictionary<IActorRef, Exception> reasons)
        : OneForOneStrategy(maxNrOfRetries: 10, withinTimeRange: TimeSpan.FromMinutes(1), Akka.Actor.Decider.From(Directive.Restart))
    {
        private static bool IsServiceChild(IActorRef child) => child.Path.Name.StartsWith("forward-", StringComparison.Ordinal)
                                                             || child.Path.Name.StartsWith("health-", StringComparison.Ordinal);

        public override void ProcessFailure(IActorContext context, bool restart, IActorRef child, Exception cause,
            Akka.Actor.Internal.ChildRestartStats stats, IReadOnlyCollection<Akka.Actor.Internal.ChildRestartStats> children)
        {
            if (!IsServiceChild(child))
            {
                base.ProcessFailure(context, restart, child, cause, stats, children);
                return;
            }
            reasons[child] = cause;
            context.Stop(child);
        }
    }

    protected override void PreStart()
    {
        // The metrics subscribe to the EventStream before the first service status is published.
        Metrics.LocalPortMetrics.For(Context.System);
        StartSleepWatcher();
        if (!_autoStart) return;
        foreach (var service in _services.Values.ToList())
            if (service.Spec.Enabled) StartService(service.Spec);
    }

    private void StartService(ServiceSpec spec)
    {
        var forward = StartForward(spec, null);
        var health = StartHealth(spec);
        _services[spec.Name] = new Service(spec, forward, health);
    }

    private IActorRef StartForward(ServiceSpec spec, ForwardActor.Memory? memory) =>
        Context.Watch(Context.ActorOf(ForwardActor.Props(spec, _runtime, WatchCluster(spec), memory), $"forward-{spec.Name}"));

    private IActorRef StartHealth(ServiceSpec spec) =>
        Context.Watch(Context.ActorOf(HealthCheckActor.Props(spec, _runtime.Probes(spec), _runtime.Probes), $"health-{spec.Name}"));

    private void Running()
    {
        Receive<ApplyConfig>(BeginReload);
        Receive<StopAll>(_ => BeginStopAll(Sender));
        // Answers of services that already left.
        Receive<ForwardActor.Stopped>(_ => { });
        Receive<Terminated>(m => Replace(m.ActorRef));
        Common();
    }

    /// <summary>
    /// A child of a running service died (it crashed): replace it from the current spec, with the forward's restarts
    /// and toxics, unless it crashed too often lately; then the service shows failed with the reason.
    /// </summary>
    private void Replace(IActorRef dead)
    {
        _crashReasons.Remove(dead, out var reason);
        var service = _services.Values.FirstOrDefault(s => !s.Leaving && (dead.Equals(s.Forward) || dead.Equals(s.Health)));
        if (service is null) return;
        var name = service.Spec.Name;
        var isForward = dead.Equals(service.Forward);
        var why = $"{(isForward ? "forward" : "health check")} actor crashed: {reason?.GetType().Name}: {reason?.Message ?? "stopped"}";
        var now = DateTimeOffset.Now;
        var crashes = service.Crashes.Where(t => now - t < CrashPeriod).Append(now).ToList();
        service = service with { Crashes = crashes };
        if (crashes.Count > MaxCrashes || !_acceptingWork)
        {
            _log.Error("{Service}: {Reason}; {Outcome}", name, why, _acceptingWork ? $"crashed {crashes.Count} times within {Durations.Format(CrashPeriod)}: not restarted" : "not restarted during shutdown");
            if (isForward) Update(_status[name] with { State = _acceptingWork ? ServiceState.Failed : ServiceState.Stopped, Pid = null, LastError = why, Healthy = null, NextAttempt = null });
            _services[name] = isForward ? service with { Forward = null } : service with { Health = null };
            if (isForward && service.Health is { } health) health.Tell(HealthCheckActor.ForwardDown.Instance);
            return;
        }
        _log.Warning("{Service}: {Reason}; restarting it with the current settings", name, why);
        if (isForward)
        {
            service = service with { Forward = StartForward(service.Spec, new ForwardActor.Memory(_status[name].Restarts, service.Toxics)) };
            service.Health?.Tell(HealthCheckActor.ForwardDown.Instance);
        }
        else
        {
            service = service with { Health = StartHealth(service.Spec) };
            // Checks resume at once when the forward is up; otherwise its next Running says so.
            if (_status[name].State == ServiceState.Running) service.Health.Tell(HealthCheckActor.ForwardUp.Instance);
        }
        _services[name] = service;
    }

    /// <summary>Handlers shared by Running and Reloading.</summary>
    private void Common()
    {
        Receive<ForwardActor.StateChanged>(HandleStateChanged);
        Receive<HealthCheckActor.HealthChanged>(HandleHealthChanged);
        Receive<GetStatus>(_ => Sender.Tell(Snapshot()));
        Receive<ForwardActor.ToxicsChanged>(HandleToxicsChanged);
        // The forward kept its tunnel: the health actor starts judging afresh (its failures were ours, not the tunnel's).
        Receive<ForwardActor.ChecksInconclusive>(m =>
        {
            if (_services.TryGetValue(m.Name, out var service) && Sender.Equals(service.Forward))
                service.Health?.Tell(HealthCheckActor.ForwardUp.Instance);
        });
        Receive<StopNewWork>(_ =>
        {
            _acceptingWork = false;
            _sshMasters?.Tell(SshMasterActor.Freeze.Instance);
            StopWatchingClusters();
            foreach (var service in Started) service.Health?.Tell(HealthCheckActor.ForwardDown.Instance);
            SendToAll(ForwardActor.Freeze.Instance);
        });
        Receive<DrainConnections>(_ => SendToAll(ForwardActor.Drain.Instance));
        ClusterHandlers();
        Receive<Chaos.ChaosCommand>(RouteChaos);
        // A service without actors (crashed for good, or never started: --no-auto-start) gets new ones, which start by themselves.
        Receive<RestartService>(m => HandleCommand(m.Name, (service, _, revived) =>
        {
            if (!revived) service.Forward!.Tell(ForwardActor.Restart.Instance);
        }));
        Receive<StartService>(m => HandleCommand(m.Name, (service, status, revived) =>
        {
            if (!revived && status.State is ServiceState.Stopped or ServiceState.Failed) service.Forward!.Tell(ForwardActor.Restart.Instance);
        }));
        Receive<StopService>(m => HandleCommand(m.Name, (service, _, _) =>
        {
            service.Health?.Tell(HealthCheckActor.ForwardDown.Instance);
            service.Forward?.Tell(m.Force ? ForwardActor.Stop.Now : ForwardActor.Stop.Instance);
        }, revive: false));
        // With a watched file, SIGHUP goes to the ConfigWatcher; reaching the root means there is none.
        Receive<ReloadConfig>(_ => _log.Warning("reload requested, but this supervisor was started without a watched configuration file; restart it to apply changes"));
        Receive<DumpStatus>(_ => LogStatus());
    }

    private void LogStatus()
    {
        foreach (var s in Snapshot().Services)
            _log.Info("status {Service}: {State} healthy={Healthy} pid={Pid} restarts={Restarts} port={LocalPort} error={Error}",
                new object[] { s.Name, s.State, s.Healthy?.ToString() ?? "-", s.Pid?.ToString() ?? "-", s.Restarts, s.LocalPort, s.LastError ?? "-" });
    }

    private IEnumerable<Service> Started => _services.Values.Where(s => s is { Forward: not null, Leaving: false });

    /// <summary>New actors for a service whose forward crashed for good (restart by hand or a reload).</summary>
    private Service Revive(Service service)
    {
        var memory = new ForwardActor.Memory(_status[service.Spec.Name].Restarts, service.Toxics);
        var revived = service with { Forward = StartForward(service.Spec, memory), Health = service.Health ?? StartHealth(service.Spec), Crashes = [] };
        _services[service.Spec.Name] = revived;
        return revived;
    }

    private void HandleToxicsChanged(ForwardActor.ToxicsChanged changed)
    {
        if (_services.TryGetValue(changed.Name, out var service) && Sender.Equals(service.Forward))
            _services[changed.Name] = service with { Toxics = changed.Toxics };
    }

    /// <summary>Passes a phase command to every forward; their answers go straight to the asker.</summary>
    private void SendToAll(object command)
    {
        var services = Started.ToList();
        foreach (var service in services) service.Forward!.Tell(command, Sender);
        Sender.Tell(new PhaseTargets(services.Select(s => s.Spec.Name).ToList()));
    }

    /// <summary>A start/stop/restart by hand: refused during shutdown or for services that are not running here.</summary>
    /// <param name="revive">Give a service without actors new ones first (not for a stop: nothing runs to stop).</param>
    private void HandleCommand(string name, Action<Service, ServiceStatus, bool> apply, bool revive = true)
    {
        if (!_acceptingWork)
        {
            Sender.Tell(CommandRefused.ShuttingDown);
            return;
        }
        if (!_services.TryGetValue(name, out var service) || service.Leaving || !service.Spec.Enabled)
        {
            Sender.Tell(new CommandRefused($"no running service named '{name}'", RefusalCode.UnknownService));
            return;
        }
        // A service whose actors crashed too often gets new ones: a command by hand is a fresh start.
        var revived = revive && service.Forward is null;
        if (revived) service = Revive(service);
        apply(service, _status[name], revived);
        Sender.Tell(new CommandAccepted(name));
    }

    private StatusSnapshot Snapshot() => new(_status.Values.OrderBy(s => s.Name, StringComparer.Ordinal).ToList());

    private void HandleStateChanged(ForwardActor.StateChanged changed)
    {
        // Only the service's current forward speaks for it: a replaced one may still have words in flight.
        if (!_services.TryGetValue(changed.Name, out var service) || !Sender.Equals(service.Forward)
            || !_status.TryGetValue(changed.Name, out var previous)) return;
        var healthy = changed.State == ServiceState.Running && previous.State == ServiceState.Running ? previous.Healthy : null;
        Update(previous with
        {
            State = changed.State,
            Restarts = changed.Restarts,
            Pid = changed.Pid,
            LastError = changed.LastError,
            Healthy = healthy,
            Since = previous.State == changed.State ? previous.Since : DateTimeOffset.Now,
            NextAttempt = changed.NextAttempt,
        });
        if (service.Leaving) return;
        service.Health?.Tell(changed.State == ServiceState.Running
            ? HealthCheckActor.ForwardUp.Instance
            : HealthCheckActor.ForwardDown.Instance);
    }

    private void HandleHealthChanged(HealthCheckActor.HealthChanged changed)
    {
        if (!_services.TryGetValue(changed.Name, out var service) || !Sender.Equals(service.Health) || service.Leaving
            || !_status.TryGetValue(changed.Name, out var previous) || previous.State != ServiceState.Running) return;
        Update(previous with { Healthy = changed.Healthy, LastError = changed.Healthy ? previous.LastError : changed.Error });
        if (changed.Healthy)
        {
            _log.Info("{Service}: healthy", changed.Name);
            service.Forward?.Tell(ForwardActor.Proven.Instance);
        }
        else
            service.Forward?.Tell(new ForwardActor.Unhealthy(changed.Error ?? "health check failed"));
    }

    private void Update(ServiceStatus status)
    {
        if (_status.TryGetValue(status.Name, out var current) && current == status) return;
        _status[status.Name] = status;
        Context.System.EventStream.Publish(new ServiceStatusChanged(status));
    }

    private void RemoveStatus(string name)
    {
        if (_status.Remove(name)) Context.System.EventStream.Publish(new ServiceRemoved(name));
    }

    private void BeginStopAll(IActorRef replyTo)
    {
        // Highest priority first; services of equal priority stop together.
        var groups = new Queue<List<Service>>(Started
            .GroupBy(s => s.Spec.Priority)
            .OrderByDescending(g => g.Key)
            .Select(g => g.ToList()));
        var total = groups.Sum(g => g.Count);
        var waiters = new List<IActorRef> { replyTo };
        var pending = new HashSet<string>(StringComparer.Ordinal);

        var mastersAsked = false;

        void StopNextGroup()
        {
            while (pending.Count == 0 && groups.Count > 0)
            {
                var group = groups.Dequeue();
                foreach (var service in group)
                {
                    pending.Add(service.Spec.Name);
                    service.Health?.Tell(HealthCheckActor.ForwardDown.Instance);
                    service.Forward!.Tell(_acceptingWork ? ForwardActor.Stop.Instance : ForwardActor.Stop.ForShutdown);
                }
                // After their Stop (so each forward is stopping before its tunnel ends): a shared master whose members
                // all go now is stopped at once, not after a -O cancel per member.
                _sshMasters?.Tell(new SshMasterActor.Leaving(group.Select(s => s.Spec.Name).ToList()));
            }
            if (pending.Count > 0) return;
            // The services are stopped; the phase ends when the shared masters have exited too (told by their exits).
            if (_sshMasters is { } masters && !mastersAsked)
            {
                mastersAsked = true;
                masters.Tell(SshMasterActor.AwaitStopped.Instance);
                return;
            }
            AllDone();
        }

        void AllDone()
        {
            foreach (var waiter in waiters) waiter.Tell(new AllStopped(total));
            Become(Running);
        }

        void Departed(string name)
        {
            pending.Remove(name);
            StopNextGroup();
        }

        Become(() =>
        {
            Receive<ForwardActor.Stopped>(m => Departed(m.Name));
            Receive<SshMasterActor.MastersStopped>(_ => mastersAsked, _ => AllDone());
            // A forward that died instead of answering has released its port and tunnel in PostStop.
            Receive<Terminated>(m =>
            {
                _crashReasons.Remove(m.ActorRef);
                if (_services.Values.FirstOrDefault(s => m.ActorRef.Equals(s.Forward)) is { } service) Departed(service.Spec.Name);
            });
            Receive<ForwardActor.StateChanged>(HandleStateChanged);
            Receive<ForwardActor.ToxicsChanged>(HandleToxicsChanged);
            // Health no longer matters to services that are stopping.
            Receive<HealthCheckActor.HealthChanged>(_ => { });
            Receive<ForwardActor.ChecksInconclusive>(_ => { });
            Receive<GetStatus>(_ => Sender.Tell(Snapshot()));
            ClusterHandlers();
            // A second StopAll joins the one in progress rather than starting another.
            Receive<StopAll>(_ => waiters.Add(Sender));
            // Every request gets an answer, with the reason it cannot be done now.
            var refusal = _acceptingWork ? new CommandRefused("services are stopping", RefusalCode.Busy) : CommandRefused.ShuttingDown;
            Receive<RestartService>(_ => Sender.Tell(refusal));
            Receive<StartService>(_ => Sender.Tell(refusal));
            Receive<StopService>(_ => Sender.Tell(refusal));
            Receive<Chaos.ChaosCommand>(_ => Sender.Tell(refusal));
            Receive<ApplyConfig>(_ => Sender.Tell(ReloadResult.ShuttingDown()));
            Receive<ReloadConfig>(_ => _log.Info("reload ignored: services are stopping"));
            Receive<DumpStatus>(_ => LogStatus());
            Receive<StopNewWork>(_ =>
            {
                _sshMasters?.Tell(SshMasterActor.Freeze.Instance);
                Sender.Tell(new PhaseTargets([]));
            });
            Receive<DrainConnections>(_ => Sender.Tell(new PhaseTargets([])));
        });
        StopNextGroup();
    }
}
