using System.Net;
using System.Net.Sockets;
using Akka.Actor;
using Akka.Event;
using LocalPort.Actors.Reload;
using LocalPort.Actors.Services;
using LocalPort.Core.Config;
using LocalPort.Core.Forwarding;
using LocalPort.Core.Recovery;
using LocalPort.Core.Relay;

namespace LocalPort.Actors.Forwarding;

/// <summary>
/// Owns one service's forward: the relay listener on local_port (bound for the life of the service)
/// and the current tunnel behind it. Restarts the tunnel with backoff when it exits or is reported
/// unhealthy; after max_attempts consecutive failures the service is Failed. A reload's
/// <see cref="UpdateSpec"/> changes its restart policy and check interval without touching the tunnel.
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
    public sealed record Stop(bool KillAfterGrace)
    {
        public static readonly Stop Instance = new(true);
        public static readonly Stop ForShutdown = new(false);
    }
    public sealed record Stopped(string Name);
    /// <summary>Shutdown's first phase: no more restarts; answered with <see cref="Frozen"/>.</summary>
    public sealed class Freeze { public static readonly Freeze Instance = new(); private Freeze() { } }
    public sealed record Frozen(string Name);
    /// <summary>Close the port to new connections and wait for relayed ones; answered with <see cref="Drained"/>.</summary>
    public sealed class Drain { public static readonly Drain Instance = new(); private Drain() { } }
    public sealed record Drained(string Name);
    /// <summary>Reported to the parent on every state change.</summary>
    public sealed record StateChanged(string Name, ServiceState State, int Restarts, int? Pid, string? LastError);

    private sealed record TunnelReady(int Generation, EndPoint Endpoint);
    private sealed record TunnelFailed(int Generation, string Reason);
    private sealed record RetryDue(int Generation);
    private sealed record StartTimedOut(int Generation);
    private sealed class FailuresForgiven { public static readonly FailuresForgiven Instance = new(); }
    private sealed record TunnelStopped(IActorRef ReplyTo);
    private sealed record RelayDrained(IActorRef ReplyTo);
    private sealed class CheckSuspended { public static readonly CheckSuspended Instance = new(); }

    private const string RetryTimer = "retry";
    private const string ResetTimer = "reset";
    private const string StartTimer = "start-timeout";
    private const string SuspendedTimer = "suspended";

    private ServiceSpec _spec;
    private readonly LocalPortRuntime _runtime;
    /// <summary>A kubectl service: failures wait for its cluster monitor's verdict (ForwardActor.Cluster.cs).</summary>
    private readonly bool _clusterGated;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private RelayListener? _relay;
    private ITunnel? _tunnel;
    private int _generation;
    private int _failures;
    private int _restarts;
    private int _suspendedChecks;
    private bool _frozen;
    private string? _lastError;
    /// <summary>When the current tunnel became ready (scheduler clock); null unless Running.</summary>
    private TimeSpan? _runningSince;

    public ITimerScheduler Timers { get; set; } = null!;

    /// <param name="clusterGated">Ask the parent whether the cluster is reachable before charging a failure.</param>
    public static Props Props(ServiceSpec spec, LocalPortRuntime runtime, bool clusterGated = false) =>
        Akka.Actor.Props.Create(() => new ForwardActor(spec, runtime, clusterGated));

    public ForwardActor(ServiceSpec spec, LocalPortRuntime runtime, bool clusterGated)
    {
        _spec = spec;
        _runtime = runtime;
        _clusterGated = clusterGated;
        Receive<Stop>(m => BeginStop(Sender, m.KillAfterGrace));
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
            _relay.DrainAsync().ContinueWith(_ => new RelayDrained(replyTo), TaskScheduler.Default).PipeTo(Self);
        });
        Receive<RelayDrained>(m => m.ReplyTo.Tell(new Drained(_spec.Name)));
    }

    /// <summary>The port the relay listens on (differs from the spec only when the spec asks for 0 in tests).</summary>
    internal int BoundPort => _relay?.LocalEndPoint.Port ?? 0;

    protected override void PreStart() => StartAttempt();

    private void StartAttempt()
    {
        _generation++;
        if (!EnsureListening(out var bindError))
        {
            OnFailure(bindError, clusterMayExplain: false);
            return;
        }
        try
        {
            _tunnel = _runtime.Tunnels.Start(_spec);
        }
        catch (Exception e) when (e is TunnelStartException or System.ComponentModel.Win32Exception or IOException)
        {
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
        Report(ServiceState.Starting);
        Become(Starting);
    }

    private bool EnsureListening(out string error)
    {
        error = "";
        if (_relay is not null) return true;
        try
        {
            _relay = RelayListener.Bind(new IPEndPoint(IPAddress.Loopback, _spec.LocalPort), _runtime.Ledger, $"relay of {_spec.Name}");
            _relay.Toxics = CurrentToxics;
            _relay.Start();
            return true;
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse)
        {
            var owner = PortOwner.Describe(_spec.LocalPort);
            error = $"port {_spec.LocalPort} is already in use{(owner is null ? "" : $" by {owner}")}; free it or change local_port";
            return false;
        }
        catch (SocketException e)
        {
            error = $"cannot listen on 127.0.0.1:{_spec.LocalPort}: {e.Message}";
            return false;
        }
    }

    private void Starting()
    {
        Receive<TunnelReady>(m => m.Generation == _generation, m =>
        {
            Timers.Cancel(StartTimer);
            _relay!.SetTarget(m.Endpoint);
            _log.Info("{0}: forwarding 127.0.0.1:{1} -> {2}", _spec.Name, _spec.LocalPort, m.Endpoint);
            Timers.StartSingleTimer(ResetTimer, FailuresForgiven.Instance, _spec.RestartPolicy.ResetAfter);
            _suspendedChecks = 0;
            Timers.StartPeriodicTimer(SuspendedTimer, CheckSuspended.Instance, _spec.HealthCheck.Interval);
            _runningSince = Context.System.Scheduler.MonotonicClock;
            Report(ServiceState.Running);
            Become(Running);
        });
        Receive<StartTimedOut>(m => m.Generation == _generation,
            _ => OnFailure($"not ready within {_runtime.StartTimeout.TotalSeconds:0.#}s"));
        CommonWhileActive();
    }

    private void Running()
    {
        Receive<Unhealthy>(m => OnFailure($"unhealthy: {m.Reason}"));
        Receive<FailuresForgiven>(_ => _failures = 0);
        Receive<CheckSuspended>(_ => HandleCheckSuspended());
        CommonWhileActive();
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

    private void Failed()
    {
        ShutdownHandlers();
        Receive<Restart>(_ =>
        {
            _failures = 0;
            StartAttempt();
        });
        Receive<Wake>(_ => RetryAfterWake());
        Receive<Stop>(m => BeginStop(Sender, m.KillAfterGrace));
        ReceiveAny(_ => { });
    }

    /// <summary>Handlers shared by Starting, Running and BackingOff; call it last so state-specific handlers win.</summary>
    private void CommonWhileActive()
    {
        ShutdownHandlers();
        Receive<TunnelFailed>(m => m.Generation == _generation, m => OnFailure(m.Reason));
        Receive<Restart>(_ =>
        {
            KillTunnel();
            _failures = 0;
            StartAttempt();
        });
        Receive<Stop>(m => BeginStop(Sender, m.KillAfterGrace));
        // Messages about earlier tunnels are expected after a restart.
        Receive<TunnelFailed>(_ => { });
        Receive<TunnelReady>(_ => { });
        Receive<Unhealthy>(_ => { });
        Receive<RetryDue>(_ => { });
        Receive<StartTimedOut>(_ => { });
        Receive<FailuresForgiven>(_ => { });
        Receive<CheckSuspended>(_ => { });
        ClusterNews();
    }

    /// <param name="clusterMayExplain">False for local problems (port taken, no executable): no cluster can fix those.</param>
    private void OnFailure(string reason, bool clusterMayExplain = true)
    {
        _lastError = reason;
        _runningSince = null;
        _generation++;
        Timers.Cancel(ResetTimer);
        Timers.Cancel(StartTimer);
        Timers.Cancel(SuspendedTimer);
        _relay?.ClearTarget();
        KillTunnel();

        if (_frozen)
        {
            Report(ServiceState.Stopped);
            Become(StoppedState);
            return;
        }
        if (clusterMayExplain && HoldForCluster(reason)) return;
        Charge(reason);
    }

    /// <summary>Counts the failure against the restart policy: retry at once, back off, or give up.</summary>
    private void Charge(string reason)
    {
        _lastError = reason;
        _failures++;
        _log.Warning("{0}: {1} (failure {2})", _spec.Name, reason, _failures);
        if (!Backoff.MayRetry(_spec.RestartPolicy, _failures))
        {
            Report(ServiceState.Failed);
            Become(Failed);
            return;
        }
        _restarts++;
        var delay = Backoff.Delay(_spec.RestartPolicy, _failures, _runtime.Random());
        if (delay <= TimeSpan.Zero)
        {
            StartAttempt();
            return;
        }
        Timers.StartSingleTimer(RetryTimer, new RetryDue(_generation), delay);
        Report(ServiceState.BackingOff);
        Become(BackingOff);
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
        ReapplySpecChaos(before);
        if (_runningSince is not { } since) return;
        if (before.HealthCheck.Interval != _spec.HealthCheck.Interval)
            Timers.StartPeriodicTimer(SuspendedTimer, CheckSuspended.Instance, _spec.HealthCheck.Interval);
        if (before.RestartPolicy.ResetAfter != _spec.RestartPolicy.ResetAfter && Timers.IsTimerActive(ResetTimer))
        {
            // Uptime already served counts towards the new reset_after.
            var remaining = _spec.RestartPolicy.ResetAfter - (Context.System.Scheduler.MonotonicClock - since);
            if (remaining > TimeSpan.Zero) Timers.StartSingleTimer(ResetTimer, FailuresForgiven.Instance, remaining);
            else
            {
                Timers.Cancel(ResetTimer);
                _failures = 0;
            }
        }
    }

    private void KillTunnel()
    {
        _tunnel?.Kill();
        _tunnel = null;
    }

    private void BeginStop(IActorRef replyTo, bool killAfterGrace)
    {
        _generation++;
        _runningSince = null;
        ResumePaused();
        Timers.CancelAll();
        Report(ServiceState.Stopping);
        var tunnel = _tunnel;
        _tunnel = null;
        var relay = _relay;
        _relay = null;
        Become(Stopping);
        StopResources(tunnel, relay, killAfterGrace).ContinueWith(_ => new TunnelStopped(replyTo), TaskScheduler.Default).PipeTo(Self);
    }

    private async Task StopResources(ITunnel? tunnel, RelayListener? relay, bool killAfterGrace)
    {
        if (relay is not null) await relay.DisposeAsync();
        if (tunnel is not null) await tunnel.StopAsync(_runtime.StopGrace, killAfterGrace);
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
        ReceiveAny(_ => { });
    }

    private void StoppedState()
    {
        ShutdownHandlers();
        Receive<Stop>(_ => Sender.Tell(new Stopped(_spec.Name)));
        Receive<Restart>(_ => StartAttempt());
        ReceiveAny(_ => { });
    }

    private void Report(ServiceState state) =>
        Context.Parent.Tell(new StateChanged(_spec.Name, state, _restarts, _tunnel?.Pid, _lastError));

    protected override void PostStop()
    {
        // Crash or forced stop: nothing we started may outlive the actor.
        _tunnel?.Kill();
        // The listening socket closes synchronously inside DisposeAsync; the rest may finish later.
        _ = _relay?.DisposeAsync();
    }
}
