using LocalPort.Core.Config;
using LocalPort.Core.Recovery;

namespace LocalPort.Core.Forwarding;

/// <summary>
/// When a connection group may start another ssh master, and what a master that ended before it was ready means for
/// the services waiting on it. Pure rules, on a clock its owner passes in (monotonic, virtual in tests).
/// </summary>
public sealed class SshMasterStarts
{
    /// <summary>A failed start answers requests for this long with its reason, without another handshake.</summary>
    public static readonly TimeSpan FailureReuse = TimeSpan.FromSeconds(1);
    /// <summary>Masters killed by someone's signal while connecting are replaced this many times in a row for the same waiters.</summary>
    public const int MaxKilledWhileStarting = 3;

    private TimeSpan? _lastStart;
    private (string Reason, TimeSpan At)? _lastFailure;
    private int _killedWhileStarting;
    private int _standbyFailures;
    private TimeSpan _standbyNotBefore;

    /// <summary>How long until another master may start (zero: now). No two start closer than the retry floor.</summary>
    public TimeSpan WaitBeforeStart(TimeSpan now) =>
        _lastStart is { } last && last + FailureAccount.RetryFloor > now ? last + FailureAccount.RetryFloor - now : TimeSpan.Zero;

    public void Started(TimeSpan now) => _lastStart = now;

    /// <summary>The active master authenticated: earlier failures are forgiven.</summary>
    public void Up()
    {
        _killedWhileStarting = 0;
        _lastFailure = null;
    }

    /// <summary>The reason of a start that failed within <see cref="FailureReuse"/>, to answer a new request with; else null.</summary>
    public string? RecentFailure(TimeSpan now) => _lastFailure is { } failure && now - failure.At < FailureReuse ? failure.Reason : null;

    /// <summary>
    /// The active master ended before it was ready. True: the waiting services fail with <paramref name="reason"/> (ssh
    /// gave up, or it timed out). False: it was killed by a signal (kill -9, the OOM killer), not its own failure, and they
    /// wait for the next one, at most <see cref="MaxKilledWhileStarting"/> times in a row.
    /// </summary>
    public bool FailsWaiting(TimeSpan now, int exitCode, bool timedOut, string reason)
    {
        if (!timedOut && SshMaster.EndedBySignal(exitCode) && ++_killedWhileStarting <= MaxKilledWhileStarting) return false;
        _killedWhileStarting = 0;
        _lastFailure = (reason, now);
        return true;
    }

    /// <summary>No master could even be launched (no executable): the waiting services fail, and so do new ones for a moment.</summary>
    public void LaunchFailed(TimeSpan now, string reason) => _lastFailure = (reason, now);

    /// <summary>How long until a standby may start (zero: now).</summary>
    public TimeSpan WaitBeforeStandby(TimeSpan now) => _standbyNotBefore > now ? _standbyNotBefore - now : TimeSpan.Zero;

    public void StandbyUp() => _standbyFailures = 0;

    /// <summary>The standby was promoted: the next may start at once.</summary>
    public void StandbyPromoted(TimeSpan now) => _standbyNotBefore = now;

    /// <summary>A standby ended (or could not be launched); one that never became ready backs off with the default policy.</summary>
    /// <param name="random">A value in [0,1) for the jitter.</param>
    public void StandbyEnded(TimeSpan now, bool wasReady, double random)
    {
        if (!wasReady) _standbyFailures++;
        var delay = Backoff.Delay(RestartPolicy.Default, _standbyFailures + 1, random);
        _standbyNotBefore = now + (delay < FailureAccount.RetryFloor ? FailureAccount.RetryFloor : delay);
    }
}
