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

    /// <summary>
    /// The window, cut to end on a shared grid of a sixth of its length: checks that start together (same-interval
    /// checks tick together) end together, and the runtime's timer wakes once for all of them instead of once each.
    /// </summary>
    internal static TimeSpan EndOnGrid(TimeSpan watch)
    {
        var grid = (long)watch.TotalMilliseconds / 6;
        if (grid < 1) return watch;
        var now = Environment.TickCount64;
        var end = (now + (long)watch.TotalMilliseconds) / grid * grid;
        return TimeSpan.FromMilliseconds(end - now);
    }

    private async Task<ProbeResult> WatchForHangUpAsync(Socket socket, CancellationToken cancellationToken)
    {
        if (_watch <= TimeSpan.Zero) return ProbeResult.Ok;
        // A receive raced against the window, neither cancelled: a healthy far side is silent for the whole window,
        // and ending that with a cancelled receive would throw an exception on every passing check. Shutting the
        // socket down ends the receive quietly (as end of stream) and sends a FIN; closing it with the receive still
        // pending would reset the connection, and the relay on the far side would pay an exception for that.
        using var receive = new SocketAsyncEventArgs();
        receive.SetBuffer(new byte[1], 0, 1);
        var received = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        receive.Completed += (_, _) => received.TrySetResult();
        if (!socket.ReceiveAsync(receive)) received.TrySetResult();
        var window = Task.Delay(EndOnGrid(_watch), cancellationToken);
        await Task.WhenAny(received.Task, window).ConfigureAwait(false);
        if (!received.Task.IsCompleted)
        {
            socket.Shutdown(SocketShutdown.Both);
            await received.Task.ConfigureAwait(false);
            // Silence for the whole window: the far side kept the connection open (unless the check itself timed out).
            return cancellationToken.IsCancellationRequested ? ProbeResult.Fail(ProbeErrors.TimedOut(_timeout)) : ProbeResult.Ok;
        }
        // Data means something live answered (server-speaks-first protocols); EOF or a reset means nobody is there.
        return receive.SocketError switch
        {
            SocketError.Success when receive.BytesTransferred > 0 => ProbeResult.Ok,
            SocketError.Success => ProbeResult.Fail(ProbeErrors.ClosedByFarSide),
            var error => ProbeResult.Fail(ProbeErrors.Describe(error)),
        };
    }
}
