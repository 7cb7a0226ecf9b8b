using System.Net.Sockets;

namespace LocalPort.Core.Relay;

/// <summary>
/// Whether a client has hung up (sent FIN or RST), told without reading its bytes: from the TCP state
/// where the kernel gives it (Linux TCP_INFO, macOS TCP_CONNECTION_INFO), else from a readable socket with
/// nothing to read.
/// </summary>
internal static class Hangup
{
    private const int IpProtoTcp = 6;
    private const int LinuxTcpInfo = 11;
    private const int MacTcpConnectionInfo = 0x106;
    // tcpi_state is the first byte of both structs. Linux: TCP_CLOSE 7, TCP_CLOSE_WAIT 8; macOS: CLOSED 0, CLOSE_WAIT 5.
    private const byte LinuxClose = 7, LinuxCloseWait = 8, MacClosed = 0, MacCloseWait = 5;

    /// <summary>
    /// A check's verdict on its connection once its window is over: the far side hung up and left nothing to read.
    /// Bytes waiting mean something live answered (server-speaks-first protocols); silence means it kept the connection
    /// open. The TCP state is read first: a far side still there (every passing check) needs no second system call.
    /// </summary>
    public static bool FarSideGone(Socket socket) => Detected(socket) && socket.Available == 0;

    public static bool Detected(Socket socket)
    {
        try
        {
            if (TcpState(socket) is { } state)
                return OperatingSystem.IsMacOS() ? state is MacClosed or MacCloseWait : state is LinuxClose or LinuxCloseWait;
            return socket.Poll(0, SelectMode.SelectRead) && socket.Available == 0;
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // A socket that can no longer be polled is broken: nobody is waiting on it.
            return true;
        }
    }

    private static byte? TcpState(Socket socket)
    {
        var name = OperatingSystem.IsLinux() ? LinuxTcpInfo : OperatingSystem.IsMacOS() ? MacTcpConnectionInfo : 0;
        if (name == 0) return null;
        Span<byte> info = stackalloc byte[256];
        try
        {
            return socket.GetRawSocketOption(IpProtoTcp, name, info) > 0 ? info[0] : null;
        }
        catch (SocketException)
        {
            return null;
        }
    }
}
