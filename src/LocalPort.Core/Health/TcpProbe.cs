using System.Net.Sockets;
using LocalPort.Core.Relay;

namespace LocalPort.Core.Health;

/// <summary>
/// Connects to the local port and watches briefly for the far side hanging up. Through ssh,
/// kubectl or our relay the local connect always succeeds; a dead far side shows up as an
/// immediate EOF or reset instead, which the probe looks for once the window is over: a check takes no
/// event-loop registration, no pending receive and no thread hand-off of its own. When the port is served by this
/// process's own relay, the relay makes the dial a client's connection would get and the probe's loopback connection
/// to it is skipped (<see cref="RelayListener.DialCheckAsync"/>: half of a check's cost, and the same verdicts).
/// </summary>
public sealed class TcpProbe : IHealthProbe
{
    private static readonly TimeSpan MaxWatch = TimeSpan.FromMilliseconds(300);

    private readonly int _port;
    private readonly TimeSpan _timeout;
    private readonly TimeSpan _watch;

    /// <summary>Always connect to the port, even when this process's own relay serves it (tests of the relay's side of a check).</summary>
    internal bool ThroughPort { get; init; }

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
            if (!ThroughPort && _watch > TimeSpan.Zero && RelayListener.On(_port) is { } relay
                && await relay.DialCheckAsync(EndOnGrid(_watch), cancellationToken).ConfigureAwait(false) is { } alive)
                return alive ? ProbeResult.Ok : ProbeResult.Fail(ProbeErrors.ClosedByFarSide);
            using var socket = Loopback.ConnectNow(_port) ?? await Loopback.ConnectAsync(_port, cancellationToken).ConfigureAwait(false);
            if (_watch <= TimeSpan.Zero) return ProbeResult.Ok;
            await Task.Delay(EndOnGrid(_watch), cancellationToken).ConfigureAwait(false);
            return Verdict(socket);
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
    /// The far side's answer after the window, looked up without reading or waiting (<see cref="Hangup.FarSideGone"/>).
    /// Nothing is pending on the socket, so closing it sends a FIN (a reset only if a banner is left unread).
    /// </summary>
    private static ProbeResult Verdict(Socket socket) =>
        Hangup.FarSideGone(socket) ? ProbeResult.Fail(ProbeErrors.ClosedByFarSide) : ProbeResult.Ok;

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
}
