using Akka.Actor;
using Akka.Event;
using LocalPort.Actors.Forwarding;
using LocalPort.Actors.Health;
using LocalPort.Actors.Reload;
using LocalPort.Actors.Services;
using LocalPort.Core.Config;

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
    }

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
    public static Props Props(IEnumerable<ServiceSpec> services, LocalPortRuntime runtime, Func<ServiceSpec, bool>? selection = null,
        ClusterHealthConfig? clusterHealth = null) =>
        Akka.Actor.Props.Create(() => new LocalPortSupervisor(services.ToList(), runtime, selection, clusterHealth));

    public LocalPortSupervisor(IReadOnlyList<ServiceSpec> services, LocalPortRuntime runtime, Func<ServiceSpec, bool>? selection,
        ClusterHealthConfig? clusterHealth)
    {
        _runtime = runtime;
        _clusterHealth = clusterHealth ?? ClusterHealthConfig.Default;
        _selection = selection ?? (_ => true);
        foreach (var spec in services.Where(_selection))
        {
            _services[spec.Name] = new Service(spec, null, null);
            _status[spec.Name] = ServiceStatus.Initial(spec, DateTimeOffset.Now);
        }
        Running();
    }

    protected override SupervisorStrategy SupervisorStrategy() =>
        // A crashing child is restarted alone: one failing service never disturbs another.
        new OneForOneStrategy(maxNrOfRetries: 10, withinTimeRange: TimeSpan.FromMinutes(1), Decider.From(Directive.Restart));

    protected override void PreStart()
    {
        StartSleepWatcher();
        foreach (var service in _services.Values.ToList())
            if (service.Spec.Enabled) StartService(service.Spec);
    }

    private void StartService(ServiceSpec spec)
    {
        var forward = Context.ActorOf(ForwardActor.Props(spec, _runtime, WatchCluster(spec)), $"forward-{spec.Name}");
        var health = Context.ActorOf(HealthCheckActor.Props(spec, _runtime.Probes(spec), _runtime.Probes), $"health-{spec.Name}");
        _services[spec.Name] = new Service(spec, forward, health);
    }

    private void Running()
    {
        Receive<ApplyConfig>(BeginReload);
        Receive<StopAll>(_ => BeginStopAll(Sender));
        // Answers and deaths of services that already left.
        Receive<ForwardActor.Stopped>(_ => { });
        Receive<Terminated>(_ => { });
        Common();
    }

    /// <summary>Handlers shared by Running and Reloading.</summary>
    private void Common()
    {
        Receive<ForwardActor.StateChanged>(HandleStateChanged);
        Receive<HealthCheckActor.HealthChanged>(HandleHealthChanged);
        Receive<GetStatus>(_ => Sender.Tell(Snapshot()));
        Receive<StopNewWork>(_ =>
        {
            _acceptingWork = false;
            StopWatchingClusters();
            foreach (var service in Started) service.Health!.Tell(HealthCheckActor.ForwardDown.Instance);
            SendToAll(ForwardActor.Freeze.Instance);
        });
        Receive<DrainConnections>(_ => SendToAll(ForwardActor.Drain.Instance));
        ClusterHandlers();
        Receive<Chaos.ChaosCommand>(RouteChaos);
        Receive<RestartService>(m => HandleCommand(m.Name, (service, _) => service.Forward!.Tell(ForwardActor.Restart.Instance)));
        Receive<StartService>(m => HandleCommand(m.Name, (service, status) =>
        {
            if (status.State is ServiceState.Stopped or ServiceState.Failed) service.Forward!.Tell(ForwardActor.Restart.Instance);
        }));
        Receive<StopService>(m => HandleCommand(m.Name, (service, _) =>
        {
            service.Health!.Tell(HealthCheckActor.ForwardDown.Instance);
            service.Forward!.Tell(ForwardActor.Stop.Instance);
        }));
        // With a watched file, SIGHUP goes to the ConfigWatcher; reaching the root means there is none.
        Receive<ReloadConfig>(_ => _log.Warning("reload requested, but this supervisor was started without a watched configuration file; restart it to apply changes"));
        Receive<DumpStatus>(_ =>
        {
            foreach (var s in Snapshot().Services)
                _log.Info("status {0}", $"{s.Name}: {s.State} healthy={s.Healthy?.ToString() ?? "-"} pid={s.Pid?.ToString() ?? "-"} " +
                                         $"restarts={s.Restarts} port={s.LocalPort} error={s.LastError ?? "-"}");
        });
    }

    private IEnumerable<Service> Started => _services.Values.Where(s => s is { Forward: not null, Leaving: false });

    /// <summary>Passes a phase command to every forward; their answers go straight to the asker.</summary>
    private void SendToAll(object command)
    {
        var services = Started.ToList();
        foreach (var service in services) service.Forward!.Tell(command, Sender);
        Sender.Tell(new PhaseTargets(services.Select(s => s.Spec.Name).ToList()));
    }

    /// <summary>A start/stop/restart by hand: refused during shutdown or for services that are not running here.</summary>
    private void HandleCommand(string name, Action<Service, ServiceStatus> apply)
    {
        if (!_acceptingWork)
        {
            Sender.Tell(new CommandRefused("LocalPort is shutting down"));
            return;
        }
        if (!_services.TryGetValue(name, out var service) || service.Forward is null || service.Leaving)
        {
            Sender.Tell(new CommandRefused($"no running service named '{name}'"));
            return;
        }
        apply(service, _status[name]);
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
            _log.Info("{0}: healthy", changed.Name);
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

        void StopNextGroup()
        {
            while (pending.Count == 0 && groups.Count > 0)
            {
                foreach (var service in groups.Dequeue())
                {
                    pending.Add(service.Spec.Name);
                    service.Health!.Tell(HealthCheckActor.ForwardDown.Instance);
                    service.Forward!.Tell(_acceptingWork ? ForwardActor.Stop.Instance : ForwardActor.Stop.ForShutdown);
                }
            }
            if (pending.Count > 0) return;
            foreach (var waiter in waiters) waiter.Tell(new AllStopped(total));
            Become(Running);
        }

        Become(() =>
        {
            Receive<ForwardActor.Stopped>(m =>
            {
                pending.Remove(m.Name);
                StopNextGroup();
            });
            Receive<ForwardActor.StateChanged>(HandleStateChanged);
            Receive<HealthCheckActor.HealthChanged>(_ => { });
            Receive<GetStatus>(_ => Sender.Tell(Snapshot()));
            ClusterHandlers();
            // A second StopAll joins the one in progress rather than starting another.
            Receive<StopAll>(_ => waiters.Add(Sender));
            Receive<RestartService>(_ => Sender.Tell(new CommandRefused("services are stopping")));
            Receive<ApplyConfig>(_ => Sender.Tell(ReloadResult.Refused("shutting down")));
            Receive<Terminated>(_ => { });
        });
        StopNextGroup();
    }
}
