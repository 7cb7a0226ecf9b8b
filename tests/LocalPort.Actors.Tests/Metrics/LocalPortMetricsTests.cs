using System.Diagnostics.Metrics;
using Akka.TestKit.Xunit2;
using LocalPort.Actors.Metrics;
using LocalPort.Actors.Reload;
using LocalPort.Actors.Services;
using LocalPort.Core.Config;

namespace LocalPort.Actors.Tests.Metrics;

/// <summary>The LocalPort meter publishes the documented instruments and reads the EventStream's state when asked.</summary>
public sealed class LocalPortMetricsTests : TestKit
{
    [Fact]
    public void The_meter_publishes_every_documented_instrument_and_observes_status_and_reloads()
    {
        var metrics = LocalPortMetrics.For(Sys);
        var published = new List<string>();
        var values = new Dictionary<(string, string), double>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter != metrics.Meter) return;
            lock (published) published.Add(instrument.Name);
            l.EnableMeasurementEvents(instrument);
        };
        void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            var label = string.Join(",", tags.ToArray().Select(t => $"{t.Key}={t.Value}"));
            lock (values) values[(instrument.Name, label)] = value;
        }
        listener.SetMeasurementEventCallback<int>((i, v, t, _) => Record(i, v, t));
        listener.SetMeasurementEventCallback<long>((i, v, t, _) => Record(i, v, t));
        listener.SetMeasurementEventCallback<double>((i, v, t, _) => Record(i, v, t));
        listener.Start();

        Assert.Equal(LocalPortMetrics.Names.All.Order(), published.Order());
        Assert.Equal(LocalPortMetrics.MeterName, metrics.Meter.Name);

        var now = DateTimeOffset.Now;
        Sys.EventStream.Publish(new ServiceStatusChanged(new ServiceStatus("web", Technology.Ssh, 8080, ServiceState.BackingOff, false, 3, null, "gone", now)));
        Sys.EventStream.Publish(new ReloadResult(true, [], [], [], [], null, now));
        Sys.EventStream.Publish(new ReloadResult(false, [], [], [], [], "bad yaml", now));
        AwaitAssert(() =>
        {
            listener.RecordObservableInstruments();
            lock (values)
            {
                Assert.Equal(3, values[(LocalPortMetrics.Names.ServiceRestarts, "service=web")]);
                Assert.Equal(0, values[(LocalPortMetrics.Names.ServiceUp, "service=web")]);
                Assert.Equal(0, values[(LocalPortMetrics.Names.ServiceHealthy, "service=web")]);
                Assert.Equal(1, values[(LocalPortMetrics.Names.ServiceState, "service=web,state=backing-off")]);
                Assert.Equal(0, values[(LocalPortMetrics.Names.ServiceState, "service=web,state=running")]);
                Assert.Equal(1, values[(LocalPortMetrics.Names.Reloads, "result=ok")]);
                Assert.Equal(1, values[(LocalPortMetrics.Names.Reloads, "result=refused")]);
            }
        }, TimeSpan.FromSeconds(3));

        metrics.CheckCompleted("web", TimeSpan.FromMilliseconds(20), healthy: false, consecutiveFailures: 2);
        listener.RecordObservableInstruments();
        lock (values)
        {
            Assert.Equal(0.02, values[(LocalPortMetrics.Names.CheckDuration, "service=web,result=fail")], 3);
            Assert.Equal(2, values[(LocalPortMetrics.Names.ConsecutiveFailures, "service=web")]);
        }
    }
}
