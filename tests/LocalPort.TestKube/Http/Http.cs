using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace LocalPort.TestKube.Http;

internal sealed class HttpRequest
{
    public required string Method { get; init; }
    public required string Target { get; init; }
    public required string Path { get; init; }
    public required Dictionary<string, string> Query { get; init; }
    public required Dictionary<string, string> Headers { get; init; }
    public byte[] Body { get; set; } = [];

    public string? Header(string name) => Headers.TryGetValue(name, out var value) ? value : null;

    public string? QueryValue(string name) => Query.TryGetValue(name, out var value) ? value : null;

    /// <summary>True if the comma-separated header <paramref name="name"/> holds <paramref name="token"/> (case-insensitive).</summary>
    public bool HeaderHasToken(string name, string token) =>
        Header(name)?.Split(',').Any(t => t.Trim().Equals(token, StringComparison.OrdinalIgnoreCase)) == true;
}

internal sealed class HttpResponse
{
    public int Status { get; init; } = 200;
    public string ContentType { get; init; } = "application/json";
    public byte[] Body { get; init; } = [];
    public List<KeyValuePair<string, string>> Headers { get; } = [];

    public static HttpResponse Text(int status, string text) =>
        new() { Status = status, ContentType = "text/plain; charset=utf-8", Body = Encoding.UTF8.GetBytes(text) };

    public static HttpResponse Json(int status, string json) =>
        new() { Status = status, ContentType = "application/json", Body = Encoding.UTF8.GetBytes(json) };
}

/// <summary>What the connection loop does after a request was handled.</summary>
internal enum Disposition
{
    KeepAlive,
    Close,
    /// <summary>The handler took the socket (protocol upgrade); the loop must not touch it again.</summary>
    Upgraded,
}

/// <summary>One accepted HTTP/1.1 connection: request parsing and response writing, enough for Go's net/http client.</summary>
internal sealed class HttpConnection(Socket socket, Stream stream)
{
    private const int MaxHeaderBytes = 64 * 1024;
    private byte[] _buffer = new byte[8192];
    private int _start, _end;

    public Socket Socket { get; } = socket;

    /// <summary>The byte stream: the socket itself, or TLS over it.</summary>
    public Stream Stream { get; } = stream;

    /// <summary>Bytes received past the last request (handed to an upgraded protocol).</summary>
    public byte[] TakeBuffered()
    {
        var rest = _buffer.AsSpan(_start, _end - _start).ToArray();
        _start = _end = 0;
        return rest;
    }

    public async Task<HttpRequest?> ReadRequestAsync(CancellationToken ct)
    {
        int headerEnd;
        while ((headerEnd = IndexOfHeaderEnd()) < 0)
        {
            if (_end - _start >= MaxHeaderBytes)
            {
                throw new InvalidDataException("request header too large");
            }
            if (!await FillAsync(ct))
            {
                if (_end > _start)
                {
                    throw new EndOfStreamException("connection closed mid-request");
                }
                return null;
            }
        }
        var head = Encoding.Latin1.GetString(_buffer, _start, headerEnd - _start);
        _start = headerEnd + 4;
        var lines = head.Split("\r\n");
        var requestLine = lines[0].Split(' ');
        if (requestLine.Length != 3 || !requestLine[2].StartsWith("HTTP/1.", StringComparison.Ordinal))
        {
            throw new InvalidDataException($"bad request line '{lines[0]}'");
        }
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var line in lines.Skip(1))
        {
            var colon = line.IndexOf(':');
            if (colon <= 0)
            {
                continue;
            }
            var name = line[..colon].Trim();
            var value = line[(colon + 1)..].Trim();
            headers[name] = headers.TryGetValue(name, out var existing) ? existing + ", " + value : value;
        }
        var target = requestLine[1];
        var question = target.IndexOf('?');
        var path = Uri.UnescapeDataString(question < 0 ? target : target[..question]);
        var query = new Dictionary<string, string>(StringComparer.Ordinal);
        if (question >= 0)
        {
            foreach (var part in target[(question + 1)..].Split('&', StringSplitOptions.RemoveEmptyEntries))
            {
                var eq = part.IndexOf('=');
                var key = Uri.UnescapeDataString((eq < 0 ? part : part[..eq]).Replace('+', ' '));
                var value = eq < 0 ? "" : Uri.UnescapeDataString(part[(eq + 1)..].Replace('+', ' '));
                query[key] = value;
            }
        }
        var request = new HttpRequest
        {
            Method = requestLine[0],
            Target = target,
            Path = path,
            Query = query,
            Headers = headers,
        };
        if (headers.TryGetValue("Transfer-Encoding", out var te) && te.Contains("chunked", StringComparison.OrdinalIgnoreCase))
        {
            request.Body = await ReadChunkedAsync(ct);
        }
        else if (headers.TryGetValue("Content-Length", out var cl) && long.TryParse(cl, out var length) && length > 0)
        {
            if (length > 16 * 1024 * 1024)
            {
                throw new InvalidDataException("request body too large");
            }
            request.Body = await ReadBytesAsync((int)length, ct);
        }
        return request;
    }

    public async Task WriteResponseAsync(HttpResponse response, bool keepAlive, CancellationToken ct)
    {
        var head = new StringBuilder();
        head.Append($"HTTP/1.1 {response.Status} {ReasonPhrase(response.Status)}\r\n");
        head.Append($"Content-Type: {response.ContentType}\r\n");
        head.Append($"Content-Length: {response.Body.Length}\r\n");
        head.Append($"Date: {DateTime.UtcNow:R}\r\n");
        head.Append("Cache-Control: no-cache, private\r\n");
        foreach (var (name, value) in response.Headers)
        {
            head.Append($"{name}: {value}\r\n");
        }
        if (!keepAlive)
        {
            head.Append("Connection: close\r\n");
        }
        head.Append("\r\n");
        await SendAsync(Encoding.Latin1.GetBytes(head.ToString()), ct);
        if (response.Body.Length > 0)
        {
            await SendAsync(response.Body, ct);
        }
    }

    /// <summary>Writes a raw head (status line + headers, no body framing): 101 upgrades, chunked watches.</summary>
    public Task WriteHeadAsync(int status, IEnumerable<KeyValuePair<string, string>> headers, CancellationToken ct)
    {
        var head = new StringBuilder();
        head.Append($"HTTP/1.1 {status} {ReasonPhrase(status)}\r\n");
        foreach (var (name, value) in headers)
        {
            head.Append($"{name}: {value}\r\n");
        }
        head.Append("\r\n");
        return SendAsync(Encoding.Latin1.GetBytes(head.ToString()), ct);
    }

    public async Task WriteChunkAsync(ReadOnlyMemory<byte> data, CancellationToken ct)
    {
        await SendAsync(Encoding.ASCII.GetBytes($"{data.Length:x}\r\n"), ct);
        if (!data.IsEmpty)
        {
            await SendAsync(data, ct);
        }
        await SendAsync("\r\n"u8.ToArray(), ct);
    }

    public async Task SendAsync(ReadOnlyMemory<byte> data, CancellationToken ct)
    {
        await Stream.WriteAsync(data, ct);
        await Stream.FlushAsync(ct);
    }

    private int IndexOfHeaderEnd() => _buffer.AsSpan(_start, _end - _start).IndexOf("\r\n\r\n"u8) is var i and >= 0 ? _start + i : -1;

    private async Task<bool> FillAsync(CancellationToken ct)
    {
        if (_start > 0 && _start == _end)
        {
            _start = _end = 0;
        }
        if (_end == _buffer.Length)
        {
            if (_start > 0)
            {
                Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
                _end -= _start;
                _start = 0;
            }
            else
            {
                Array.Resize(ref _buffer, _buffer.Length * 2);
            }
        }
        var n = await Stream.ReadAsync(_buffer.AsMemory(_end), ct);
        _end += n;
        return n > 0;
    }

    private async Task<byte[]> ReadBytesAsync(int count, CancellationToken ct)
    {
        var result = new byte[count];
        var filled = 0;
        while (filled < count)
        {
            if (_start == _end && !await FillAsync(ct))
            {
                throw new EndOfStreamException("connection closed mid-body");
            }
            var n = Math.Min(count - filled, _end - _start);
            Buffer.BlockCopy(_buffer, _start, result, filled, n);
            _start += n;
            filled += n;
        }
        return result;
    }

    private async Task<string> ReadLineAsync(CancellationToken ct)
    {
        while (true)
        {
            var i = _buffer.AsSpan(_start, _end - _start).IndexOf("\r\n"u8);
            if (i >= 0)
            {
                var line = Encoding.ASCII.GetString(_buffer, _start, i);
                _start += i + 2;
                return line;
            }
            if (!await FillAsync(ct))
            {
                throw new EndOfStreamException("connection closed mid-chunk");
            }
        }
    }

    private async Task<byte[]> ReadChunkedAsync(CancellationToken ct)
    {
        using var body = new MemoryStream();
        while (true)
        {
            var sizeLine = await ReadLineAsync(ct);
            var size = Convert.ToInt32(sizeLine.Split(';')[0].Trim(), 16);
            if (size == 0)
            {
                while ((await ReadLineAsync(ct)).Length > 0)
                {
                }
                return body.ToArray();
            }
            body.Write(await ReadBytesAsync(size, ct));
            await ReadLineAsync(ct);
        }
    }

    private static string ReasonPhrase(int status) => status switch
    {
        101 => "Switching Protocols",
        200 => "OK",
        201 => "Created",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    };
}

/// <summary>
/// A loopback TCP listener that can stop (refusing connections and dropping the open ones) and
/// start again on the same port: the "API server goes away and comes back" chaos.
/// </summary>
internal sealed class LoopbackHttpListener(
    string name,
    Func<HttpConnection, HttpRequest, CancellationToken, Task<Disposition>> handler,
    Action<string> log,
    System.Security.Cryptography.X509Certificates.X509Certificate2? certificate = null)
{
    private readonly ConcurrentDictionary<Socket, byte> _connections = new();
    private readonly object _gate = new();
    private Socket? _listener;
    private CancellationTokenSource? _cts;
    private Task _acceptLoop = Task.CompletedTask;

    public int Port { get; private set; }

    public bool IsListening
    {
        get
        {
            lock (_gate)
            {
                return _listener is not null;
            }
        }
    }

    public void Start(int port)
    {
        lock (_gate)
        {
            if (_listener is not null)
            {
                return;
            }
            var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            // Rebinding the same port right after a stop must work despite connections in TIME_WAIT.
            listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            try
            {
                listener.Bind(new IPEndPoint(IPAddress.Loopback, port));
                listener.Listen(128);
            }
            catch
            {
                listener.Dispose();
                throw;
            }
            _listener = listener;
            Port = ((IPEndPoint)listener.LocalEndPoint!).Port;
            _cts = new CancellationTokenSource();
            var ct = _cts.Token;
            _acceptLoop = Task.Run(() => AcceptLoopAsync(listener, ct));
        }
    }

    /// <summary>Stops listening (new connections are refused) and resets every open connection.</summary>
    public void Stop()
    {
        Socket? listener;
        lock (_gate)
        {
            listener = _listener;
            _listener = null;
            _cts?.Cancel();
        }
        listener?.Dispose();
        foreach (var socket in _connections.Keys)
        {
            Spdy.Sockets.Reset(socket);
        }
        _connections.Clear();
    }

    /// <summary>Hands a connection's socket to a new owner (an upgraded protocol); it is no longer tracked here.</summary>
    public void Release(Socket socket) => _connections.TryRemove(socket, out _);

    private async Task AcceptLoopAsync(Socket listener, CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await listener.AcceptAsync(ct);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }
            socket.NoDelay = true;
            _connections[socket] = 0;
            _ = Task.Run(() => ServeAsync(socket, ct));
        }
    }

    private async Task ServeAsync(Socket socket, CancellationToken ct)
    {
        var upgraded = false;
        Stream? stream = null;
        try
        {
            stream = new NetworkStream(socket, ownsSocket: false);
            if (certificate is not null)
            {
                var tls = new System.Net.Security.SslStream(stream, leaveInnerStreamOpen: false);
                using var handshake = CancellationTokenSource.CreateLinkedTokenSource(ct);
                handshake.CancelAfter(TimeSpan.FromSeconds(10));
                await tls.AuthenticateAsServerAsync(new System.Net.Security.SslServerAuthenticationOptions
                {
                    ServerCertificate = certificate,
                    // HTTP/1.1 only: kubectl's upgrades (SPDY, WebSocket) need it, and Go then skips h2.
                    ApplicationProtocols = [System.Net.Security.SslApplicationProtocol.Http11],
                    ClientCertificateRequired = false,
                }, handshake.Token);
                stream = tls;
            }
            var connection = new HttpConnection(socket, stream);
            while (!ct.IsCancellationRequested)
            {
                var request = await connection.ReadRequestAsync(ct);
                if (request is null)
                {
                    return;
                }
                var disposition = await handler(connection, request, ct);
                if (disposition == Disposition.Upgraded)
                {
                    upgraded = true;
                    _connections.TryRemove(socket, out _);
                    return;
                }
                if (disposition == Disposition.Close)
                {
                    return;
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or SocketException or ObjectDisposedException or System.Security.Authentication.AuthenticationException)
        {
        }
        catch (Exception e)
        {
            log($"{name}: connection failed: {e}");
        }
        finally
        {
            if (!upgraded)
            {
                stream?.Dispose();
                _connections.TryRemove(socket, out _);
                try
                {
                    socket.Shutdown(SocketShutdown.Both);
                }
                catch (Exception e) when (e is SocketException or ObjectDisposedException)
                {
                }
                socket.Dispose();
            }
        }
    }
}
