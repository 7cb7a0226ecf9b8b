using System.Net;
using System.Net.Sockets;

namespace LocalPort.Core.Health;

/// <summary>Plain-socket plumbing shared by the wire-protocol probes.</summary>
internal static class Loopback
{
    public static async Task<Socket> ConnectAsync(int port, CancellationToken cancellationToken)
    {
        // No TCP_NODELAY: a probe writes one request and waits for its answer, and a first segment is never held back.
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), cancellationToken).ConfigureAwait(false);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Connects without the event loop where the kernel can: to a loopback listener with room in its backlog the
    /// handshake is over by the time connect() returns, even on a non-blocking socket. Null when it is not (a full
    /// backlog holds the SYN back); the caller then connects the usual way. The socket is left non-blocking and, to
    /// .NET, unconnected: for callers that only look at its state and close it.
    /// </summary>
    public static Socket? ConnectNow(int port)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { Blocking = false };
        try
        {
            socket.Connect(new IPEndPoint(IPAddress.Loopback, port));
            return socket;
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.WouldBlock or SocketError.InProgress)
        {
            if (!socket.Poll(0, SelectMode.SelectWrite))
            {
                socket.Dispose();
                return null;
            }
            var error = (SocketError)(int)socket.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.Error)!;
            if (error == SocketError.Success) return socket;
            socket.Dispose();
            throw new SocketException((int)error);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Fills <paramref name="buffer"/> or throws <see cref="EndOfStreamException"/> when the far side closes.</summary>
    public static async Task ReadExactlyAsync(Socket socket, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        while (!buffer.IsEmpty)
        {
            var read = await socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken).ConfigureAwait(false);
            if (read == 0) throw new EndOfStreamException();
            buffer = buffer[read..];
        }
    }

    public static async Task SendAllAsync(Socket socket, ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        while (!data.IsEmpty)
        {
            var sent = await socket.SendAsync(data, SocketFlags.None, cancellationToken).ConfigureAwait(false);
            data = data[sent..];
        }
    }
}
