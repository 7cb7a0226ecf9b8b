using System.Diagnostics;
using System.Net.Sockets;
using LocalPort.Core.Relay.Toxics;
using Xunit.Abstractions;

namespace LocalPort.Core.Tests.Relay;

/// <summary>Toxics that shape bytes (latency, jitter, bandwidth, slicer), measured on real loopback sockets.</summary>
public sealed class ShapingToxicTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Latency_of_100ms_adds_100ms_to_a_round_trip()
    {
        await using var relay = RelayHarness.Echo();
        var plain = await RelayHarness.MedianRoundTripAsync(await relay.ConnectAsync());

        relay.Add(Toxics.Latency(100));
        var poisoned = await RelayHarness.MedianRoundTripAsync(await relay.ConnectAsync());

        output.WriteLine($"round trip: {plain:0.0} ms plain, {poisoned:0.0} ms with latency 100ms (+{poisoned - plain:0.0} ms)");
        Assert.InRange(poisoned - plain, 80, 120);
    }

    [Fact]
    public async Task Jitter_spreads_round_trips_around_the_latency()
    {
        await using var relay = RelayHarness.Echo();
        relay.Add(Toxics.Latency(100, jitter: 50));
        var socket = await relay.ConnectAsync();

        var times = new List<double>();
        for (var i = 0; i < 20; i++) times.Add((await RelayHarness.RoundTripAsync(socket)).TotalMilliseconds);

        output.WriteLine($"20 round trips with 100ms ±50ms: min {times.Min():0.0}, max {times.Max():0.0}, mean {times.Average():0.0} ms");
        // 100 ± 50 ms, with room above for a loaded machine (timers run late, never early).
        Assert.All(times, t => Assert.InRange(t, 45, 200));
        Assert.True(times.Max() - times.Min() > 20, "jitter did not vary the delay");
    }

    [Fact]
    public async Task Latency_on_one_stream_leaves_the_other_direction_alone()
    {
        await using var relay = RelayHarness.Echo();
        relay.Add(Toxics.Latency(150, ToxicStream.Downstream));
        var (downOnlyArrival, downOnlyRoundTrip) = await OneWayAndRoundTrip(relay);

        relay.Relay.Toxics = ToxicSet.Of([Toxics.Latency(150, ToxicStream.Upstream)]);
        var (upOnlyArrival, upOnlyRoundTrip) = await OneWayAndRoundTrip(relay);

        output.WriteLine($"downstream 150ms: upstream saw it after {downOnlyArrival:0.0} ms, round trip {downOnlyRoundTrip:0.0} ms; " +
                         $"upstream 150ms: after {upOnlyArrival:0.0} ms, round trip {upOnlyRoundTrip:0.0} ms");
        Assert.InRange(downOnlyArrival, 0, 40);
        Assert.InRange(downOnlyRoundTrip, 130, 190);
        Assert.InRange(upOnlyArrival, 130, 190);
        Assert.InRange(upOnlyRoundTrip, 130, 190);
    }

    /// <summary>On a fresh connection: when the upstream received a ping, and when its echo came back (ms after sending).</summary>
    private static async Task<(double Arrival, double RoundTrip)> OneWayAndRoundTrip(RelayHarness relay)
    {
        var socket = await relay.ConnectAsync();
        relay.Upstream.Arrivals.Clear();
        var sent = Stopwatch.GetTimestamp();
        var roundTrip = await RelayHarness.RoundTripAsync(socket);
        Assert.True(relay.Upstream.Arrivals.TryPeek(out var arrived));
        return (Stopwatch.GetElapsedTime(sent, arrived).TotalMilliseconds, roundTrip.TotalMilliseconds);
    }

    [Fact]
    public async Task Bandwidth_caps_throughput_at_the_rate_within_a_quarter()
    {
        await using var relay = RelayHarness.Sink();
        relay.Add(Toxics.Of(ToxicType.Bandwidth, ToxicStream.Upstream) with { RateKilobytes = 500 });
        var socket = await relay.ConnectAsync();
        const int total = 500_000;

        var clock = Stopwatch.StartNew();
        await socket.SendAsync(new byte[total], SocketFlags.None);
        Assert.True(await RelayHarness.UntilAsync(() => relay.Upstream.Received >= total, TimeSpan.FromSeconds(5)), "the upstream did not receive everything");
        clock.Stop();

        var rate = total / 1000.0 / clock.Elapsed.TotalSeconds;
        output.WriteLine($"500 KB through a 500 KB/s toxic: {clock.ElapsedMilliseconds} ms, {rate:0} KB/s");
        Assert.InRange(rate, 375, 625);
    }

    [Fact]
    public async Task Slicer_delivers_every_byte_in_order_in_small_delayed_slices()
    {
        await using var relay = RelayHarness.Echo();
        relay.Add(Toxics.Of(ToxicType.Slicer) with { AverageSize = 100, SizeVariation = 20, Delay = TimeSpan.FromMilliseconds(5) });
        var socket = await relay.ConnectAsync();
        var payload = new byte[2000];
        Random.Shared.NextBytes(payload);

        var clock = Stopwatch.StartNew();
        await socket.SendAsync(payload, SocketFlags.None);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        var received = new List<byte>();
        var reads = 0;
        var buffer = new byte[4096];
        while (received.Count < payload.Length)
        {
            var read = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
            Assert.NotEqual(0, read);
            reads++;
            received.AddRange(buffer.AsSpan(0, read).ToArray());
        }
        clock.Stop();

        output.WriteLine($"2000 bytes sliced ~100±20 with 5 ms pauses: {reads} reads in {clock.ElapsedMilliseconds} ms");
        Assert.Equal(payload, received.ToArray());
        Assert.True(reads >= 8, $"only {reads} reads: the bytes were not sliced");
        // At least 16 slices, so at least 15 pauses of 5 ms (timers may run late, never early).
        Assert.True(clock.ElapsedMilliseconds >= 70, $"delivered in {clock.ElapsedMilliseconds} ms: the slices were not delayed");
    }

    [Fact]
    public async Task A_toxic_added_to_an_open_connection_applies_from_its_next_chunk_and_removing_it_restores_the_round_trip()
    {
        await using var relay = RelayHarness.Echo();
        var socket = await relay.ConnectAsync();
        var before = await RelayHarness.MedianRoundTripAsync(socket, 3);

        relay.Add(Toxics.Latency(100));
        var during = await RelayHarness.MedianRoundTripAsync(socket, 3);
        relay.Relay.Toxics = ToxicSet.Empty;
        var after = await RelayHarness.MedianRoundTripAsync(socket, 3);

        output.WriteLine($"same connection: {before:0.0} ms, {during:0.0} ms with latency 100ms, {after:0.0} ms after removing it");
        Assert.InRange(during - before, 80, 120);
        Assert.InRange(after, 0, before + 20);
    }
}
