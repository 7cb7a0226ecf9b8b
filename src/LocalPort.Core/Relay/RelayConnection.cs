using System.Net;
using System.Net.Sockets;

namespace LocalPort.Core.Relay;

/// <summary>One client ↔ target pair: two pumps, half-closes passed through, abort cuts both.</summary>
internal sealed class RelayConnection(Socket client, int bufferSize) : IDisposable
{
    private readonly CancellationTokenSource _abort = new();
    private Socket? _upstream;
    private long _lastActivity = Environment.TickCount64;

    /// <summary>Milliseconds since bytes last moved either way.</summary>
    public long IdleMilliseconds => Environment.TickCount64 - Interlocked.Read(ref _lastActivity);

    public async Task RunAsync(EndPoint target, CancellationToken stopping)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(stopping, _abort.Token);
        var upstream = new Socket(target.AddressFamily, SocketType.Stream,
            target is UnixDomainSocketEndPoint ? ProtocolType.Unspecified : ProtocolType.Tcp);
        _upstream = upstream;
        try
        {
            await upstream.ConnectAsync(target, linked.Token);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException)
        {
            return;
        }
        if (upstream.AddressFamily != AddressFamily.Unix) upstream.NoDelay = true;

        var toTarget = Pump(client, upstream, linked.Token);
        var toClient = Pump(upstream, client, linked.Token);
        await Task.WhenAll(toTarget, toClient);
    }

    private async Task Pump(Socket from, Socket to, CancellationToken token)
    {
        var buffer = new byte[bufferSize];
        try
        {
            while (true)
            {
                var read = await from.ReceiveAsync(buffer, SocketFlags.None, token);
                if (read == 0)
                {
                    to.Shutdown(SocketShutdown.Send);
                    return;
                }
                Interlocked.Exchange(ref _lastActivity, Environment.TickCount64);
                await to.SendAsync(buffer.AsMemory(0, read), SocketFlags.None, token);
            }
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // One side failed: cut both so neither end is left half-open.
            Abort();
        }
    }

    public void Abort()
    {
        try { _abort.Cancel(); } catch (ObjectDisposedException) { }
        CloseHard(client);
        if (_upstream is { } upstream) CloseHard(upstream);
    }

    private static void CloseHard(Socket socket)
    {
        try { socket.LingerState = new LingerOption(true, 0); } catch (Exception e) when (e is SocketException or ObjectDisposedException) { }
        socket.Dispose();
    }

    public void Dispose()
    {
        client.Dispose();
        _upstream?.Dispose();
        _abort.Dispose();
    }
}
