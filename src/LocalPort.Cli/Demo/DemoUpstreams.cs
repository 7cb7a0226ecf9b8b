using System.Net;
using System.Net.Sockets;
using System.Text;

namespace LocalPort.Cli.Demo;

/// <summary>Small upstream servers for `localport demo`: an HTTP page and an echo service, on loopback.</summary>
public sealed class DemoUpstreams : IAsyncDisposable
{
    public const int HttpPort = 19080;
    public const int EchoPort = 19081;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<TcpListener> _listeners = [];
    private readonly List<Task> _loops = [];

    public static DemoUpstreams Start()
    {
        var upstreams = new DemoUpstreams();
        upstreams.Listen(HttpPort, upstreams.ServeHttp);
        upstreams.Listen(EchoPort, upstreams.ServeEcho);
        return upstreams;
    }

    private void Listen(int port, Func<TcpClient, Task> serve)
    {
        var listener = new TcpListener(IPAddress.Loopback, port);
        try
        {
            listener.Start();
        }
        catch (SocketException e)
        {
            throw new InvalidOperationException($"demo upstream port {port} is in use ({e.Message}); stop whatever holds it and retry");
        }
        _listeners.Add(listener);
        _loops.Add(Task.Run(async () =>
        {
            while (!_stop.IsCancellationRequested)
            {
                TcpClient client;
                try { client = await listener.AcceptTcpClientAsync(_stop.Token); }
                catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException) { return; }
                _ = Task.Run(async () =>
                {
                    using (client)
                    {
                        try { await serve(client); }
                        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException) { }
                    }
                });
            }
        }));
    }

    private async Task ServeHttp(TcpClient client)
    {
        var stream = client.GetStream();
        var buffer = new byte[4096];
        var request = new StringBuilder();
        while (!request.ToString().Contains("\r\n\r\n"))
        {
            var read = await stream.ReadAsync(buffer, _stop.Token);
            if (read == 0) return;
            request.Append(Encoding.ASCII.GetString(buffer, 0, read));
        }
        var body = $"hello from the LocalPort demo upstream at {DateTimeOffset.Now:O}\n";
        var response = $"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {Encoding.UTF8.GetByteCount(body)}\r\nConnection: close\r\n\r\n{body}";
        await stream.WriteAsync(Encoding.UTF8.GetBytes(response), _stop.Token);
    }

    private async Task ServeEcho(TcpClient client)
    {
        var stream = client.GetStream();
        var buffer = new byte[16 * 1024];
        int read;
        while ((read = await stream.ReadAsync(buffer, _stop.Token)) > 0)
            await stream.WriteAsync(buffer.AsMemory(0, read), _stop.Token);
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        foreach (var listener in _listeners) listener.Stop();
        await Task.WhenAll(_loops);
    }
}
