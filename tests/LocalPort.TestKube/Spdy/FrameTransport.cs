using System.Net.Sockets;
using System.Net.WebSockets;

namespace LocalPort.TestKube.Spdy;

/// <summary>The byte pipe a SPDY session runs over: the upgraded TCP connection, or WebSocket binary messages.</summary>
internal interface IFrameTransport : IAsyncDisposable
{
    /// <summary>Reads some bytes; 0 means the peer closed.</summary>
    ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct);

    /// <summary>Writes one whole frame (one WebSocket message when tunnelled).</summary>
    ValueTask WriteAsync(ReadOnlyMemory<byte> frame, CancellationToken ct);

    /// <summary>An orderly close: TCP FIN, or a WebSocket close frame (1000) and then FIN.</summary>
    Task CloseAsync();

    /// <summary>A crash-like close: TCP RST.</summary>
    void Abort();
}

/// <summary>SPDY/3.1 straight on the upgraded HTTP/1.1 connection.</summary>
internal sealed class TcpFrameTransport(Socket socket, Stream stream, byte[] leftover) : IFrameTransport
{
    private byte[] _leftover = leftover;

    public async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct)
    {
        if (_leftover.Length > 0)
        {
            var n = Math.Min(buffer.Length, _leftover.Length);
            _leftover.AsMemory(0, n).CopyTo(buffer);
            _leftover = _leftover[n..];
            return n;
        }
        return await stream.ReadAsync(buffer, ct);
    }

    public async ValueTask WriteAsync(ReadOnlyMemory<byte> frame, CancellationToken ct)
    {
        await stream.WriteAsync(frame, ct);
        await stream.FlushAsync(ct);
    }

    public async Task CloseAsync()
    {
        try
        {
            if (stream is System.Net.Security.SslStream tls)
            {
                await tls.ShutdownAsync();
            }
            socket.Shutdown(SocketShutdown.Both);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or IOException or InvalidOperationException)
        {
        }
        await stream.DisposeAsync();
        socket.Dispose();
    }

    public void Abort() => Sockets.Reset(socket);

    public async ValueTask DisposeAsync()
    {
        try
        {
            await stream.DisposeAsync();
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or SocketException)
        {
        }
        socket.Dispose();
    }
}

/// <summary>
/// SPDY tunnelled in WebSocket binary messages (subprotocol <c>SPDY/3.1+portforward.k8s.io</c>), as
/// kubectl ≥ 1.31 tries first. kubectl writes each SPDY field as its own message, so the
/// messages are a byte stream, not frame boundaries; this side sends one message per frame.
/// </summary>
internal sealed class WebSocketFrameTransport(WebSocket webSocket, Socket socket) : IFrameTransport
{
    public async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct)
    {
        while (true)
        {
            ValueWebSocketReceiveResult result;
            try
            {
                result = await webSocket.ReceiveAsync(buffer, ct);
            }
            catch (WebSocketException) when (!ct.IsCancellationRequested)
            {
                return 0;
            }
            if (result.MessageType == WebSocketMessageType.Close)
            {
                return 0;
            }
            if (result.MessageType != WebSocketMessageType.Binary)
            {
                throw new InvalidDataException("text message on a SPDY tunnel");
            }
            if (result.Count > 0)
            {
                return result.Count;
            }
        }
    }

    public ValueTask WriteAsync(ReadOnlyMemory<byte> frame, CancellationToken ct) =>
        webSocket.SendAsync(frame, WebSocketMessageType.Binary, endOfMessage: true, ct);

    public async Task CloseAsync()
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(1));
            if (webSocket.State is WebSocketState.Open or WebSocketState.CloseReceived)
            {
                await webSocket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "", timeout.Token);
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException or IOException)
        {
        }
        try
        {
            socket.Shutdown(SocketShutdown.Both);
        }
        catch (SocketException) { }
        catch (ObjectDisposedException) { }
        webSocket.Dispose();
        socket.Dispose();
    }

    public void Abort()
    {
        Sockets.Reset(socket);
        webSocket.Abort();
    }

    public ValueTask DisposeAsync()
    {
        webSocket.Dispose();
        socket.Dispose();
        return ValueTask.CompletedTask;
    }
}

internal static class Sockets
{
    /// <summary>Closes with SO_LINGER 0, so the peer sees a reset rather than an orderly FIN.</summary>
    public static void Reset(Socket socket)
    {
        try
        {
            socket.LingerState = new LingerOption(true, 0);
        }
        catch (SocketException) { }
        catch (ObjectDisposedException) { }
        socket.Dispose();
    }
}
