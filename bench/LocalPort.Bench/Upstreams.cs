using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace LocalPort.Bench;

/// <summary>
/// The far end of every forward, in the bench process on 127.0.0.1. Echo mode sends back every byte,
/// except that a connection opening with "GET " gets a small HTTP 200 (so LocalPort's http health
/// check sends real traffic through the tunnel). Sink mode reads until EOF and answers with the byte count.
/// </summary>
public sealed class Upstream : IDisposable
{
    public enum Mode { Echo, Sink }

    private static readonly byte[] HttpOk = Encoding.ASCII.GetBytes(
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");

    private readonly Socket _listener;
    private readonly Mode _mode;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<Socket, byte> _clients = new();

    public int Port { get; }

    public Upstream(Mode mode)
    {
        _mode = mode;
        _listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen(1024);
        Port = ((IPEndPoint)_listener.LocalEndPoint!).Port;
        _ = AcceptLoop();
    }

    private async Task AcceptLoop()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try { client = await _listener.AcceptAsync(_stop.Token); }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                if (_stop.IsCancellationRequested) return;
                continue;
            }
            client.NoDelay = true;
            _clients[client] = 0;
            _ = Task.Run(() => _mode == Mode.Echo ? Echo(client) : Sink(client));
        }
    }

    private async Task Echo(Socket client)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            var first = true;
            while (true)
            {
                var read = await client.ReceiveAsync(buffer, SocketFlags.None, _stop.Token);
                if (read == 0) break;
                if (first && read >= 4 && buffer.AsSpan(0, 4).SequenceEqual("GET "u8))
                {
                    await client.SendAsync(HttpOk, SocketFlags.None, _stop.Token);
                    break;
                }
                first = false;
                await client.SendAsync(buffer.AsMemory(0, read), SocketFlags.None, _stop.Token);
            }
            client.Shutdown(SocketShutdown.Send);
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException) { }
        finally
        {
            _clients.TryRemove(client, out _);
            client.Dispose();
        }
    }

    private async Task Sink(Socket client)
    {
        var buffer = new byte[1024 * 1024];
        long total = 0;
        try
        {
            while (true)
            {
                var read = await client.ReceiveAsync(buffer, SocketFlags.None, _stop.Token);
                if (read == 0) break;
                total += read;
            }
            await client.SendAsync(BitConverter.GetBytes(total), SocketFlags.None, _stop.Token);
            client.Shutdown(SocketShutdown.Send);
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException) { }
        finally
        {
            _clients.TryRemove(client, out _);
            client.Dispose();
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Dispose();
        foreach (var client in _clients.Keys) client.Dispose();
    }
}

/// <summary>Client-side traffic: echo round trips, bulk transfers and ping-pong, each bounded.</summary>
public static class Client
{
    private static readonly byte[] Payload = Encoding.ASCII.GetBytes("localport-bench ping 0123456789\n");

    /// <summary>Connect, send a short line, read the same bytes back.</summary>
    public static async Task<bool> EchoAsync(int port, TimeSpan timeout, CancellationToken cancel = default)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        cts.CancelAfter(timeout);
        try
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), cts.Token);
            await socket.SendAsync(Payload, SocketFlags.None, cts.Token);
            var received = new byte[Payload.Length];
            var total = 0;
            while (total < received.Length)
            {
                var read = await socket.ReceiveAsync(received.AsMemory(total), SocketFlags.None, cts.Token);
                if (read == 0) return false;
                total += read;
            }
            return received.AsSpan().SequenceEqual(Payload);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or IOException or ObjectDisposedException)
        {
            return false;
        }
    }

    /// <summary>
    /// Starts an echo attempt every <paramref name="spacing"/> (each may wait up to 3 s, e.g. for a tunnel that is
    /// coming back) and returns the clock reading at the first success, or null when <paramref name="window"/> passes.
    /// </summary>
    public static async Task<TimeSpan?> FirstEchoAsync(int port, System.Diagnostics.Stopwatch clock, TimeSpan window, TimeSpan spacing)
    {
        using var done = new CancellationTokenSource();
        var first = new TaskCompletionSource<TimeSpan>(TaskCreationOptions.RunContinuationsAsynchronously);
        var attempts = new List<Task>();
        while (clock.Elapsed < window && !first.Task.IsCompleted)
        {
            attempts.Add(Attempt());
            await Task.WhenAny(first.Task, Task.Delay(spacing));
        }
        if (!first.Task.IsCompleted)
        {
            // The last attempts may still succeed within the window.
            var left = window - clock.Elapsed;
            if (left > TimeSpan.Zero) await Task.WhenAny(first.Task, Task.Delay(left));
        }
        done.Cancel();
        await Task.WhenAll(attempts);
        return first.Task.IsCompleted && first.Task.Result <= window ? first.Task.Result : null;

        async Task Attempt()
        {
            var left = window - clock.Elapsed;
            if (left <= TimeSpan.Zero) return;
            if (await EchoAsync(port, left < TimeSpan.FromSeconds(3) ? left : TimeSpan.FromSeconds(3), done.Token))
                first.TrySetResult(clock.Elapsed);
        }
    }

    /// <summary>
    /// Waits until every port serves an echo round trip (a few sequential sweeps in parallel, retrying a port
    /// every 10 ms while it refuses); returns false when the deadline passes first.
    /// </summary>
    public static async Task<bool> AllServeAsync(IReadOnlyList<int> ports, TimeSpan deadline, int workers = 4)
    {
        using var cts = new CancellationTokenSource(deadline);
        var lanes = Enumerable.Range(0, workers).Select(async lane =>
        {
            for (var i = lane; i < ports.Count; i += workers)
            {
                while (!await EchoAsync(ports[i], TimeSpan.FromSeconds(10), cts.Token))
                {
                    if (cts.IsCancellationRequested) return false;
                    try { await Task.Delay(10, cts.Token); } catch (OperationCanceledException) { return false; }
                }
            }
            return true;
        });
        var results = await Task.WhenAll(lanes);
        return results.All(r => r);
    }

    /// <summary>Sends <paramref name="bytes"/> to a sink through <paramref name="port"/> on each of
    /// <paramref name="streams"/> connections at once; returns the wall time until every sink confirmed its count.</summary>
    public static async Task<TimeSpan> BulkAsync(int port, int streams, long bytes, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        var chunk = new byte[1024 * 1024];
        Random.Shared.NextBytes(chunk);
        var sockets = new List<Socket>();
        try
        {
            for (var i = 0; i < streams; i++)
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                sockets.Add(socket);
                await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), cts.Token);
            }
            var clock = System.Diagnostics.Stopwatch.StartNew();
            await Task.WhenAll(sockets.Select(socket => Task.Run(async () =>
            {
                long sent = 0;
                while (sent < bytes)
                {
                    var n = (int)Math.Min(chunk.Length, bytes - sent);
                    await socket.SendAsync(chunk.AsMemory(0, n), SocketFlags.None, cts.Token);
                    sent += n;
                }
                socket.Shutdown(SocketShutdown.Send);
                var ack = new byte[8];
                var got = 0;
                while (got < 8)
                {
                    var read = await socket.ReceiveAsync(ack.AsMemory(got), SocketFlags.None, cts.Token);
                    if (read == 0) throw new IOException($"the sink closed after {got} of 8 ack bytes");
                    got += read;
                }
                var counted = BitConverter.ToInt64(ack);
                if (counted != bytes) throw new IOException($"the sink counted {counted} bytes, {bytes} were sent");
            })));
            return clock.Elapsed;
        }
        finally
        {
            foreach (var socket in sockets) socket.Dispose();
        }
    }

    /// <summary>A connection for <see cref="PingPongAsync"/>.</summary>
    public static async Task<Socket> ConnectAsync(int port, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), cts.Token);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Ping-pong of 32-byte messages on an echo connection; appends each round trip in microseconds.</summary>
    public static async Task PingPongAsync(Socket socket, int count, List<double> samples, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        var message = new byte[32];
        message.AsSpan().Fill((byte)'x');
        var reply = new byte[32];
        for (var i = 0; i < count; i++)
        {
            var start = System.Diagnostics.Stopwatch.GetTimestamp();
            await socket.SendAsync(message, SocketFlags.None, cts.Token);
            var got = 0;
            while (got < reply.Length)
            {
                var read = await socket.ReceiveAsync(reply.AsMemory(got), SocketFlags.None, cts.Token);
                if (read == 0) throw new IOException("the echo closed mid ping-pong");
                got += read;
            }
            samples.Add(System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalMicroseconds);
        }
    }
}
