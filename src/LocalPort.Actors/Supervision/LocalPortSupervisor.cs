using Akka.Actor;
using Akka.Event;
using LocalPort.Actors.Forwarding;
using LocalPort.Actors.Health;
using LocalPort.Actors.Services;
using LocalPort.Core.Config;

namespace LocalPort.Actors.Supervision;

/// <summary>
/// The root: one forward-&lt;svc&gt; and one health-&lt;svc&gt; child per enabled service, and the single
/// source of truth for service state (the CLI, the API and the logs all read it from here).
/// </summary>
public sealed class LocalPortSupervisor : ReceiveActor
{
    private sealed record Service(ServiceSpec Spec, IActorRef? Forward, IActorRef? Health);

    private readonly LocalPortRuntime _runtime;
    private readonly Dictionary<string, Service> _services = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ServiceStatus> _status = new(StringComparer.Ordinal);
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private bool _acceptingWork = true;

    public static Props Props(IEnumerable<ServiceSpec> services, LocalPortRuntime runtime) =>
        Akka.Actor.Props.Create(() => new LocalPortSupervisor(services.ToList(), runtime));

    public LocalPortSupervisor(IReadOnlyList<ServiceSpec> services, LocalPortRuntime runtime)
    {
        _runtime = runtime;
        foreach (var spec in services)
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
        foreach (var (name, service) in _services.ToList())
        {
            if (!service.Spec.Enabled) continue;
            var forward = Context.ActorOf(ForwardActor.Props(service.Spec, _runtime), $"forward-{name}");
            var health = Context.ActorOf(HealthCheckActor.Props(service.Spec, _runtime.Probes(service.Spec)), $"health-{name}");
            _services[name] = service with { Forward = forward, Health = health };
        }
    }

    private void Running()
    {
        Receive<ForwardActor.StateChanged>(HandleStateChanged);
        Receive<HealthCheckActor.HealthChanged>(HandleHealthChanged);
        Receive<GetStatus>(_ => Sender.Tell(Snapshot()));
        Receive<StopAll>(_ => BeginStopAll(Sender));
        Receive<StopNewWork>(_ =>
        {
            _acceptingWork = false;
            foreach (var service in Started) service.Health!.Tell(HealthCheckActor.ForwardDown.Instance);
            SendToAll(ForwardActor.Freeze.Instance);
        });
        Receive<DrainConnections>(_ => SendToAll(ForwardActor.Drain.Instance));
        Receive<RestartService>(HandleRestart);
        // Reloading from a file arrives with the daemon; a foreground run keeps its configuration.
        Receive<ReloadConfig>(_ => _log.Warning("reload requested, but this supervisor was started without a watched configuration file; restart it to apply changes"));
        Receive<DumpStatus>(_ =>
        {
            foreach (var s in Snapshot().Services)
                _log.Info("status {0}", $"{s.Name}: {s.State} healthy={s.Healthy?.ToString() ?? "-"} pid={s.Pid?.ToString() ?? "-"} " +
                                         $"restarts={s.Restarts} port={s.LocalPort} error={s.LastError ?? "-"}");
        });
    }

    private IEnumerable<Service> Started => _services.Values.Where(s => s.Forward is not null);

    /// <summary>Passes a phase command to every forward; their answers go straight to the asker.</summary>
    private void SendToAll(object command)
    {
        var services = Started.ToList();
        foreach (var service in services) service.Forward!.Tell(command, Sender);
        Sender.Tell(new PhaseTargets(services.Select(s => s.Spec.Name).ToList()));
    }

    private void HandleRestart(RestartService command)
    {
        if (!_acceptingWork)
        {
            Sender.Tell(new CommandRefused("LocalPort is shutting down"));
            return;
        }
        if (!_services.TryGetValue(command.Name, out var service) || service.Forward is null)
        {
            Sender.Tell(new CommandRefused($"no running service named '{command.Name}'"));
            return;
        }
        service.Forward.Tell(ForwardActor.Restart.Instance);
        Sender.Tell(new CommandAccepted(command.Name));
    }

    private StatusSnapshot Snapshot() => new(_status.Values.OrderBy(s => s.Name, StringComparer.Ordinal).ToList());

    private void HandleStateChanged(ForwardActor.StateChanged changed)
    {
        if (!_status.TryGetValue(changed.Name, out var previous)) return;
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
        var health = _services[changed.Name].Health;
        health?.Tell(changed.State == ServiceState.Running
            ? HealthCheckActor.ForwardUp.Instance
            : HealthCheckActor.ForwardDown.Instance);
    }

    private void HandleHealthChanged(HealthCheckActor.HealthChanged changed)
    {
        if (!_status.TryGetValue(changed.Name, out var previous) || previous.State != ServiceState.Running) return;
        Update(previous with { Healthy = changed.Healthy, LastError = changed.Healthy ? previous.LastError : changed.Error });
        if (changed.Healthy)
            _log.Info("{0}: healthy", changed.Name);
        else
            _services[changed.Name].Forward?.Tell(new ForwardActor.Unhealthy(changed.Error ?? "health check failed"));
    }

    private void Update(ServiceStatus status)
    {
        if (_status[status.Name] == status) return;
        _status[status.Name] = status;
        Context.System.EventStream.Publish(new ServiceStatusChanged(status));
    }

    private void BeginStopAll(IActorRef replyTo)
    {
        // Highest priority first; services of equal priority stop together.
        var groups = new Queue<List<Service>>(_services.Values
            .Where(s => s.Forward is not null)
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
            // A second StopAll joins the one in progress rather than starting another.
            Receive<StopAll>(_ => waiters.Add(Sender));
            Receive<RestartService>(_ => Sender.Tell(new CommandRefused("services are stopping")));
        });
        StopNextGroup();
    }
}
