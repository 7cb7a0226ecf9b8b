using System.Net;
using System.Net.Sockets;
using Akka.Actor;
using Akka.Event;
using LocalPort.Actors.Cluster;
using LocalPort.Actors.Reload;
using LocalPort.Actors.Services;
using LocalPort.Core.Config;
using LocalPort.Core.Forwarding;
using LocalPort.Core.Processes;
using LocalPort.Core.Recovery;
using LocalPort.Actors.Metrics;
using LocalPort.Core.Relay;
using LocalPort.Core.Relay.Toxics;

namespace LocalPort.Actors.Forwarding;

/// <summary>
/// Owns one service's forward: the relay listener on local_port (bound for the life of the service)
/// and the current tunnel behind it. Restarts the tunnel when it exits or is reported unhealthy, as its
/// <see cref="FailureAccount"/> decides: a proven tunnel that drops is replaced at once; tunnels that never
/// prove themselves max_attempts times in a row make the service Failed, retried every max_delay.
/// A reload's <see cref="UpdateSpec"/> changes its restart policy and check interval without touching the tunnel.
/// </summary>
public sealed partial class ForwardActor : ReceiveActor, IWithTimers
{
    /// <summary>Sent by the root when the health checks gave up on the running tunnel.</summary>
    public sealed record Unhealthy(string Reason);
    /// <summary>Manual restart (also clears a Failed state).</summary>
    public sealed class Restart { public static readonly Restart Instance = new(); private Restart() { } }
    /// <summary>
    /// Stop the tunnel (SIGTERM) and close the port; answered with <see cref="Stopped"/>. During shutdown
    /// a child that ignores SIGTERM is left to force-cleanup rather than killed here.
    /// </summary>
    /// <param name="NoGrace">Kill at once, without waiting the stop grace (`stop --force`).</param>
    public sealed record Stop(bool KillAfterGrace, bool NoGrace = false)
    {
        public static readonly Stop Instance = new(true);
        public static readonly Stop ForShutdown = new(false);
        public static readonly Stop Now = new(true, NoGrace: true);
    }
    public sealed record Stopped(string Name);
    /// <summary>Shutdown's first phase: no more restarts; answered with <see cref="Frozen"/>.</summary>
    public sealed class Freeze { public static readonly Freeze Instance = new(); private Freeze() { } }
    public sealed record Frozen(string Name);
    /// <summary>Close the port to new connections and wait for relayed exchanges in flight; answered with <see cref="Drained"/>.</summary>
    public sealed class Drain { public static readonly Drain Instance = new(); private Drain() { } }
    /// <param name="InFlight">Connections that were mid-exchange when the drain began (and have finished it since).</param>
    public sealed record Drained(string Name, int InFlight = 0);
    /// <summary>To the parent: the failing checks were not the tunnel's fault (no descriptors left); checking goes on.</summary>
    public sealed record ChecksInconclusive(string Name);
    /// <summary>From the root: the running tunnel passed a health check, so it has proved itself.</summary>
    public sealed class Proven { public static readonly Proven Instance = new(); private Proven() { } }
    /// <summary>Reported to the parent on every state change; <paramref name="NextAttempt"/> is set while waiting to retry.</summary>
    public sealed record StateChanged(string Name, ServiceState State, int Restarts, int? Pid, string? LastError,
        DateTimeOffset? NextAttempt = null);
    /// <summary>What a replacement actor takes over from one that crashed (kept by the parent).</summary>
    public sealed record Memory(int Restarts, ToxicSet? Toxics)
    {
        public static readonly Memory Fresh = new(0, null);
    }

    private sealed record TunnelReady(int Generation, EndPoint Endpoint);
    /// <param name="Local">A problem on this machine (port taken, no executable): no cluster can explain it.</param>
    private sealed record TunnelFailed(int Generation, string Reason, bool Local = false);
    private sealed record RetryDue(int Generation);
    private sealed record StartTimedOut(int Generation);
    private sealed record TunnelStopped(IActorRef ReplyTo);
    private sealed record RelayDrained(IActorRef ReplyTo, int InFlight);
    private sealed class CheckSuspended { public static readonly CheckSuspended Instance = new(); }

    private const string RetryTimer = "retry";
    private const string StartTimer = "start-timeout";
    private const string SuspendedTimer = "suspended";

    private ServiceSpec _spec;
    private readonly LocalPortRuntime _runtime;
    /// <summary>A kubectl service: failures wait for its cluster monitor's verdict (ForwardActor.Cluster.cs).</summary>
    private readonly bool _clusterGated;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private RelayListener? _relay;
    private ITunnel? _tunnel;
    private readonly FailureAccount _account;
    private int _generation;
    private int _restarts;
    private int _suspendedChecks;
    private bool _frozen;
    private string? _lastError;
    /// <summary>The tunnel being replaced by a `restart`: it serves until its successor is ready.</summary>
    private (ITunnel Tunnel, EndPoint Endpoint)? _retiring;
    private EndPoint? _endpoint;
    private DateTimeOffset? _nextAttempt;

    public ITimerScheduler Timers { get; set; } = null!;

    /// <param name="clusterGated">Ask the parent whether the cluster is reachable before charging a failure.</param>
    /// <param name="memory">What an earlier actor of this service left (restarts, toxics); null for a fresh start.</param>
    public static Props Props(ServiceSpec spec, LocalPortRuntime runtime, bool clusterGated = false, Memory? memory = null)
    {
        // Plain variables only in the factory: Akka compiles any other argument expression (`a ?? b`) per actor, ~1 ms each.
        var remembered = memory ?? Memory.Fresh;
        return Akka.Actor.Props.Create(() => new ForwardActor(spec, runtime, clusterGated, remembered));
    }

    public ForwardActor(ServiceSpec spec, LocalPortRuntime runtime, bool clusterGated, Memory memory)
    {
        _spec = spec;
        _runtime = runtime;
        _clusterGated = clusterGated;
        _account = new FailureAccount(spec.RestartPolicy);
        _restarts = memory.Restarts;
        _toxics = memory.Toxics;
        Receive<Stop>(m => BeginStop(Sender, m.KillAfterGrace, m.NoGrace));
        Receive<TunnelStopped>(m => m.ReplyTo.Tell(new Stopped(_spec.Name)));
    }

    /// <summary>Freeze and Drain are answered in every state: shutdown must never wait on a busy service.</summary>
    private void ShutdownHandlers()
    {
        ChaosHandlers();
        Receive<UpdateSpec>(HandleUpdateSpec);
        Receive<Freeze>(_ =>
        {
            _frozen = true;
            Timers.Cancel(RetryTimer);
            Sender.Tell(new Frozen(_spec.Name));
        });
        Receive<Drain>(_ =>
        {
            var replyTo = Sender;
            if (_relay is null)
            {
                replyTo.Tell(new Drained(_spec.Name));
                return;
            }
            _relay.StopAccepting();
            var drained = _relay.DrainAsync();
            // Nothing in flight is the usual case: answered now, not a message later.
            if (drained.IsCompletedSuccessfully) replyTo.Tell(new Drained(_spec.Name, drained.Result));
            else drained.ContinueWith(t => new RelayDrained(replyTo, t.IsCompletedSuccessfully ? t.Result : 0), TaskScheduler.Default).PipeTo(Self);
        });
        Receive<RelayDrained>(m => m.ReplyTo.Tell(new Drained(_spec.Name, m.InFlight)));
    }

    /// <summary>The port the relay listens on (differs from the spec only when the spec asks for 0 in tests).</summary>
    internal int BoundPort => _relay?.LocalEndPoint.Port ?? 0;

    protected override void PreStart() => StartAttempt();

    /// <summary>The scheduler's clock (virtual in tests); the account tolerates it jumping either way.</summary>
    private TimeSpan Now => TimeSpan.FromTicks(Context.System.Scheduler.Now.UtcTicks);

    private void StartAttempt()
    {
        _generation++;
        _nextAttempt = null;
        if (_frozen)
        {
            // Shutdown has begun: nothing new starts.
            Report(ServiceState.Stopped);
            Become(StoppedState);
            return;
        }
        _account.Started(Now);
        if (!EnsureListening(out var bindError))
        {
            if (bindError is not null) OnFailure(bindError, clusterMayExplain: false);
            return;
        }
        try
        {
            _tunnel = _runtime.Tunnels.Start(_spec);
        }
        catch (Exception e)
        {
            // Whatever starting throws (no executable, an unwritable helper file, ...) is the tunnel's failure, never the actor's.
            OnFailure($"could not start: {e.Message}", clusterMayExplain: false);
            return;
        }
        var generation = _generation;
        var tunnel = _tunnel;
        tunnel.Ready.ContinueWith(t => t.IsCompletedSuccessfully
            ? (object)new TunnelReady(generation, t.Result)
            : new TunnelFailed(generation, t.Exception?.InnerException?.Message ?? "start cancelled"),
            TaskScheduler.Default).PipeTo(Self);
        tunnel.Exited.ContinueWith(t => new TunnelFailed(generation,
            $"exited with code {t.Result}: {tunnel.DescribeFailure()}"), TaskScheduler.Default).PipeTo(Self);
        Timers.StartSingleTimer(StartTimer, new StartTimedOut(generation), _runtime.StartTimeout);
        // A `restart` keeps the old tunnel serving meanwhile, so the service still reads as running.
        if (_retiring is null) Report(ServiceState.Starting);
        Become(Starting);
    }

    /// <summary>
    /// Binds the relay once. False when it cannot: with the error, or with null when the port is taken and the
    /// failure comes as a message once its owner has been looked up (a /proc scan: never on the actor's thread).
    /// </summary>
    private bool EnsureListening(out string? error)
    {
        error = null;
        if (_relay is not null) return true;
        try
        {
            _relay = RelayListener.Bind(new IPEndPoint(IPAddress.Loopback, _spec.LocalPort), _runtime.Ledger, $"relay of {_spec.Name}");
            _relay.Toxics = CurrentToxics;
            var log = _log;
            var name = _spec.Name;
            _relay.OnWarning = warning => log.Warning("{Service}: {Warning}", name, warning);
            _relay.Start();
            LocalPortMetrics.For(Context.System).Track(name, _relay);
            return true;
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse)
        {
            var generation = _generation;
            var port = _spec.LocalPort;
            var owner = _portOwner is { } cached && Now - cached.At < PortOwnerReuse
                ? Task.FromResult(cached.Owner)
                : Task.Run(() => PortOwner.Describe(port));
            owner.ContinueWith(t => (object)new PortOwnerFound(generation, t.IsCompletedSuccessfully ? t.Result : null),
                TaskScheduler.Default).PipeTo(Self);
            Become(Starting);
            return false;
        }
        catch (Exception e) when (e is SocketException or IOException or UnauthorizedAccessException)
        {
            error = $"cannot listen on 127.0.0.1:{_spec.LocalPort}: {e.Message}";
            return false;
        }
    }

    private sealed record PortOwnerFound(int Generation, string? Owner);
    /// <summary>Who held the port at the last look; looked up again after <see cref="PortOwnerReuse"/>.</summary>
    private (string? Owner, TimeSpan At)? _portOwner;
    private static readonly TimeSpan PortOwnerReuse = TimeSpan.FromSeconds(30);

    private void HandlePortOwnerFound(PortOwnerFound found)
    {
        if (_portOwner is not { } cached || Now - cached.At >= PortOwnerReuse) _portOwner = (found.Owner, Now);
        OnFailure($"port {_spec.LocalPort} is already in use{(found.Owner is null ? "" : $" by {found.Owner}")}; free it or change local_port",
            clusterMayExplain: false);
    }

    private void Starting()
    {
        Receive<TunnelReady>(m => m.Generation == _generation, m =>
        {
            Timers.Cancel(StartTimer);
            _endpoint = m.Endpoint;
            _relay!.SetTarget(m.Endpoint);
            RetireOldTunnel();
            _log.Info("{Service}: forwarding 127.0.0.1:{LocalPort} -> {Endpoint}", _spec.Name, _spec.LocalPort, m.Endpoint);
            _account.Ready(Now);
            // Without health checks, being ready is all the proof there will be.
            if (!_spec.HealthCheck.Enabled) _account.Proven(Now);
            _suspendedChecks = 0;
            // Only a process can be stopped: a tcp service has none, and the timer would wake us for nothing.
            if (_tunnel?.Pid is not null) Timers.StartPeriodicTimer(SuspendedTimer, CheckSuspended.Instance, _spec.HealthCheck.Interval);
            Report(ServiceState.Running);
            Become(Running);
        });
        Receive<StartTimedOut>(m => m.Generation == _generation,
            _ => OnFailure($"not ready within {_runtime.StartTimeout.TotalSeconds:0.#}s"));
        Receive<PortOwnerFound>(m => m.Generation == _generation, HandlePortOwnerFound);
        CommonWhileActive();
    }

    private void Running()
    {
        Receive<Unhealthy>(HandleUnhealthy);
        Receive<Proven>(_ =>
        {
            _account.Proven(Now);
            _warnedShortOfDescriptors = false;
        });
        Receive<CheckSuspended>(_ => HandleCheckSuspended());
        CommonWhileActive();
    }

    /// <summary>
    /// Failing checks replace the tunnel, unless LocalPort itself is out of file descriptors: then the checks
    /// (and the relay) failed for want of a socket, and a new tunnel would not help.
    /// </summary>
    private bool _warnedShortOfDescriptors;

    private void HandleUnhealthy(Unhealthy unhealthy)
    {
        var window = _spec.HealthCheck.Interval * _spec.HealthCheck.FailureThreshold + _spec.HealthCheck.Timeout;
        if (_relay?.ExhaustedWithin(window) == true || !FileLimits.HasRoom(_relay?.Headroom ?? 16))
        {
            if (!_warnedShortOfDescriptors)
                _log.Warning("{Service}: checks fail ({Reason}) while LocalPort is short of file descriptors; keeping the tunnel", _spec.Name, unhealthy.Reason);
            _warnedShortOfDescriptors = true;
            Context.Parent.Tell(new ChecksInconclusive(_spec.Name));
            return;
        }
        OnFailure($"unhealthy: {unhealthy.Reason}", checksFailed: true);
    }

    /// <summary>
    /// A stopped (SIGSTOP) tunnel still accepts connections into the kernel backlog, so a plain
    /// connect check cannot see it; its owner can. Same budget as the health checks.
    /// </summary>
    private void HandleCheckSuspended()
    {
        _suspendedChecks = _tunnel is { IsSuspended: true } ? _suspendedChecks + 1 : 0;
        if (_suspendedChecks >= _spec.HealthCheck.FailureThreshold)
            OnFailure($"tunnel process {_tunnel?.Pid} is stopped and carries no traffic; killed it");
    }

    private void BackingOff()
    {
        Receive<RetryDue>(m => m.Generation == _generation, _ => StartAttempt());
        Receive<ClusterChanged>(m => !m.Reachable && _clusterGated, m => WaitForCluster(m.Error));
        Receive<Wake>(_ => RetryAfterWake());
        CommonWhileActive();
    }

    /// <summary>Given up for now: the next try comes every max_delay (unless restarts are disabled), or by hand.</summary>
    private void Failed()
    {
        Receive<RetryDue>(m => m.Generation == _generation, _ =>
        {
            _log.Info("{Service}: trying again after giving up", _spec.Name);
            StartAttempt();
        });
        Receive<Wake>(_ => RetryAfterWake());
        CommonWhileActive();
    }

    /// <summary>Handlers shared by the active states; call it last so state-specific handlers win.</summary>
    private void CommonWhileActive()
    {
        ShutdownHandlers();
        Receive<TunnelFailed>(m => m.Generation == _generation, m => OnFailure(m.Reason, clusterMayExplain: !m.Local));
        Receive<Restart>(_ => RestartByHand());
        Receive<Stop>(m => BeginStop(Sender, m.KillAfterGrace, m.NoGrace));
        Receive<RetiredTunnelDrained>(m => StopRetired(m.Tunnel));
        ClusterNews();
        Stale();
    }

    /// <summary>
    /// Answers about earlier tunnels and timers of a state already left are expected after any change: dropped by
    /// name, so that anything else reaching the actor shows up as unhandled.
    /// </summary>
    private void Stale()
    {
        Receive<TunnelFailed>(_ => { });
        Receive<TunnelReady>(_ => { });
        Receive<Unhealthy>(_ => { });
        Receive<Proven>(_ => { });
        Receive<RetryDue>(_ => { });
        Receive<StartTimedOut>(_ => { });
        Receive<CheckSuspended>(_ => { });
        Receive<RetiredTunnelDrained>(_ => { });
        Receive<PortOwnerFound>(_ => { });
        Receive<ClusterChanged>(_ => { });
        Receive<ClusterMonitor.Verdict>(_ => { });
        Receive<VerdictOverdue>(_ => { });
        Receive<Wake>(_ => { });
    }

    /// <summary>
    /// `restart`: every count is cleared, and a running tunnel keeps serving until its successor is ready, so the
    /// port's promise holds: no connection is refused or reset by the switch.
    /// </summary>
    private void RestartByHand()
    {
        _account.Forgive();
        Timers.Cancel(RetryTimer);
        Timers.Cancel(SuspendedTimer);
        if (_tunnel is { } running && _endpoint is { } endpoint && _relay is not null && !running.Exited.IsCompleted)
        {
            DiscardRetiring();
            _retiring = (running, endpoint);
            _tunnel = null;
        }
        else
        {
            _relay?.ClearTarget();
            KillTunnel();
        }
        _endpoint = null;
        StartAttempt();
    }

    private sealed record RetiredTunnelDrained(ITunnel Tunnel);

    /// <summary>The successor is serving: the old tunnel stops once its connections have finished their exchange.</summary>
    private void RetireOldTunnel()
    {
        if (_retiring is not { } retiring) return;
        _retiring = null;
        var drained = _relay is { } relay ? relay.DrainTargetAsync(retiring.Endpoint, _runtime.StopGrace) : Task.CompletedTask;
        drained.ContinueWith(_ => new RetiredTunnelDrained(retiring.Tunnel), TaskScheduler.Default).PipeTo(Self);
    }

    private void StopRetired(ITunnel tunnel) => _ = tunnel.StopAsync(_runtime.StopGrace);

    /// <summary>A restart that failed or was overtaken: the tunnel it meant to keep serving goes now.</summary>
    private void DiscardRetiring()
    {
        if (_retiring is not { } retiring) return;
        _retiring = null;
        retiring.Tunnel.Kill();
    }

    /// <param name="clusterMayExplain">False for local problems (port taken, no executable): no cluster can fix those.</param>
    /// <param name="checksFailed">The checks judged it: bytes that came back (an HTTP 503, say) prove nothing then.</param>
    private void OnFailure(string reason, bool clusterMayExplain = true, bool checksFailed = false)
    {
        // A tunnel that carried an exchange worked, whether or not a check had passed yet.
        if (!checksFailed && _endpoint is not null && _relay is { TargetExchanges: > 0 }) _account.Proven(Now);
        _lastError = reason;
        _generation++;
        _endpoint = null;
        Timers.Cancel(StartTimer);
        Timers.Cancel(SuspendedTimer);
        _relay?.ClearTarget();
        KillTunnel();
        DiscardRetiring();

        if (_frozen)
        {
            Report(ServiceState.Stopped);
            Become(StoppedState);
            return;
        }
        if (clusterMayExplain && HoldForCluster(reason)) return;
        Charge(reason);
    }

    /// <summary>Counts the failure as the <see cref="FailureAccount"/> judges it: retry at once, back off, or give up for now.</summary>
    private void Charge(string reason)
    {
        _lastError = reason;
        var wasFailed = _account.GaveUp;
        var decision = _account.Failed(Now, _runtime.Random());
        if (decision.GaveUp)
            _log.Warning("{Service}: {Reason}; gave up after {Failures} failed start(s) in a row{Retry}", _spec.Name, reason, decision.Count,
                decision.Delay == Timeout.InfiniteTimeSpan ? " (restart_policy.enabled is false); `localport restart` tries again"
                    : $"; trying again every {Durations.Format(decision.Delay)}");
        else if (wasFailed)
            _log.Info("{Service}: still failing: {Reason}", _spec.Name, reason);
        else if (decision.Incident)
            _log.Warning("{Service}: {Reason}; reconnecting{Delay}", _spec.Name, reason,
                decision.Delay > FailureAccount.RetryFloor ? $" in {Durations.Format(decision.Delay)} (dropped {decision.Count} time(s) right after starting)" : "");
        else
            _log.Warning("{Service}: {Reason} (failure {Failures})", _spec.Name, reason, decision.Count);

        _generation++;
        if (_account.GaveUp)
        {
            ScheduleRetry(decision.Delay);
            Report(ServiceState.Failed);
            Become(Failed);
            return;
        }
        _restarts++;
        ScheduleRetry(decision.Delay);
        // An immediate retry is still a message, never a nested call: no policy can recurse or spin here.
        if (decision.Delay > TimeSpan.Zero) Report(ServiceState.BackingOff);
        Become(BackingOff);
    }

    private void ScheduleRetry(TimeSpan delay)
    {
        if (delay == Timeout.InfiniteTimeSpan)
        {
            _nextAttempt = null;
            return;
        }
        _nextAttempt = delay > TimeSpan.Zero ? DateTimeOffset.Now + delay : null;
        if (delay > TimeSpan.Zero) Timers.StartSingleTimer(RetryTimer, new RetryDue(_generation), delay);
        else Self.Tell(new RetryDue(_generation));
    }

    /// <summary>
    /// New restart policy and check settings from a reload; the root restarts the service instead when the
    /// tunnel itself changes. The next failure is judged by the new policy.
    /// </summary>
    private void HandleUpdateSpec(UpdateSpec update)
    {
        if (update.Spec.Name != _spec.Name) return;
        var before = _spec;
        _spec = update.Spec;
        _account.Policy = _spec.RestartPolicy;
        ReapplySpecChaos(before);
        if (before.HealthCheck.Interval != _spec.HealthCheck.Interval && Timers.IsTimerActive(SuspendedTimer))
            Timers.StartPeriodicTimer(SuspendedTimer, CheckSuspended.Instance, _spec.HealthCheck.Interval);
    }

    private void KillTunnel()
    {
        _tunnel?.Kill();
        _tunnel = null;
    }

    private void BeginStop(IActorRef replyTo, bool killAfterGrace, bool noGrace = false)
    {
        _generation++;
        _nextAttempt = null;
        DiscardRetiring();
        ResumePaused();
        ReleaseHolds();
        Timers.CancelAll();
        Report(ServiceState.Stopping);
        var tunnel = _tunnel;
        _tunnel = null;
        var relay = _relay;
        _relay = null;
        Become(Stopping);
        StopResources(tunnel, relay, killAfterGrace, noGrace ? TimeSpan.Zero : _runtime.StopGrace, LocalPortMetrics.For(Context.System)).ContinueWith(_ => new TunnelStopped(replyTo), TaskScheduler.Default).PipeTo(Self);
    }

    /// <summary>The port closes at once (inside DisposeAsync's first step); port and tunnel then wind down together.</summary>
    private static async Task StopResources(ITunnel? tunnel, RelayListener? relay, bool killAfterGrace, TimeSpan grace, LocalPortMetrics metrics)
    {
        var closed = relay is null ? Task.CompletedTask : CloseRelay(relay, metrics);
        var stopped = tunnel is null ? Task.CompletedTask : tunnel.StopAsync(grace, killAfterGrace);
        await Task.WhenAll(closed, stopped);
    }

    private static async Task CloseRelay(RelayListener relay, LocalPortMetrics metrics)
    {
        await relay.DisposeAsync();
        metrics.Untrack(relay);
    }

    private void Stopping()
    {
        ShutdownHandlers();
        Receive<TunnelStopped>(m =>
        {
            Report(ServiceState.Stopped);
            m.ReplyTo.Tell(new Stopped(_spec.Name));
            Become(StoppedState);
        });
        Receive<Stop>(_ => Sender.Tell(new Stopped(_spec.Name)));
        // A restart asked for while stopping is overtaken by the stop.
        Receive<Restart>(_ => _log.Info("{Service}: restart ignored: the service is stopping", _spec.Name));
        Stale();
    }

    private void StoppedState()
    {
        ShutdownHandlers();
        Receive<Stop>(_ => Sender.Tell(new Stopped(_spec.Name)));
        Receive<Restart>(_ =>
        {
            _account.Forgive();
            StartAttempt();
        });
        Stale();
    }

    private void Report(ServiceState state) =>
        Context.Parent.Tell(new StateChanged(_spec.Name, state, _restarts, _tunnel?.Pid, _lastError, _nextAttempt));

    protected override void PostStop()
    {
        // Crash or forced stop: nothing we started may outlive the actor.
        _tunnel?.Kill();
        _retiring?.Tunnel.Kill();
        foreach (var hold in _holds) hold.Dispose();
        // The listening socket closes synchronously inside DisposeAsync; the rest may finish later.
        if (_relay is { } relay)
        {
            var metrics = LocalPortMetrics.For(Context.System);
            _ = relay.DisposeAsync().AsTask().ContinueWith(_ => metrics.Untrack(relay), TaskScheduler.Default);
        }
    }
}
