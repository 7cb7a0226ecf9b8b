using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace LocalPort.IntegrationTests.Fixtures;

/// <summary>
/// A tiny HTTP/1.1 upstream on 127.0.0.1: every request gets 200 and <see cref="Body"/>, then the
/// connection closes. Enough for http health checks and for curl-like traffic through a tunnel.
/// </summary>
public sealed class HttpServer : IDisposable
{
    public const string Body = "hello from the upstream";

    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<Socket, byte> _clients = new();
    private long _requests;
    private long _accepted;

    public int Port { get; }
    public long Requests => Interlocked.Read(ref _requests);
    /// <summary>Connections accepted, with or without a request (a relay that dials for a client that left shows here).</summary>
    public long Accepted => Interlocked.Read(ref _accepted);

    public HttpServer()
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
            _ = Serve(client);
        }
    }

    private async Task Serve(Socket client)
    {
        try
        {
            var request = new StringBuilder();
            var buffer = new byte[4096];
            while (!request.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
            {
                var read = await client.ReceiveAsync(buffer, SocketFlags.None, _stop.Token);
                if (read == 0) return;
                request.Append(Encoding.ASCII.GetString(buffer, 0, read));
            }
            Interlocked.Increment(ref _requests);
            var body = Encoding.UTF8.GetBytes(Body);
            var head = Encoding.ASCII.GetBytes(
                $"HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n");
            await client.SendAsync(head, SocketFlags.None, _stop.Token);
            await client.SendAsync(body, SocketFlags.None, _stop.Token);
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
