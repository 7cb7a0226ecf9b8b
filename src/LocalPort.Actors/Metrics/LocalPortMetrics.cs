using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Akka.Actor;
using LocalPort.Actors.Cluster;
using LocalPort.Actors.Reload;
using LocalPort.Actors.Services;
using LocalPort.Actors.Shutdown;
using LocalPort.Core.Relay;

namespace LocalPort.Actors.Metrics;

/// <summary>
/// LocalPort's instruments on System.Diagnostics.Metrics (a Meter named <see cref="MeterName"/>), one set per
/// ActorSystem. Nearly all are observable: they read the state LocalPort keeps when a listener asks, so an exporter
/// attached late (the first scrape) still reports correct totals.
/// </summary>
public sealed class LocalPortMetrics : IExtension, IDisposable
{
    public const string MeterName = "LocalPort";

    /// <summary>
    /// Instrument names. Prometheus exporters prefix the meter's name (<c>localport_service_up</c>); the names carry
    /// their <c>_total</c> and <c>_seconds</c> themselves, since exporters differ in what they append.
    /// </summary>
    public static class Names
    {
        public const string ServiceUp = "service_up";
        public const string ServiceHealthy = "service_healthy";
        public const string ServiceState = "service_state";
        public const string ServiceRestarts = "service_restarts_total";
        public const string ConsecutiveFailures = "service_consecutive_failures";
        public const string CheckDuration = "check_duration_seconds";
        public const string RelayActive = "relay_connections_active";
        public const string RelayConnections = "relay_connections_total";
        public const string RelayBytes = "relay_bytes_total";
        public const string Reloads = "reloads_total";
        public const string ShutdownPhaseDuration = "shutdown_phase_duration_seconds";
        public const string ShutdownClean = "shutdown_clean";
        public const string ClusterUp = "cluster_up";

        public static readonly IReadOnlyList<string> All =
        [
            ServiceUp, ServiceHealthy, ServiceState, ServiceRestarts, ConsecutiveFailures, CheckDuration, RelayActive,
            RelayConnections, RelayBytes, Reloads, ShutdownPhaseDuration, ShutdownClean, ClusterUp,
        ];
    }

    private static readonly string[] StateNames = Enum.GetValues<ServiceState>().Select(StateName).ToArray();

    private readonly ConcurrentDictionary<string, ServiceStatus> _services = new();
    private readonly ConcurrentDictionary<string, int> _checkFailures = new();
    /// <summary>Live relays and their service: a restarting service's old and new relay may overlap.</summary>
    private readonly ConcurrentDictionary<RelayListener, string> _relays = new();
    /// <summary>What relays that have gone carried, so a service's totals never go down while the process lives.</summary>
    private readonly ConcurrentDictionary<string, RelayTotals> _retired = new();
    private readonly ConcurrentDictionary<string, ClusterStatus> _clusters = new();
    private readonly ConcurrentDictionary<string, TimeSpan> _phases = new();
    private readonly Histogram<double> _checkDuration;
    private long _reloadsOk;
    private long _reloadsRefused;
    private volatile ShutdownReport? _lastShutdown;

    public Meter Meter { get; }

    public LocalPortMetrics()
    {
        Meter = new Meter(MeterName, typeof(LocalPortMetrics).Assembly.GetName().Version?.ToString());
        Meter.CreateObservableGauge(Names.ServiceUp, () => PerService(s => s.State == Services.ServiceState.Running ? 1 : 0),
            description: "1 while the service's forward runs, else 0");
        Meter.CreateObservableGauge(Names.ServiceHealthy, ServiceHealth,
            description: "1 healthy, 0 unhealthy, by the service's health check (absent before its first verdict)");
        Meter.CreateObservableGauge(Names.ServiceState, ServiceStates,
            description: "1 for the service's current state, 0 for the others");
        Meter.CreateObservableCounter(Names.ServiceRestarts, () => PerService(s => (long)s.Restarts),
            description: "Restarts of the service's tunnel since LocalPort started");
        Meter.CreateObservableGauge(Names.ConsecutiveFailures, () =>
                _checkFailures.Select(p => new Measurement<int>(p.Value, Service(p.Key))),
            description: "Health checks failed in a row (0 after a passing one)");
        _checkDuration = Meter.CreateHistogram<double>(Names.CheckDuration, unit: "s",
            description: "How long each health check took");
        Meter.CreateObservableUpDownCounter(Names.RelayActive, () => Relays(r => (long)r.Active, _ => 0),
            description: "Connections the service's relay carries now");
        Meter.CreateObservableCounter(Names.RelayConnections, () => Relays(r => r.Total, t => t.Connections),
            description: "Connections the service's relay accepted");
        Meter.CreateObservableCounter(Names.RelayBytes, RelayBytes, unit: "By",
            description: "Bytes the service's relay carried, up (client to target) and down");
        Meter.CreateObservableCounter(Names.Reloads, () => new[]
            {
                new Measurement<long>(Interlocked.Read(ref _reloadsOk), new KeyValuePair<string, object?>("result", "ok")),
                new Measurement<long>(Interlocked.Read(ref _reloadsRefused), new KeyValuePair<string, object?>("result", "refused")),
            },
            description: "Configuration reloads, applied (ok) or refused");
        Meter.CreateObservableGauge(Names.ShutdownPhaseDuration, () =>
                _phases.Select(p => new Measurement<double>(p.Value.TotalSeconds, new KeyValuePair<string, object?>("phase", p.Key))),
            unit: "s", description: "How long each phase of the last (or current) shutdown took");
        Meter.CreateObservableGauge(Names.ShutdownClean, ShutdownOutcome,
            description: "1 if the last shutdown left nothing behind, 0 if it did (absent before one finished)");
        Meter.CreateObservableGauge(Names.ClusterUp, ClusterReachable,
            description: "1 while the kube context's API answers, 0 while it does not (unwatched and unknown contexts absent)");
    }

    /// <summary>The instance of an ActorSystem; its EventStream feeds it from the first call on.</summary>
    public static LocalPortMetrics For(ActorSystem system) => system.WithExtension<LocalPortMetrics, MetricsExtension>();

    /// <summary>Counts a relay's connections and bytes under its service until <see cref="Untrack"/>.</summary>
    public void Track(string service, RelayListener relay) => _relays[relay] = service;

    /// <summary>Keeps what the relay carried and stops reading it (once it is disposed: its last bytes count too).</summary>
    public void Untrack(RelayListener relay)
    {
        if (!_relays.TryRemove(relay, out var service)) return;
        _retired.AddOrUpdate(service, _ => RelayTotals.Of(relay), (_, before) => before + RelayTotals.Of(relay));
    }

    /// <summary>One health check's outcome: its duration and the service's failures in a row.</summary>
    public void CheckCompleted(string service, TimeSpan duration, bool healthy, int consecutiveFailures)
    {
        _checkDuration.Record(duration.TotalSeconds, Service(service), new KeyValuePair<string, object?>("result", healthy ? "pass" : "fail"));
        _checkFailures[service] = consecutiveFailures;
    }

    internal void On(object message)
    {
        switch (message)
        {
            case ServiceStatusChanged changed: _services[changed.Status.Name] = changed.Status; break;
            case ServiceRemoved removed:
                _services.TryRemove(removed.Name, out _);
                _checkFailures.TryRemove(removed.Name, out _);
                break;
            case ReloadResult { Ok: true }: Interlocked.Increment(ref _reloadsOk); break;
            case ReloadResult: Interlocked.Increment(ref _reloadsRefused); break;
            case ShutdownPhaseCompleted phase: _phases[phase.Report.Phase] = phase.Report.Duration; break;
            case ShutdownCompleted done:
                foreach (var phase in done.Report.Phases) _phases[phase.Phase] = phase.Duration;
                _lastShutdown = done.Report;
                break;
            case ClusterStatusChanged cluster: _clusters[cluster.Status.Context] = cluster.Status; break;
        }
    }

    internal static readonly Type[] Events =
    [
        typeof(ServiceStatusChanged), typeof(ServiceRemoved), typeof(ReloadResult), typeof(ShutdownPhaseCompleted),
        typeof(ShutdownCompleted), typeof(ClusterStatusChanged),
    ];

    public void Dispose() => Meter.Dispose();

    /// <summary>The state's label value, as the control API spells it (backing-off, waiting-for-cluster).</summary>
    public static string StateName(ServiceState state) => string.Concat(state.ToString()
        .Select((c, i) => char.IsUpper(c) && i > 0 ? "-" + char.ToLowerInvariant(c) : char.ToLowerInvariant(c).ToString()));

    private static KeyValuePair<string, object?> Service(string name) => new("service", name);

    private IEnumerable<Measurement<T>> PerService<T>(Func<ServiceStatus, T> value) where T : struct =>
        _services.Values.Select(s => new Measurement<T>(value(s), Service(s.Name)));

    private IEnumerable<Measurement<int>> ServiceHealth() =>
        _services.Values.Where(s => s.Healthy is not null).Select(s => new Measurement<int>(s.Healthy == true ? 1 : 0, Service(s.Name)));

    private IEnumerable<Measurement<int>> ServiceStates() =>
        _services.Values.SelectMany(s => StateNames.Select(state => new Measurement<int>(StateName(s.State) == state ? 1 : 0,
            Service(s.Name), new KeyValuePair<string, object?>("state", state))));

    private IEnumerable<Measurement<long>> Relays(Func<RelayListener, long> live, Func<RelayTotals, long> retired)
    {
        var sums = _retired.ToDictionary(p => p.Key, p => retired(p.Value));
        foreach (var (relay, service) in _relays) sums[service] = sums.GetValueOrDefault(service) + live(relay);
        return sums.Select(p => new Measurement<long>(p.Value, Service(p.Key)));
    }

    private IEnumerable<Measurement<long>> RelayBytes() =>
        Relays(r => r.BytesUp, t => t.BytesUp).Select(m => new Measurement<long>(m.Value, [.. m.Tags, new("direction", "up")]))
            .Concat(Relays(r => r.BytesDown, t => t.BytesDown).Select(m => new Measurement<long>(m.Value, [.. m.Tags, new("direction", "down")])));

    private IEnumerable<Measurement<int>> ShutdownOutcome() =>
        _lastShutdown is { } report ? [new Measurement<int>(report.Clean ? 1 : 0)] : [];

    private IEnumerable<Measurement<int>> ClusterReachable() => _clusters.Values
        .Where(c => c.State is ClusterReachability.Reachable or ClusterReachability.Unreachable)
        .Select(c => new Measurement<int>(c.State == ClusterReachability.Reachable ? 1 : 0, new KeyValuePair<string, object?>("context", c.Context)));

    private sealed record RelayTotals(long Connections, long BytesUp, long BytesDown)
    {
        public static RelayTotals Of(RelayListener relay) => new(relay.Total, relay.BytesUp, relay.BytesDown);
        public static RelayTotals operator +(RelayTotals a, RelayTotals b) =>
            new(a.Connections + b.Connections, a.BytesUp + b.BytesUp, a.BytesDown + b.BytesDown);
    }
}

/// <summary>Creates an ActorSystem's <see cref="LocalPortMetrics"/> and subscribes it to the EventStream at once.</summary>
public sealed class MetricsExtension : ExtensionIdProvider<LocalPortMetrics>
{
    public override LocalPortMetrics CreateExtension(ExtendedActorSystem system)
    {
        var metrics = new LocalPortMetrics();
        var recorder = system.SystemActorOf(Props.Create(() => new MetricsRecorder(metrics)), "localport-metrics");
        // Subscribed here, not in the recorder's PreStart: no status published after this call is missed.
        foreach (var type in LocalPortMetrics.Events) system.EventStream.Subscribe(recorder, type);
        system.RegisterOnTermination(metrics.Dispose);
        return metrics;
    }
}

/// <summary>Writes the EventStream's status, reload, shutdown and cluster events into the metrics' state.</summary>
internal sealed class MetricsRecorder : ReceiveActor
{
    public MetricsRecorder(LocalPortMetrics metrics) => ReceiveAny(metrics.On);
}
