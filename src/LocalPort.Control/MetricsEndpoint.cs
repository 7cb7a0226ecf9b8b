using System.Runtime.CompilerServices;
using LocalPort.Actors.Metrics;
using Microsoft.AspNetCore.Http;
using Prometheus;

namespace LocalPort.Control;

/// <summary>
/// GET /metrics: LocalPort's Meter in Prometheus text, by prometheus-net. Its assembly loads on the first scrape
/// and not before: every loaded assembly holds two descriptors for the life of the process, and an idle
/// `localport run` has few to spare under a low `ulimit -n`. The instruments are observable, so starting to
/// listen late still reports every total.
/// </summary>
public static class MetricsEndpoint
{
    /// <summary>Prometheus's text exposition format, as prometheus-net writes it.</summary>
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    /// <summary>Writes the current metrics to the response. Kept apart so that mapping the route loads nothing.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static Task Write(HttpContext http) => Exporter.Instance.Write(http);

    /// <summary>Holds prometheus-net's types: touching this class is what loads the library.</summary>
    private sealed class Exporter
    {
        public static readonly Exporter Instance = new();
        private readonly CollectorRegistry _registry = Metrics.NewCustomRegistry();

        private Exporter()
        {
            // A registry of our own: no process or .NET runtime series, only the LocalPort meter. The factory too:
            // with Registry alone, prometheus-net 8.2.1 creates the series in its default registry.
            MeterAdapter.StartListening(new MeterAdapterOptions
            {
                Registry = _registry,
                MetricFactory = Metrics.WithCustomRegistry(_registry),
                InstrumentFilterPredicate = instrument => instrument.Meter.Name == LocalPortMetrics.MeterName,
            });
        }

        public async Task Write(HttpContext http)
        {
            http.Response.ContentType = ContentType;
            await _registry.CollectAndExportAsTextAsync(http.Response.Body, http.RequestAborted);
        }
    }
}
