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
