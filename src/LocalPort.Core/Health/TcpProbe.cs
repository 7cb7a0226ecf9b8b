using System.Net.Sockets;

namespace LocalPort.Core.Health;

/// <summary>
/// Connects to the local port and watches briefly for the far side hanging up. Through ssh,
/// kubectl or our relay the local connect always succeeds; a dead far side shows up as an
/// immediate EOF or reset instead.
/// </summary>
public sealed class TcpProbe : IHealthProbe
{
    private static readonly TimeSpan MaxWatch = TimeSpan.FromMilliseconds(300);

    private readonly int _port;
    private readonly TimeSpan _timeout;
    private readonly TimeSpan _watch;

    public TcpProbe(int port, TimeSpan timeout)
    {
        _port = port;
        _timeout = timeout;
        var half = timeout / 2;
        _watch = half < MaxWatch ? half : MaxWatch;
    }

    public async Task<ProbeResult> CheckAsync(CancellationToken cancellationToken)
    {
        try
        {
            using var socket = await Loopback.ConnectAsync(_port, cancellationToken).ConfigureAwait(false);
            return await WatchForHangUpAsync(socket, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception) when (cancellationToken.IsCancellationRequested)
        {
            return ProbeResult.Fail(ProbeErrors.TimedOut(_timeout));
        }
        catch (Exception e)
        {
            return ProbeResult.Fail(ProbeErrors.Describe(e));
        }
    }

    private async Task<ProbeResult> WatchForHangUpAsync(Socket socket, CancellationToken cancellationToken)
    {
        if (_watch <= TimeSpan.Zero) return ProbeResult.Ok;
        using var window = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        window.CancelAfter(_watch);
        var buffer = new byte[1];
        try
        {
            var read = await socket.ReceiveAsync(buffer, SocketFlags.None, window.Token).ConfigureAwait(false);
            // Data means something live answered (server-speaks-first protocols); EOF means nobody is there.
            return read > 0 ? ProbeResult.Ok : ProbeResult.Fail(ProbeErrors.ClosedByFarSide);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // Silence for the whole window: the far side kept the connection open.
            return ProbeResult.Ok;
        }
    }
}
