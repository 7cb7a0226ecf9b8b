using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace LocalPort.Core.Health;

/// <summary>Plain-socket plumbing shared by the wire-protocol probes.</summary>
internal static partial class Loopback
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
    /// Connects without the event loop where the kernel can (Linux): to a loopback listener with room in its backlog
    /// the handshake is over by the time connect() returns, even on a non-blocking socket. Null when it is not (a full
    /// backlog holds the SYN back, nothing listens, another system): the caller then connects the usual way, which
    /// also names any error. connect(2) is called directly: .NET's non-blocking Connect throws for "in progress", and
    /// an exception per check cost more than the event loop it saves. The socket is left non-blocking and, to .NET,
    /// unconnected: for callers that only look at its state and close it.
    /// </summary>
    public static Socket? ConnectNow(int port)
    {
        if (!OperatingSystem.IsLinux()) return null;
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { Blocking = false };
        try
        {
            // struct sockaddr_in: family AF_INET (host order), port (network order), 127.0.0.1, zero padding.
            Span<byte> address = stackalloc byte[16];
            address.Clear();
            address[0] = (byte)AddressFamily.InterNetwork;
            address[2] = (byte)(port >> 8);
            address[3] = (byte)port;
            address[4] = 127;
            address[7] = 1;
            const int einprogress = 115;
            var done = Connect(socket.SafeHandle.DangerousGetHandle(), in address[0], address.Length) == 0
                       || Marshal.GetLastPInvokeError() == einprogress && socket.Poll(0, SelectMode.SelectWrite)
                       && (int)socket.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.Error)! == 0;
            if (done) return socket;
        }
        catch (SocketException)
        {
        }
        socket.Dispose();
        return null;
    }

    [LibraryImport("libc", EntryPoint = "connect", SetLastError = true)]
    private static partial int Connect(nint socket, in byte address, int length);

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
