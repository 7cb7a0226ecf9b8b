using System.Buffers;
using System.Diagnostics;
using System.Net.Sockets;
using System.Threading.Channels;

namespace LocalPort.Core.Relay.Toxics;

/// <summary>
/// One direction of a connection once a toxic has reached it. A reader stamps each chunk with the time
/// it arrived; a writer applies the toxics current at delivery time. Latency is counted from arrival, so
/// it adds to every exchange once without throttling a stream; the bounded queue passes back-pressure on.
/// Applied in this order: timeout (drop), latency, limit_data (truncate), slicer and bandwidth (how it is sent).
/// </summary>
internal sealed class ToxicPipe(Socket from, Socket to, ToxicStream stream, ConnectionToxics toxics, ToxicSource source,
    IToxicTarget connection, Action touch)
{
    private const int QueuedChunks = 16;
    private readonly record struct Chunk(byte[] Data, int Length, long ReadAt);

    private readonly Channel<Chunk> _chunks = Channel.CreateBounded<Chunk>(
        new BoundedChannelOptions(QueuedChunks) { SingleReader = true, SingleWriter = true });
    private readonly Dictionary<string, long> _delivered = new(StringComparer.Ordinal);
    private long _nextSendAt;

    /// <summary>Runs until the direction ends; <paramref name="firstRead"/> bytes already sit in <paramref name="buffer"/>.</summary>
    public Task RunAsync(byte[] buffer, int firstRead, CancellationToken token) =>
        Task.WhenAll(ReadLoop(buffer, firstRead, token), WriteLoop(token));

    private async Task ReadLoop(byte[] buffer, int read, CancellationToken token)
    {
        try
        {
            while (true)
            {
                var data = ArrayPool<byte>.Shared.Rent(Math.Max(read, 1));
                buffer.AsSpan(0, read).CopyTo(data);
                await _chunks.Writer.WriteAsync(new Chunk(data, read, Stopwatch.GetTimestamp()), token);
                if (read == 0) return;
                read = await from.ReceiveAsync(buffer, SocketFlags.None, token);
                touch();
            }
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException or ChannelClosedException)
        {
            connection.Close(reset: true);
        }
        finally
        {
            _chunks.Writer.TryComplete();
        }
    }

    private async Task WriteLoop(CancellationToken token)
    {
        try
        {
            await foreach (var chunk in _chunks.Reader.ReadAllAsync(token))
            {
                try
                {
                    var active = toxics.Active(stream, source.Current);
                    if (chunk.Length == 0)
                    {
                        await CloseSend(active, token);
                        return;
                    }
                    if (!await Deliver(chunk, active, token)) return;
                    touch();
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(chunk.Data);
                }
            }
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException)
        {
            connection.Close(reset: true);
        }
        finally
        {
            // Whatever is still queued goes back to the pool.
            while (_chunks.Reader.TryRead(out var left)) ArrayPool<byte>.Shared.Return(left.Data);
        }
    }

    /// <returns>False once the connection has been closed by a toxic.</returns>
    private async Task<bool> Deliver(Chunk chunk, Toxic[] active, CancellationToken token)
    {
        var delay = TimeSpan.Zero;
        Toxic? limit = null, bandwidth = null, slicer = null;
        foreach (var toxic in active)
        {
            switch (toxic.Type)
            {
                case ToxicType.Timeout:
                    return true; // a black hole: the bytes are dropped
                case ToxicType.Latency:
                    delay += toxic.Latency + Jitter(toxic.Jitter);
                    break;
                case ToxicType.LimitData:
                    limit ??= toxic;
                    break;
                case ToxicType.Bandwidth:
                    if (bandwidth is null || toxic.RateKilobytes < bandwidth.RateKilobytes) bandwidth = toxic;
                    break;
                case ToxicType.Slicer:
                    slicer ??= toxic;
                    break;
            }
        }
        if (delay > TimeSpan.Zero) await WaitUntil(chunk.ReadAt + (long)(delay.TotalSeconds * Stopwatch.Frequency), token);

        var data = chunk.Data.AsMemory(0, chunk.Length);
        if (limit is not null)
        {
            var sent = _delivered.GetValueOrDefault(limit.Name);
            var room = Math.Max(0, limit.Bytes - sent);
            if (data.Length > room) data = data[..(int)room];
            _delivered[limit.Name] = sent + data.Length;
        }
        await Send(data, bandwidth, slicer, token);
        if (limit is not null && _delivered[limit.Name] >= limit.Bytes)
        {
            connection.Close(reset: false);
            return false;
        }
        return true;
    }

    private async Task Send(ReadOnlyMemory<byte> data, Toxic? bandwidth, Toxic? slicer, CancellationToken token)
    {
        var bytesPerSecond = bandwidth is null ? 0 : bandwidth.RateKilobytes * 1000;
        while (!data.IsEmpty)
        {
            var size = data.Length;
            if (slicer is not null)
                size = Math.Min(size, Math.Max(1, slicer.AverageSize + Random.Shared.Next(-slicer.SizeVariation, slicer.SizeVariation + 1)));
            if (bytesPerSecond > 0)
            {
                // At most 50 ms worth per send keeps the pace even instead of bursting.
                size = (int)Math.Min(size, Math.Max(1, bytesPerSecond / 20));
                // A timer that fires late leaves up to 50 ms of credit, so the average rate still holds under load.
                var now = Stopwatch.GetTimestamp();
                var start = _nextSendAt == 0 ? now : Math.Max(_nextSendAt, now - Stopwatch.Frequency / 20);
                await WaitUntil(start, token);
                _nextSendAt = start + size * Stopwatch.Frequency / bytesPerSecond;
            }
            await to.SendAsync(data[..size], SocketFlags.None, token);
            data = data[size..];
            if (slicer is not null && !data.IsEmpty && slicer.Delay > TimeSpan.Zero) await Task.Delay(slicer.Delay, token);
        }
    }

    private async Task CloseSend(Toxic[] active, CancellationToken token)
    {
        var slowClose = active.FirstOrDefault(t => t.Type == ToxicType.SlowClose);
        if (slowClose is not null) await Task.Delay(slowClose.Delay, token);
        to.Shutdown(SocketShutdown.Send);
    }

    private static TimeSpan Jitter(TimeSpan jitter) =>
        jitter <= TimeSpan.Zero ? TimeSpan.Zero : TimeSpan.FromTicks((long)((Random.Shared.NextDouble() * 2 - 1) * jitter.Ticks));

    private static async Task WaitUntil(long timestamp, CancellationToken token)
    {
        var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), timestamp);
        if (wait > TimeSpan.Zero) await Task.Delay(wait, token);
    }
}
