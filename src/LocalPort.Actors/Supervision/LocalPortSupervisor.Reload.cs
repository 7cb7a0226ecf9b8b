using Akka.Actor;
using Akka.Event;
using LocalPort.Actors.Forwarding;
using LocalPort.Actors.Health;
using LocalPort.Actors.Reload;
using LocalPort.Actors.Services;
using LocalPort.Core.Config;

namespace LocalPort.Actors.Supervision;

/// <summary>The root's reload: one <see cref="ApplyConfig"/> at a time, later ones stashed until it is done.</summary>
public sealed partial class LocalPortSupervisor
{
    private sealed class ReloadStopDeadline { public static readonly ReloadStopDeadline Instance = new(); }

    private const string ReloadStopTimer = "reload-stop-deadline";

    /// <summary>One reload being applied: who asked, what it did so far, and who has yet to leave.</summary>
    private sealed class ReloadInProgress(IActorRef replyTo)
    {
        public IActorRef ReplyTo { get; } = replyTo;
        public List<string> Added { get; } = [];
        public List<string> Removed { get; } = [];
        public List<string> Restarted { get; } = [];
        public List<string> Updated { get; } = [];
        /// <summary>Started once every leaving service is gone.</summary>
        public List<ServiceSpec> ToStart { get; } = [];
        /// <summary>Leaving forwards not yet stopped, with what replaces their service (null: nothing).</summary>
        public Dictionary<IActorRef, (string Name, ServiceSpec? Next)> AwaitingStop { get; } = [];
        /// <summary>Stopped children whose Terminated has not arrived: their names are not free yet.</summary>
        public HashSet<IActorRef> Terminating { get; } = [];
    }

    private ReloadInProgress? _reload;

    private void BeginReload(ApplyConfig apply)
    {
        if (!_acceptingWork)
        {
            Sender.Tell(ReloadResult.ShuttingDown());
            return;
        }
        var reload = _reload = new ReloadInProgress(Sender);
        UpdateClusterHealth(apply.Config.ClusterHealth);
        var plan = ReloadPlan.Between(_services.Values.Select(s => s.Spec), apply.Config.Services.Where(_selection));

        foreach (var name in plan.Remove)
        {
            reload.Removed.Add(name);
            Leave(name, next: null);
        }
        foreach (var spec in plan.Disable)
        {
            reload.Removed.Add(spec.Name);
            Leave(spec.Name, next: spec);
        }
        foreach (var spec in plan.Restart)
        {
            reload.Restarted.Add(spec.Name);
            Leave(spec.Name, next: spec);
        }
        foreach (var spec in plan.Add.Concat(plan.Enable))
        {
            reload.Added.Add(spec.Name);
            _services[spec.Name] = new Service(spec, null, null);
            Update(ServiceStatus.Initial(spec, DateTimeOffset.Now));
            if (spec.Enabled) reload.ToStart.Add(spec);
        }
        foreach (var spec in plan.Update) UpdateInPlace(spec);
        RestartFailed();

        Become(Reloading);
        if (reload.AwaitingStop.Count > 0) Timers.StartSingleTimer(ReloadStopTimer, ReloadStopDeadline.Instance, _runtime.StopGrace + TimeSpan.FromSeconds(5));
        TryFinishReload();
    }

    /// <summary>Health and restart policy (and labels) change without dropping the forward.</summary>
    private void UpdateInPlace(ServiceSpec spec)
    {
        var service = _services[spec.Name] with { Spec = spec };
        _services[spec.Name] = service;
        _reload!.Updated.Add(spec.Name);
        if (service.Forward is null)
        {
            // Disabled: nothing runs. Crashed for good: RestartFailed revives it from this spec.
            if (!spec.Enabled) Update(ServiceStatus.Initial(spec, DateTimeOffset.Now));
            return;
        }
        service.Forward.Tell(new UpdateSpec(spec));
        service.Health?.Tell(new UpdateSpec(spec));
    }

    /// <summary>A reload is the documented way (besides `restart`) to give a failed service another go.</summary>
    private void RestartFailed()
    {
        foreach (var crashed in _services.Values.Where(s => s is { Forward: null, Leaving: false, Spec.Enabled: true }
                                                           && _status[s.Spec.Name].State == ServiceState.Failed).ToList())
        {
            Revive(crashed);
            _reload!.Updated.Remove(crashed.Spec.Name);
            _reload.Restarted.Add(crashed.Spec.Name);
        }
        foreach (var service in Started.Where(s => _status[s.Spec.Name].State == ServiceState.Failed).ToList())
        {
            service.Forward!.Tell(ForwardActor.Restart.Instance);
            _reload!.Updated.Remove(service.Spec.Name);
            _reload.Restarted.Add(service.Spec.Name);
        }
    }

    /// <summary>Stops a service's forward (port and tunnel) and health check; <paramref name="next"/> takes its place after.</summary>
    private void Leave(string name, ServiceSpec? next)
    {
        var service = _services[name] with { Leaving = true };
        _services[name] = service;
        // Both are watched since they started; the names are free once both Terminated arrived.
        foreach (var child in new[] { service.Forward, service.Health }.OfType<IActorRef>()) _reload!.Terminating.Add(child);
        if (service.Forward is null)
        {
            // Its forward crashed for good: only a health actor may be left.
            if (service.Health is { } orphan) Context.Stop(orphan);
            Succeed(name, next);
            return;
        }
        _reload!.AwaitingStop[service.Forward] = (name, next);
        service.Health?.Tell(HealthCheckActor.ForwardDown.Instance);
        service.Forward.Tell(ForwardActor.Stop.Instance);
    }

    private void Reloading()
    {
        Receive<ForwardActor.Stopped>(_ => _reload!.AwaitingStop.ContainsKey(Sender), _ => Departed(Sender));
        Receive<ForwardActor.Stopped>(_ => { });
        Receive<Terminated>(m =>
        {
            // A forward that died before answering Stop has released its port in PostStop.
            if (_reload!.AwaitingStop.ContainsKey(m.ActorRef)) Departed(m.ActorRef);
            else if (!_reload.Terminating.Contains(m.ActorRef)) Replace(m.ActorRef);
            _reload.Terminating.Remove(m.ActorRef);
            TryFinishReload();
        });
        Receive<ReloadStopDeadline>(_ =>
        {
            foreach (var forward in _reload!.AwaitingStop.Keys.ToList())
            {
                _log.Warning("{Service}: did not stop within the reload deadline; stopping its actors", _reload.AwaitingStop[forward].Name);
                Departed(forward);
            }
        });
        Receive<ApplyConfig>(_ => Stash.Stash());
        Receive<StopAll>(_ => Stash.Stash());
        Common();
    }

    /// <summary>The forward has let go of its port and tunnel: stop both actors and put the successor in place.</summary>
    private void Departed(IActorRef forward)
    {
        var (name, next) = _reload!.AwaitingStop[forward];
        _reload.AwaitingStop.Remove(forward);
        var service = _services[name];
        Context.Stop(forward);
        if (service.Health is { } health) Context.Stop(health);
        Succeed(name, next);
        TryFinishReload();
    }

    /// <summary>What follows a service that left: nothing (removed), a disabled entry, or a start once names are free.</summary>
    private void Succeed(string name, ServiceSpec? next)
    {
        if (next is null)
        {
            _services.Remove(name);
            RemoveStatus(name);
            _log.Info("{Service}: removed", name);
            return;
        }
        _services[name] = new Service(next, null, null);
        if (next.Enabled) _reload!.ToStart.Add(next);
        else Update(ServiceStatus.Initial(next, DateTimeOffset.Now));
    }

    private void TryFinishReload()
    {
        var reload = _reload!;
        if (reload.AwaitingStop.Count > 0 || reload.Terminating.Count > 0) return;
        Timers.Cancel(ReloadStopTimer);
        string? error = null;
        foreach (var spec in reload.ToStart.OrderBy(s => s.Name, StringComparer.Ordinal))
        {
            if (_acceptingWork)
            {
                Update(ServiceStatus.Initial(spec, DateTimeOffset.Now));
                StartService(spec);
                continue;
            }
            // Shutdown began while old services were leaving: nothing new may start now.
            Update(ServiceStatus.Initial(spec, DateTimeOffset.Now) with { State = ServiceState.Stopped });
            reload.Added.Remove(spec.Name);
            reload.Restarted.Remove(spec.Name);
            error = "shutting down";
        }
        PruneClusters();
        var result = new ReloadResult(error is null, Sorted(reload.Added), Sorted(reload.Removed), Sorted(reload.Restarted),
            Sorted(reload.Updated), error, DateTimeOffset.Now);
        _reload = null;
        reload.ReplyTo.Tell(result);
        Become(Running);
        Stash.UnstashAll();
    }

    private static List<string> Sorted(IEnumerable<string> names) => names.Distinct().Order(StringComparer.Ordinal).ToList();
}
