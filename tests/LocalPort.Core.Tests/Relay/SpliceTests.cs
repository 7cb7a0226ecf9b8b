using System.Diagnostics;
using System.Net.Sockets;
using LocalPort.Core.Relay.Toxics;

namespace LocalPort.Core.Tests.Relay;

/// <summary>
/// On Linux a bulk burst goes socket → pipe → socket with splice(2); small exchanges and toxic connections copy
/// through a buffer. Either way every byte arrives intact, in order, with half-closes passed through.
/// </summary>
public sealed class SpliceTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_bulk_stream_is_spliced_both_ways_intact_and_the_half_close_passes_through()
    {
        await using var relay = RelayHarness.Echo();
        var client = await relay.ConnectAsync();
        var sent = RandomBytes(8 << 20);

        var (echoed, end) = await SendThenHalfCloseAsync(client, sent);

        Assert.Equal(ReadOutcome.Closed, end);
        Assert.True(sent.AsSpan().SequenceEqual(echoed), $"echo differs: {echoed.Length} of {sent.Length} bytes came back");
        Assert.Equal(sent.Length, relay.Relay.BytesUp);
        Assert.Equal(sent.Length, relay.Relay.BytesDown);
        if (OperatingSystem.IsLinux()) Assert.True(relay.Relay.BytesSpliced > 0, "no byte went through a kernel pipe");
        else Assert.Equal(0, relay.Relay.BytesSpliced);
    }

    [Fact]
    public async Task Small_exchanges_are_copied_not_spliced()
    {
        await using var relay = RelayHarness.Echo();
        var client = await relay.ConnectAsync();

        for (var i = 0; i < 20; i++) await RelayHarness.RoundTripAsync(client, size: 32);

        // The relay counts a chunk once its send returns, which can be just after the client has the echo.
        var counted = Stopwatch.StartNew();
        while (relay.Relay.BytesDown < 20 * 32 && counted.Elapsed < Bound) await Task.Delay(5);
        Assert.Equal(20 * 32, relay.Relay.BytesDown);
        Assert.Equal(0, relay.Relay.BytesSpliced);
    }

    [Fact]
    public async Task With_a_toxic_on_the_bytes_are_copied_and_arrive_intact()
    {
        await using var relay = RelayHarness.Echo();
        relay.Add(Toxics.Latency(1, ToxicStream.Upstream));
        var client = await relay.ConnectAsync();
        var sent = RandomBytes(2 << 20);

        var (echoed, end) = await SendThenHalfCloseAsync(client, sent);

        Assert.Equal(ReadOutcome.Closed, end);
        Assert.True(sent.AsSpan().SequenceEqual(echoed), $"echo differs: {echoed.Length} of {sent.Length} bytes came back");
        Assert.Equal(0, relay.Relay.BytesSpliced);
    }

    [Fact]
    public async Task A_toxic_added_mid_stream_takes_over_from_the_pipe_without_losing_a_byte()
    {
        await using var relay = RelayHarness.Echo();
        var client = await relay.ConnectAsync();
        var first = RandomBytes(4 << 20);
        var second = RandomBytes(4 << 20);
        using var cts = new CancellationTokenSource(Bound);
        var reading = RelayHarness.ReadToEndAsync(client, Bound);

        await client.SendAsync(first, SocketFlags.None, cts.Token);
        if (OperatingSystem.IsLinux())
            Assert.True(await RelayHarness.UntilAsync(() => relay.Relay.BytesSpliced > 0, Bound), "the stream never used a pipe");
        relay.Add(Toxics.Latency(1, ToxicStream.Upstream));
        relay.Add(Toxics.Latency(1, ToxicStream.Downstream));
        await client.SendAsync(second, SocketFlags.None, cts.Token);
        client.Shutdown(SocketShutdown.Send);
        var (echoed, _, end) = await reading;

        Assert.Equal(ReadOutcome.Closed, end);
        var sent = first.Concat(second).ToArray();
        Assert.True(sent.AsSpan().SequenceEqual(echoed), $"echo differs: {echoed.Length} of {sent.Length} bytes came back");
    }

    /// <summary>Sends everything while reading the echo, half-closes, and reads to the end.</summary>
    private static async Task<(byte[] Echoed, ReadOutcome End)> SendThenHalfCloseAsync(Socket client, byte[] data)
    {
        using var cts = new CancellationTokenSource(Bound);
        var reading = RelayHarness.ReadToEndAsync(client, Bound);
        await client.SendAsync(data, SocketFlags.None, cts.Token);
        client.Shutdown(SocketShutdown.Send);
        var (echoed, _, end) = await reading;
        return (echoed, end);
    }

    private static byte[] RandomBytes(int size)
    {
        var bytes = new byte[size];
        Random.Shared.NextBytes(bytes);
        return bytes;
    }
}
