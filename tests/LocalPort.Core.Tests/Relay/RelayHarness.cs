using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using LocalPort.Core.Relay;
using LocalPort.Core.Relay.Toxics;

namespace LocalPort.Core.Tests.Relay;

/// <summary>An upstream on 127.0.0.1 that echoes (or only swallows) what it receives and notes when each chunk arrived.</summary>
internal sealed class Upstream : IDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentBag<Socket> _clients = [];
    private readonly bool _echo;
    private long _received;
    private int _accepted;

    public int Port { get; }
    public long Received => Interlocked.Read(ref _received);
    /// <summary>Connections the relay dialled to this upstream.</summary>
    public int Accepted => Volatile.Read(ref _accepted);
    /// <summary>Stopwatch timestamps of received chunks, in order.</summary>
    public ConcurrentQueue<long> Arrivals { get; } = new();

    private Upstream(bool echo)
    {
        _echo = echo;
        _listener.Start(128);
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _ = AcceptLoop();
    }

    public static Upstream Echo() => new(echo: true);

    public static Upstream Sink() => new(echo: false);

    private async Task AcceptLoop()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try { client = await _listener.AcceptSocketAsync(_stop.Token); }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException) { return; }
            client.NoDelay = true;
            Interlocked.Increment(ref _accepted);
            _clients.Add(client);
            _ = Serve(client);
        }
    }

    private async Task Serve(Socket client)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                var read = await client.ReceiveAsync(buffer, SocketFlags.None, _stop.Token);
                if (read == 0) break;
                Arrivals.Enqueue(Stopwatch.GetTimestamp());
                Interlocked.Add(ref _received, read);
                if (_echo) await client.SendAsync(buffer.AsMemory(0, read), SocketFlags.None, _stop.Token);
            }
            client.Shutdown(SocketShutdown.Send);
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException) { }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Stop();
        foreach (var client in _clients) client.Dispose();
    }
}

internal enum ReadOutcome { Data, Closed, Reset, Silent }

/// <summary>A relay on 127.0.0.1:&lt;free port&gt; pointed at one upstream, and client-side measurements through it.</summary>
internal sealed class RelayHarness : IAsyncDisposable
{
    private readonly List<Socket> _clients = [];

    public Upstream Upstream { get; }
    public RelayListener Relay { get; }
    public int Port => Relay.LocalEndPoint.Port;

    private RelayHarness(Upstream upstream)
    {
        Upstream = upstream;
        Relay = RelayListener.Bind(new IPEndPoint(IPAddress.Loopback, 0)).Start();
        Relay.SetTarget(new IPEndPoint(IPAddress.Loopback, upstream.Port));
    }

    public static RelayHarness Echo() => new(Upstream.Echo());

    public static RelayHarness Sink() => new(Upstream.Sink());

    public void Add(Toxic toxic) => Relay.Toxics = Relay.Toxics.With(toxic);

    public Task<Socket> ConnectAsync() => ConnectClientAsync(new IPEndPoint(IPAddress.Loopback, Port), _clients, TimeSpan.FromSeconds(5));

    /// <summary>A client connection to <paramref name="endpoint"/>, added to <paramref name="owned"/> so the test disposes it.</summary>
    public static async Task<Socket> ConnectClientAsync(EndPoint endpoint, ICollection<Socket> owned, TimeSpan bound)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        owned.Add(socket);
        using var timeout = new CancellationTokenSource(bound);
        await socket.ConnectAsync(endpoint, timeout.Token);
        return socket;
    }

    /// <summary>
    /// A fresh connection that sends one byte: how it ends. A reset can arrive before the connect completes
    /// (the relay accepts and resets at once), which counts as a reset too.
    /// </summary>
    public async Task<ReadOutcome> FreshConnectionOutcomeAsync(TimeSpan timeout)
    {
        try
        {
            using var socket = await ConnectAsync();
            await socket.SendAsync(new byte[1], SocketFlags.None);
            return await NextReadAsync(socket, timeout);
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionReset or SocketError.ConnectionRefused)
        {
            return ReadOutcome.Reset;
        }
    }

    /// <summary>Sends <paramref name="size"/> bytes and reads the echo back in full; bounded by <paramref name="timeout"/>.</summary>
    public static async Task<TimeSpan> RoundTripAsync(Socket socket, int size = 32, TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(5));
        var payload = new byte[size];
        Random.Shared.NextBytes(payload);
        var clock = Stopwatch.StartNew();
        await socket.SendAsync(payload, SocketFlags.None, cts.Token);
        var echoed = await ReceiveExactlyAsync(socket, size, cts.Token);
        clock.Stop();
        Assert.Equal(payload, echoed);
        return clock.Elapsed;
    }

    /// <summary>The median of <paramref name="samples"/> round trips on one connection, in milliseconds.</summary>
    public static async Task<double> MedianRoundTripAsync(Socket socket, int samples = 5)
    {
        var times = new List<double>();
        for (var i = 0; i < samples; i++) times.Add((await RoundTripAsync(socket)).TotalMilliseconds);
        times.Sort();
        return times[samples / 2];
    }

    public static async Task<byte[]> ReceiveExactlyAsync(Socket socket, int size, CancellationToken token)
    {
        var received = new byte[size];
        var total = 0;
        while (total < size)
        {
            var read = await socket.ReceiveAsync(received.AsMemory(total), SocketFlags.None, token);
            if (read == 0) throw new IOException($"closed after {total} of {size} bytes");
            total += read;
        }
        return received;
    }

    /// <summary>What the next read brings within <paramref name="timeout"/>: data, an orderly close, a reset, or nothing.</summary>
    public static async Task<ReadOutcome> NextReadAsync(Socket socket, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            var read = await socket.ReceiveAsync(new byte[4096], SocketFlags.None, cts.Token);
            return read == 0 ? ReadOutcome.Closed : ReadOutcome.Data;
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
        {
            return ReadOutcome.Reset;
        }
        catch (OperationCanceledException)
        {
            return ReadOutcome.Silent;
        }
    }

    /// <summary>Reads until the connection ends (or <paramref name="timeout"/>); the bytes, each read's size, and how it ended.</summary>
    public static async Task<(byte[] Bytes, List<int> Reads, ReadOutcome End)> ReadToEndAsync(Socket socket, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        var bytes = new MemoryStream();
        var reads = new List<int>();
        var buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                var read = await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
                if (read == 0) return (bytes.ToArray(), reads, ReadOutcome.Closed);
                reads.Add(read);
                bytes.Write(buffer, 0, read);
            }
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
        {
            return (bytes.ToArray(), reads, ReadOutcome.Reset);
        }
        catch (OperationCanceledException)
        {
            return (bytes.ToArray(), reads, ReadOutcome.Silent);
        }
    }

    /// <summary>True as soon as the condition holds (checked every 2 ms), false after <paramref name="timeout"/>.</summary>
    public static async Task<bool> UntilAsync(Func<bool> condition, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > timeout) return false;
            await Task.Delay(2);
        }
        return true;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var client in _clients) client.Dispose();
        await Relay.DisposeAsync();
        Upstream.Dispose();
    }
}

/// <summary>Toxics as the tests write them.</summary>
internal static class Toxics
{
    public static Toxic Of(ToxicType type, ToxicStream stream = ToxicStream.Downstream, string? name = null) =>
        new() { Name = name ?? ToxicNames.DefaultName(type, stream), Type = type, Stream = stream };

    public static Toxic Latency(int milliseconds, ToxicStream stream = ToxicStream.Downstream, int jitter = 0) =>
        Of(ToxicType.Latency, stream) with { Latency = TimeSpan.FromMilliseconds(milliseconds), Jitter = TimeSpan.FromMilliseconds(jitter) };
}
