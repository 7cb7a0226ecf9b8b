using System.Runtime.CompilerServices;
using System.Diagnostics;
using LocalPort.Actors.Metrics;
using Akka.Actor;
using LocalPort.Actors.Reload;
using LocalPort.Core.Config;
using LocalPort.Core.Health;

namespace LocalPort.Actors.Health;

/// <summary>
/// Probes one service on its interval while its forward is up, and reports to the parent when
/// failure_threshold consecutive failures (or success_threshold successes) change its health.
/// A reload's <see cref="UpdateSpec"/> retimes the checks (and rebuilds the probe if it changed) in place.
/// </summary>
public sealed class HealthCheckActor : UntypedActor, IWithTimers
{
    /// <summary>The forward is running: start checking now.</summary>
    public sealed class ForwardUp { public static readonly ForwardUp Instance = new(); private ForwardUp() { } }
    /// <summary>The forward is down or restarting: stop checking and forget counts.</summary>
    public sealed class ForwardDown { public static readonly ForwardDown Instance = new(); private ForwardDown() { } }
    /// <summary>Check now (the machine woke): failures are followed up at once, so a dead forward is judged in one go.</summary>
    public sealed class CheckNow { public static readonly CheckNow Instance = new(); private CheckNow() { } }
    /// <summary>Sent to the parent when the service's health changes.</summary>
    public sealed record HealthChanged(string Name, bool Healthy, string? Error);

    private sealed class Tick { public static readonly Tick Instance = new(); }
    private sealed record ProbeCompleted(int Generation, ProbeResult Result, TimeSpan Duration);

    private const string TickTimer = "tick";
    private readonly Func<ServiceSpec, IHealthProbe>? _probes;
    private ServiceSpec _spec;
    private IHealthProbe _probe;
    private int _generation;
    private bool _forwardUp;
    private bool _active;
    private bool _inFlight;
    private bool _urgent;
    private int _consecutiveFailures;
    private int _consecutiveSuccesses;
    private bool? _healthy;
    /// <summary>Cancels the probe in flight: a paused actor ignores its verdict, so its connection need not stay open.</summary>
    private CancellationTokenSource? _probeStop;

    public ITimerScheduler Timers { get; set; } = null!;

    /// <param name="probes">Builds the probe again when a reload changes its type, timeout or settings; null keeps <paramref name="probe"/>.</param>
    public static Props Props(ServiceSpec spec, IHealthProbe probe, Func<ServiceSpec, IHealthProbe>? probes = null) =>
        Akka.Actor.Props.Create(() => new HealthCheckActor(spec, probe, probes));

    public HealthCheckActor(ServiceSpec spec, IHealthProbe probe, Func<ServiceSpec, IHealthProbe>? probes)
    {
        _spec = spec;
        _probe = probe;
        _probes = probes;
    }

    /// <summary>
    /// A switch, not ReceiveActor's handlers: those are matched through a compiled expression tree, which the native
    /// program can only interpret (with an argument array per message), and this actor takes two messages per check.
    /// </summary>
    protected override void OnReceive(object message)
    {
        switch (message)
        {
            case Tick:
                RunProbe();
                break;
            case ProbeCompleted completed:
                HandleCompleted(completed);
                break;
            case ForwardUp:
                _forwardUp = true;
                Resume();
                break;
            case ForwardDown:
                _forwardUp = false;
                Pause();
                break;
            case UpdateSpec update:
                HandleUpdateSpec(update);
                break;
            case CheckNow:
                _urgent = _active;
                RunProbe();
                break;
            default:
                Unhandled(message);
                break;
        }
    }

    private static readonly ConditionalWeakTable<IScheduler, StrongBox<DateTimeOffset>> GridOrigins = new();

    private HealthCheckSpec Check => _spec.HealthCheck;

    private void Resume()
    {
        Pause();
        if (!Check.Enabled) return;
        _active = true;
        // The first check runs at once: a fresh forward should be proven without waiting an interval.
        Self.Tell(Tick.Instance);
        StartTicks();
    }

    /// <summary>
    /// Every check with the same interval ticks at the same instants (multiples of the interval from one origin per
    /// scheduler): 100 services checked every 5 s wake the process once per 5 s for all of them, not 100 times at
    /// scattered moments. The first tick is at least half an interval away (the first check has just run).
    /// </summary>
    private void StartTicks()
    {
        var interval = Check.Interval;
        var scheduler = Context.System.Scheduler;
        var sinceOrigin = scheduler.Now - GridOrigins.GetValue(scheduler, s => new StrongBox<DateTimeOffset>(s.Now)).Value;
        var untilGrid = interval.Ticks > 0 && sinceOrigin >= TimeSpan.Zero ? interval - TimeSpan.FromTicks(sinceOrigin.Ticks % interval.Ticks) : interval;
        Timers.StartPeriodicTimer(TickTimer, Tick.Instance, untilGrid < interval / 2 ? untilGrid + interval : untilGrid, interval);
    }

    private void Pause()
    {
        _generation++;
        _active = false;
        Timers.Cancel(TickTimer);
        StopProbeInFlight();
        _inFlight = false;
        _urgent = false;
        _consecutiveFailures = 0;
        _consecutiveSuccesses = 0;
        _healthy = null;
    }

    private void RunProbe()
    {
        if (_inFlight || !_active) return;
        _inFlight = true;
        var generation = _generation;
        var timeout = Check.Timeout;
        var probe = _probe;
        // Made here, so a pause can cancel it; disposed by the probe's task once the probe is done.
        var cts = _probeStop = new CancellationTokenSource(timeout);
        Task.Run(async () =>
        {
            using var _ = cts;
            var started = Stopwatch.GetTimestamp();
            try
            {
                var result = await probe.CheckAsync(cts.Token);
                return new ProbeCompleted(generation, result, Stopwatch.GetElapsedTime(started));
            }
            catch (Exception e)
            {
                return new ProbeCompleted(generation, ProbeResult.Fail(e.Message), Stopwatch.GetElapsedTime(started));
            }
        }).PipeTo(Self);
    }

    private void StopProbeInFlight()
    {
        try { _probeStop?.Cancel(); }
        catch (ObjectDisposedException) { } // the probe had just finished
        _probeStop = null;
    }

    protected override void PostStop()
    {
        StopProbeInFlight();
        (_probe as IDisposable)?.Dispose();
    }

    /// <summary>Keeps checking through a reload: counts survive unless the probe itself changed.</summary>
    private void HandleUpdateSpec(UpdateSpec update)
    {
        if (update.Spec.Name != _spec.Name) return;
        var before = Check;
        _spec = update.Spec;
        if (_probes is not null && !SpecComparison.SameProbe(before, Check))
        {
            (_probe as IDisposable)?.Dispose();
            _probe = _probes(_spec);
            if (_active) Resume();
        }
        if (!_forwardUp) return;
        if (!Check.Enabled) Pause();
        else if (!_active) Resume();
        else if (before.Interval != Check.Interval)
            StartTicks();
    }

    private void HandleCompleted(ProbeCompleted completed)
    {
        if (completed.Generation != _generation) return;
        _probeStop = null;
        _inFlight = false;
        if (completed.Result.Healthy)
        {
            _consecutiveFailures = 0;
            _consecutiveSuccesses++;
            if (_healthy != true && _consecutiveSuccesses >= Check.SuccessThreshold) SetHealth(true, null);
        }
        else
        {
            _consecutiveSuccesses = 0;
            _consecutiveFailures++;
            if (_healthy != false && _consecutiveFailures >= Check.FailureThreshold) SetHealth(false, completed.Result.Error);
            else if (_urgent && _healthy != false) RunProbe();
        }
        if (completed.Result.Healthy || _healthy == false) _urgent = false;
        LocalPortMetrics.For(Context.System).CheckCompleted(_spec.Name, completed.Duration, completed.Result.Healthy, _consecutiveFailures);
    }

    private void SetHealth(bool healthy, string? error)
    {
        _healthy = healthy;
        Context.Parent.Tell(new HealthChanged(_spec.Name, healthy, error));
    }
}
