using System.Collections.Concurrent;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace LocalPort.Core.Tests.Health;

/// <summary>A minimal HTTP/1.1 server on 127.0.0.1 that records requests and answers from a handler.</summary>
internal sealed class TestHttpServer : IAsyncDisposable
{
    public sealed record Request(string Method, string Target, IReadOnlyDictionary<string, string> Headers);

    public sealed record Response(int Status, string Body = "", string ContentType = "text/plain; charset=utf-8");

    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly Func<Request, Response?> _handler;
    private readonly X509Certificate2? _certificate;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentBag<Socket> _connections = [];
    private readonly Task _acceptLoop;

    /// <param name="handler">Returns the response, or null to never answer.</param>
    public TestHttpServer(Func<Request, Response?> handler, X509Certificate2? certificate = null)
    {
        _handler = handler;
        _certificate = certificate;
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _acceptLoop = AcceptLoopAsync();
    }

    public int Port { get; }

    public ConcurrentQueue<Request> Requests { get; } = new();

    private async Task AcceptLoopAsync()
    {
        try
        {
            while (true)
            {
                var socket = await _listener.AcceptSocketAsync(_stop.Token);
                _connections.Add(socket);
                _ = ServeAsync(socket);
            }
        }
        catch (Exception) when (_stop.IsCancellationRequested)
        {
        }
    }

    private async Task ServeAsync(Socket socket)
    {
        try
        {
            Stream stream = new NetworkStream(socket, ownsSocket: false);
            if (_certificate is not null)
            {
                var tls = new SslStream(stream);
                await tls.AuthenticateAsServerAsync(_certificate, false, false);
                stream = tls;
            }
            var request = await ReadRequestAsync(stream, _stop.Token);
            Requests.Enqueue(request);
            var response = _handler(request);
            if (response is null) return; // hold the connection open and say nothing
            var body = Encoding.UTF8.GetBytes(response.Body);
            var head = $"HTTP/1.1 {response.Status} X\r\nContent-Type: {response.ContentType}\r\n" +
                       $"Content-Length: {body.Length}\r\nConnection: close\r\n\r\n";
            await stream.WriteAsync(Encoding.ASCII.GetBytes(head), _stop.Token);
            await stream.WriteAsync(body, _stop.Token);
            await stream.FlushAsync(_stop.Token);
            socket.Shutdown(SocketShutdown.Send);
        }
        catch (Exception)
        {
            // The client hung up or the TLS handshake was refused; that is the client's business.
        }
    }

    private static async Task<Request> ReadRequestAsync(Stream stream, CancellationToken cancellationToken)
    {
        var buffer = new List<byte>();
        var one = new byte[1];
        while (buffer.Count < 64 * 1024)
        {
            if (await stream.ReadAsync(one, cancellationToken) == 0) throw new EndOfStreamException();
            buffer.Add(one[0]);
            if (buffer.Count >= 4 && buffer[^4] == '\r' && buffer[^3] == '\n' && buffer[^2] == '\r' && buffer[^1] == '\n')
                break;
        }
        var lines = Encoding.ASCII.GetString(buffer.ToArray()).Split("\r\n");
        var requestLine = lines[0].Split(' ');
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var line in lines.Skip(1).Where(l => l.Length > 0))
        {
            var colon = line.IndexOf(':');
            headers[line[..colon].Trim()] = line[(colon + 1)..].Trim();
        }
        return new Request(requestLine[0], requestLine[1], headers);
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Stop();
        await _acceptLoop;
        foreach (var socket in _connections) socket.Dispose();
        _stop.Dispose();
    }
}
