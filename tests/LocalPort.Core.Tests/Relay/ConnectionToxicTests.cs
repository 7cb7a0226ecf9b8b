using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using LocalPort.Core.Relay.Toxics;
using Xunit.Abstractions;

namespace LocalPort.Core.Tests.Relay;

/// <summary>Toxics that drop, cut, close or refuse (timeout, reset_peer, limit_data, slow_close, down, toxicity), on real sockets.</summary>
public sealed class ConnectionToxicTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(3);

    [Fact]
    public async Task Timeout_without_a_time_black_holes_the_stream_and_leaves_the_connection_open()
    {
        await using var relay = RelayHarness.Echo();
        relay.Add(Toxics.Of(ToxicType.Timeout));
        var socket = await relay.ConnectAsync();

        await socket.SendAsync(new byte[100], SocketFlags.None);

        Assert.Equal(ReadOutcome.Silent, await RelayHarness.NextReadAsync(socket, TimeSpan.FromMilliseconds(500)));
        Assert.True(await RelayHarness.UntilAsync(() => relay.Upstream.Received == 100, Bound), "the upstream direction was black-holed too");
        Assert.Equal(1, relay.Relay.Active);
    }

    [Fact]
    public async Task Timeout_with_a_time_closes_the_connection_after_that_time()
    {
        await using var relay = RelayHarness.Echo();
        relay.Add(Toxics.Of(ToxicType.Timeout) with { Timeout = TimeSpan.FromMilliseconds(300) });
        var clock = Stopwatch.StartNew();
        var socket = await relay.ConnectAsync();

        var (bytes, _, end) = await RelayHarness.ReadToEndAsync(socket, Bound);

        output.WriteLine($"timeout 300ms: closed ({end}) after {clock.ElapsedMilliseconds} ms");
        Assert.Empty(bytes);
        Assert.Equal(ReadOutcome.Closed, end);
        Assert.InRange(clock.ElapsedMilliseconds, 280, 1000);
    }

    [Fact]
    public async Task Reset_peer_gives_a_new_connection_a_connection_reset()
    {
        await using var relay = RelayHarness.Echo();
        relay.Add(Toxics.Of(ToxicType.ResetPeer));

        Assert.Equal(ReadOutcome.Reset, await relay.FreshConnectionOutcomeAsync(Bound));
    }

    [Fact]
    public async Task Reset_peer_with_a_timeout_resets_an_open_connection_after_that_time()
    {
        await using var relay = RelayHarness.Echo();
        var socket = await relay.ConnectAsync();
        await RelayHarness.RoundTripAsync(socket);

        var clock = Stopwatch.StartNew();
        relay.Add(Toxics.Of(ToxicType.ResetPeer) with { Timeout = TimeSpan.FromMilliseconds(200) });
        var outcome = await RelayHarness.NextReadAsync(socket, Bound);

        output.WriteLine($"reset_peer 200ms on an open connection: {outcome} after {clock.ElapsedMilliseconds} ms");
        Assert.Equal(ReadOutcome.Reset, outcome);
        Assert.InRange(clock.ElapsedMilliseconds, 180, 800);
    }

    [Fact]
    public async Task Limit_data_closes_the_connection_after_that_many_bytes()
    {
        await using var relay = RelayHarness.Echo();
        relay.Add(Toxics.Of(ToxicType.LimitData) with { Bytes = 1000 });
        var socket = await relay.ConnectAsync();
        var payload = new byte[3000];
        Random.Shared.NextBytes(payload);

        await socket.SendAsync(payload, SocketFlags.None);
        var (bytes, _, end) = await RelayHarness.ReadToEndAsync(socket, Bound);

        Assert.Equal(payload[..1000], bytes);
        Assert.NotEqual(ReadOutcome.Silent, end);
    }

    [Fact]
    public async Task Slow_close_holds_back_the_close_by_its_delay()
    {
        await using var relay = RelayHarness.Echo();
        relay.Add(Toxics.Of(ToxicType.SlowClose) with { Delay = TimeSpan.FromMilliseconds(300) });
        var socket = await relay.ConnectAsync();
        await RelayHarness.RoundTripAsync(socket);

        var clock = Stopwatch.StartNew();
        socket.Shutdown(SocketShutdown.Send);
        var (_, _, end) = await RelayHarness.ReadToEndAsync(socket, Bound);

        output.WriteLine($"slow_close 300ms: the close arrived after {clock.ElapsedMilliseconds} ms");
        Assert.Equal(ReadOutcome.Closed, end);
        Assert.InRange(clock.ElapsedMilliseconds, 290, 1000);
    }

    [Fact]
    public async Task Down_cuts_open_connections_and_resets_new_ones_while_the_port_stays_bound()
    {
        await using var relay = RelayHarness.Echo();
        var open = await relay.ConnectAsync();
        await RelayHarness.RoundTripAsync(open);

        relay.Add(Toxics.Of(ToxicType.Down));

        Assert.Equal(ReadOutcome.Reset, await RelayHarness.NextReadAsync(open, Bound));
        Assert.Equal(ReadOutcome.Reset, await relay.FreshConnectionOutcomeAsync(Bound));
        var bindAgain = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        var clash = Assert.Throws<SocketException>(() => bindAgain.Bind(new IPEndPoint(IPAddress.Loopback, relay.Port)));
        Assert.Equal(SocketError.AddressAlreadyInUse, clash.SocketErrorCode);
        bindAgain.Dispose();

        relay.Relay.Toxics = ToxicSet.Empty;
        await RelayHarness.RoundTripAsync(await relay.ConnectAsync());
    }

    [Fact]
    public async Task A_toxicity_of_zero_never_applies()
    {
        await using var relay = RelayHarness.Echo();
        relay.Add(Toxics.Of(ToxicType.Down) with { Toxicity = 0 });
        relay.Add(Toxics.Latency(500) with { Toxicity = 0 });

        for (var i = 0; i < 20; i++)
        {
            var socket = await relay.ConnectAsync();
            Assert.True((await RelayHarness.RoundTripAsync(socket)).TotalMilliseconds < 250, $"connection {i} was affected");
            socket.Dispose();
        }
    }

    [Fact]
    public async Task A_toxicity_of_one_half_affects_about_half_the_connections()
    {
        await using var relay = RelayHarness.Echo();
        relay.Add(Toxics.Of(ToxicType.Down) with { Toxicity = 0.5 });

        var reset = 0;
        for (var i = 0; i < 100; i++)
            if (await relay.FreshConnectionOutcomeAsync(Bound) == ReadOutcome.Reset) reset++;

        output.WriteLine($"down with toxicity 0.5: {reset} of 100 connections reset");
        Assert.InRange(reset, 30, 70);
    }

    [Fact]
    public async Task A_black_hole_on_the_upstream_stream_swallows_what_the_client_sends()
    {
        await using var relay = RelayHarness.Echo();
        relay.Add(Toxics.Of(ToxicType.Timeout, ToxicStream.Upstream));
        var socket = await relay.ConnectAsync();

        await socket.SendAsync(new byte[100], SocketFlags.None);

        Assert.Equal(ReadOutcome.Silent, await RelayHarness.NextReadAsync(socket, TimeSpan.FromMilliseconds(300)));
        Assert.Equal(0, relay.Upstream.Received);
    }
}
