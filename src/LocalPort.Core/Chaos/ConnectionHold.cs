using System.Net;
using System.Net.Sockets;

namespace LocalPort.Core.Chaos;

/// <summary>
/// A chaos fault: clients that connect to a local port and hold their connections open without a word, as a
/// leaking or stuck client would, until disposed. Opening stops early when the process runs out of descriptors.
/// </summary>
public sealed class ConnectionHold : IDisposable
{
    private readonly List<Socket> _sockets;

    private ConnectionHold(List<Socket> sockets, string? stoppedBy)
    {
        _sockets = sockets;
        StoppedBy = stoppedBy;
    }

    public int Count => _sockets.Count;
    /// <summary>Why fewer connections than asked were opened (e.g. too many open files), or null.</summary>
    public string? StoppedBy { get; }

    public static async Task<ConnectionHold> OpenAsync(int port, int count, TimeSpan connectTimeout)
    {
        var sockets = new List<Socket>(count);
        string? stoppedBy = null;
        for (var i = 0; i < count; i++)
        {
            Socket? socket = null;
            try
            {
                socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                using var timeout = new CancellationTokenSource(connectTimeout);
                await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), timeout.Token).ConfigureAwait(false);
                sockets.Add(socket);
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException)
            {
                socket?.Dispose();
                stoppedBy = e is SocketException s ? s.SocketErrorCode.ToString() : "connect timed out";
                break;
            }
        }
        return new ConnectionHold(sockets, stoppedBy);
    }

    public void Dispose()
    {
        foreach (var socket in _sockets) socket.Dispose();
        _sockets.Clear();
    }
}
