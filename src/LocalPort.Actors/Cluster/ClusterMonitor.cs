using Akka.Actor;
using Akka.Event;
using LocalPort.Core.Cluster;
using LocalPort.Core.Config;

namespace LocalPort.Actors.Cluster;

/// <summary>
/// Watches one kube context with bounded probes: every <c>interval</c> while its API answers, every
/// <c>UnreachableInterval</c> while it does not, and at once when asked (<see cref="ProbeNow"/>: a kubectl
/// service failed, or the machine woke). <c>failure_threshold</c> consecutive failed probes make it
/// unreachable; one success makes it reachable. While unreachable it also tries a bare TCP connect to the
/// API server every <see cref="ConnectCheckInterval"/>: the first accepted one makes the cluster reachable at
/// once (services reconnect) and a full probe confirms it. A wrong hint costs a reconnect attempt, never a
/// counted failure: only full probes answer <see cref="ProbeNow"/>. Reports every change to the parent
/// (<see cref="Probed"/>). With <c>enabled: false</c> it never probes and answers every question with "reachable".
/// </summary>
public sealed class ClusterMonitor : ReceiveActor, IWithTimers
{
    /// <summary>
    /// Probe now. The sender (unless there is none) is answered with a <see cref="Verdict"/> decided only by
    /// probes that start after this request: an answer from before a failure would say nothing about it.
    /// </summary>
    public sealed record ProbeNow(string Reason);
    public sealed record Verdict(ClusterKey Cluster, bool Reachable, string? Error);
    /// <summary>New settings from a reload; applied from the next probe on.</summary>
    public sealed record UpdateSettings(ClusterHealthSpec Settings);
    /// <summary>To the parent after every probe; <c>Changed</c> when the reachability changed.</summary>
    public sealed record Probed(ClusterKey Cluster, ClusterStatus Status, bool Changed);

    private sealed class ProbeDue { public static readonly ProbeDue Instance = new(); }
    private sealed record ProbeCompleted(int Generation, ClusterProbeResult Result);
    private sealed class ConnectCheckDue { public static readonly ConnectCheckDue Instance = new(); }
    private sealed record ConnectCheckCompleted(bool Accepted, TimeSpan Latency);

    /// <summary>Spacing of the bare connects tried while the cluster is unreachable.</summary>
    public static readonly TimeSpan ConnectCheckInterval = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromMilliseconds(500);
    private const string ProbeTimer = "probe";
    private const string ConnectTimer = "connect-check";
    private readonly ClusterKey _cluster;
    private readonly IClusterProbe _probe;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly CancellationTokenSource _stopping = new();
    /// <summary>Askers answered by the probe in flight (or, below the threshold, by the ones after it).</summary>
    private readonly List<IActorRef> _waiting = [];
    /// <summary>Askers who came while a probe was in flight: the next probe is theirs.</summary>
    private readonly List<IActorRef> _next = [];
    private ClusterHealthSpec _settings;
    private ClusterStatus _status;
    private bool _inFlight;
    private bool _probeAgain;
    private bool _connectInFlight;
    /// <summary>The probe in flight confirms an accepted connect.</summary>
    private bool _confirming;
    /// <summary>An accepted connect was not confirmed (the API is half up): wait for full probes until one succeeds.</summary>
    private bool _distrustConnects;
    private int _generation;

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(ClusterKey cluster, ClusterHealthSpec settings, IClusterProbe probe) =>
        Akka.Actor.Props.Create(() => new ClusterMonitor(cluster, settings, probe));

    public ClusterMonitor(ClusterKey cluster, ClusterHealthSpec settings, IClusterProbe probe)
    {
        _cluster = cluster;
        _settings = settings;
        _probe = probe;
        _status = ClusterStatus.Initial(cluster, settings.Enabled, DateTimeOffset.Now);
        Receive<ProbeNow>(HandleProbeNow);
        Receive<ProbeDue>(_ => StartProbe());
        Receive<ProbeCompleted>(m => m.Generation == _generation, HandleCompleted);
        Receive<ProbeCompleted>(_ => { });
        Receive<UpdateSettings>(HandleUpdateSettings);
        Receive<ConnectCheckDue>(_ => StartConnectCheck());
        Receive<ConnectCheckCompleted>(HandleConnectCheck);
    }

    protected override void PreStart()
    {
        if (_settings.Enabled) StartProbe();
    }

    protected override void PostStop()
    {
        // A probe in flight kills its kubectl when cancelled: nothing we started outlives the monitor.
        _stopping.Cancel();
        _stopping.Dispose();
    }

    private void HandleProbeNow(ProbeNow request)
    {
        var asker = Sender.IsNobody() || Sender.Equals(Context.System.DeadLetters) ? null : Sender;
        if (!_settings.Enabled)
        {
            asker?.Tell(new Verdict(_cluster, true, null));
            return;
        }
        _log.Debug("cluster {Cluster}: probing now ({Reason})", _cluster.Name, request.Reason);
        if (_inFlight)
        {
            if (asker is not null) _next.Add(asker);
            _probeAgain = true;
            return;
        }
        if (asker is not null) _waiting.Add(asker);
        StartProbe();
    }

    private void StartProbe()
    {
        if (_inFlight || !_settings.Enabled) return;
        Timers.Cancel(ProbeTimer);
        _inFlight = true;
        var generation = ++_generation;
        var (cluster, timeout, probe, stopping) = (_cluster, _settings.Timeout, _probe, _stopping.Token);
        Task.Run(async () =>
        {
            try
            {
                return new ProbeCompleted(generation, await probe.ProbeAsync(cluster, timeout, stopping));
            }
            catch (Exception e)
            {
                return new ProbeCompleted(generation, ClusterProbeResult.Down($"probe failed: {e.Message}", TimeSpan.Zero));
            }
        }).PipeTo(Self);
    }

    private void HandleCompleted(ProbeCompleted completed)
    {
        _inFlight = false;
        var result = completed.Result;
        var failures = result.Reachable ? 0 : _status.ConsecutiveFailures + 1;
        var state = result.Reachable ? ClusterReachability.Reachable
            : failures >= _settings.FailureThreshold ? ClusterReachability.Unreachable
            : _status.State;
        var changed = state != _status.State;
        var now = DateTimeOffset.Now;
        _status = _status with
        {
            State = state,
            Since = changed ? now : _status.Since,
            LastProbeAt = now,
            LastProbeLatency = result.Latency,
            LastError = result.Error,
            ConsecutiveFailures = failures,
            Probes = _status.Probes + 1,
        };
        if (changed) LogChange(result.Error, result.Latency);
        if (_confirming && !result.Reachable) _distrustConnects = true;
        if (result.Reachable) _distrustConnects = false;
        _confirming = false;
        WatchConnects(state == ClusterReachability.Unreachable && !_distrustConnects);
        if (result.Reachable || state == ClusterReachability.Unreachable)
        {
            foreach (var asker in _waiting) asker.Tell(new Verdict(_cluster, result.Reachable, result.Error));
            _waiting.Clear();
        }
        // The next probe is scheduled before the parent hears of this one (tests under virtual time rely on it).
        ScheduleNext(result.Reachable);
        Context.Parent.Tell(new Probed(_cluster, _status, changed));
    }

    private void ScheduleNext(bool reachable)
    {
        _waiting.AddRange(_next);
        _next.Clear();
        if (_probeAgain)
        {
            _probeAgain = false;
            StartProbe();
            return;
        }
        var interval = reachable ? _settings.Interval : Min(_settings.UnreachableInterval, _settings.Interval);
        Timers.StartSingleTimer(ProbeTimer, ProbeDue.Instance, interval);
    }

    private void HandleUpdateSettings(UpdateSettings update)
    {
        var wasEnabled = _settings.Enabled;
        _settings = update.Settings;
        if (!_settings.Enabled)
        {
            Timers.Cancel(ProbeTimer);
            WatchConnects(false);
            _generation++;
            _inFlight = false;
            foreach (var asker in _waiting.Concat(_next)) asker.Tell(new Verdict(_cluster, true, null));
            _waiting.Clear();
            _next.Clear();
            _status = ClusterStatus.Initial(_cluster, false, DateTimeOffset.Now);
            Context.Parent.Tell(new Probed(_cluster, _status, true));
        }
        else if (!wasEnabled)
        {
            _status = ClusterStatus.Initial(_cluster, true, DateTimeOffset.Now);
            StartProbe();
        }
        else if (!_inFlight)
        {
            ScheduleNext(_status.State != ClusterReachability.Unreachable);
        }
    }

    private void LogChange(string? error, TimeSpan latency)
    {
        if (_status.State == ClusterReachability.Unreachable)
            _log.Warning("cluster {Cluster}: unreachable ({Error}); its kubectl services wait for it", _cluster.Name, error);
        else
            _log.Info("cluster {Cluster}: reachable ({LatencyMs:0} ms)", _cluster.Name, latency.TotalMilliseconds);
    }

    private void WatchConnects(bool on)
    {
        if (!on) Timers.Cancel(ConnectTimer);
        else if (!Timers.IsTimerActive(ConnectTimer)) Timers.StartPeriodicTimer(ConnectTimer, ConnectCheckDue.Instance, ConnectCheckInterval);
    }

    private void StartConnectCheck()
    {
        if (_connectInFlight || _status.State != ClusterReachability.Unreachable) return;
        _connectInFlight = true;
        var (cluster, probe, stopping) = (_cluster, _probe, _stopping.Token);
        Task.Run(async () =>
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            try
            {
                return new ConnectCheckCompleted(await probe.AcceptsConnectionsAsync(cluster, ConnectTimeout, stopping), clock.Elapsed);
            }
            catch (Exception)
            {
                return new ConnectCheckCompleted(false, clock.Elapsed);
            }
        }).PipeTo(Self);
    }

    /// <summary>The API server accepts connections again: its services may reconnect now; a full probe confirms.</summary>
    private void HandleConnectCheck(ConnectCheckCompleted check)
    {
        _connectInFlight = false;
        if (!check.Accepted || _status.State != ClusterReachability.Unreachable || !_settings.Enabled) return;
        _status = _status with
        {
            State = ClusterReachability.Reachable,
            Since = DateTimeOffset.Now,
            LastError = null,
            ConsecutiveFailures = 0,
        };
        LogChange(null, check.Latency);
        WatchConnects(false);
        // A probe started while the API was away would only say so again: the confirming probe starts now.
        _generation++;
        _inFlight = false;
        _probeAgain = false;
        _waiting.AddRange(_next);
        _next.Clear();
        StartProbe();
        _confirming = true;
        Context.Parent.Tell(new Probed(_cluster, _status, true));
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;
}
