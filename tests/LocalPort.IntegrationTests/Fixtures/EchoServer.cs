using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace LocalPort.IntegrationTests.Fixtures;

/// <summary>A TCP upstream on 127.0.0.1 that sends back every byte it receives.</summary>
public sealed class EchoServer : IDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<Socket, byte> _clients = new();
    private long _accepted;

    public int Port { get; }
    public long Accepted => Interlocked.Read(ref _accepted);

    public EchoServer()
    {
        _listener.Start(512);
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _ = AcceptLoop();
    }

    private async Task AcceptLoop()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try { client = await _listener.AcceptSocketAsync(_stop.Token); }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException) { return; }
            Interlocked.Increment(ref _accepted);
            _clients[client] = 0;
            _ = Echo(client);
        }
    }

    private async Task Echo(Socket client)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            while (true)
            {
                var read = await client.ReceiveAsync(buffer, SocketFlags.None, _stop.Token);
                if (read == 0) break;
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

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Stop();
        foreach (var client in _clients.Keys) client.Dispose();
    }
}
