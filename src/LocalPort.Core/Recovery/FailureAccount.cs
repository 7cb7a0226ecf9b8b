using LocalPort.Core.Config;

namespace LocalPort.Core.Recovery;

/// <summary>What to do after a tunnel failed: start the next one after <see cref="Delay"/>, or give up for now.</summary>
/// <param name="GaveUp">True the first time the policy gives up (the service becomes failed); later retries of a failed service are false.</param>
/// <param name="Incident">True when a proven tunnel dropped (not a start failure).</param>
public readonly record struct RecoveryDecision(TimeSpan Delay, bool GaveUp, bool Incident, int Count);

/// <summary>
/// Failure accounting for one forward, in the user's sense of "failed". A tunnel that became ready and then proved
/// itself (passed a health check or carried an exchange) succeeded; when it later drops that is a new incident,
/// retried at once, and only damped (backed off) when it drops within <see cref="FlapWindow"/> of becoming ready
/// more than <see cref="FreeFlaps"/> times in a row. Giving up is reserved for tunnels that never prove themselves <c>max_attempts</c> times in a row; a
/// failed service is then retried every <c>max_delay</c> until one does. No two attempts start closer than
/// <see cref="RetryFloor"/>, whatever the policy says. A clock that jumps (wall time) never stretches a wait beyond the floor.
/// </summary>
public sealed class FailureAccount(RestartPolicy policy)
{
    /// <summary>The least time between the starts of two attempts: no policy can make a hot loop.</summary>
    public static readonly TimeSpan RetryFloor = TimeSpan.FromMilliseconds(200);
    /// <summary>A proven tunnel that drops sooner than this after becoming ready is flapping.</summary>
    public static readonly TimeSpan FlapWindow = TimeSpan.FromSeconds(1);
    /// <summary>Flaps in a row that are still replaced at once (someone killing it by hand, a rollout); damping starts after.</summary>
    public const int FreeFlaps = 10;
    /// <summary>A failed service is retried at most this often, even with max_delay 0.</summary>
    public static readonly TimeSpan FailedRetryFloor = TimeSpan.FromSeconds(1);

    private TimeSpan? _lastAttempt;
    private TimeSpan? _readyAt;
    private TimeSpan? _provenAt;

    public RestartPolicy Policy { get; set; } = policy;
    /// <summary>Tunnels in a row that never proved themselves.</summary>
    public int StartFailures { get; private set; }
    /// <summary>Proven tunnels in a row that dropped within the flap window (cleared by <c>reset_after</c> of uptime).</summary>
    public int Flaps { get; private set; }
    /// <summary>The policy gave up; retries now come every max_delay.</summary>
    public bool GaveUp { get; private set; }
    /// <summary>The current tunnel has proved itself.</summary>
    public bool IsProven => _provenAt is not null;

    public void Started(TimeSpan now)
    {
        _lastAttempt = now;
        _readyAt = null;
        _provenAt = null;
    }

    /// <summary>The current tunnel accepts connections (not yet proof that it works).</summary>
    public void Ready(TimeSpan now) => _readyAt = now;

    /// <summary>The current tunnel carried traffic or passed a check: whatever failed before is forgiven.</summary>
    /// <remarks>Its uptime counts from when it became ready.</remarks>
    public void Proven(TimeSpan now)
    {
        _provenAt ??= _readyAt ?? now;
        StartFailures = 0;
        GaveUp = false;
    }

    /// <summary>A fresh start by hand (restart, reload, wake): every count is cleared.</summary>
    public void Forgive()
    {
        StartFailures = 0;
        Flaps = 0;
        GaveUp = false;
    }

    /// <summary>The current tunnel failed (exited, unhealthy, never ready).</summary>
    /// <param name="random">A value in [0,1) for the jitter.</param>
    public RecoveryDecision Failed(TimeSpan now, double random)
    {
        var proven = _provenAt;
        _provenAt = null;
        _readyAt = null;
        if (!Policy.Enabled) return GiveUp(now, ++StartFailures);
        if (proven is { } provenAt)
        {
            var uptime = now - provenAt;
            if (uptime < TimeSpan.Zero) uptime = FlapWindow; // the clock went back: no evidence of flapping
            if (uptime >= Policy.ResetAfter) Flaps = 0;
            if (uptime < FlapWindow) Flaps++;
            var damped = uptime < FlapWindow && Flaps > FreeFlaps ? Backoff.Delay(Policy, Flaps - FreeFlaps + 1, random) : TimeSpan.Zero;
            return new RecoveryDecision(Later(now, damped), false, true, Flaps);
        }
        StartFailures++;
        if (GaveUp || !Backoff.MayRetry(Policy, StartFailures)) return GiveUp(now, StartFailures);
        return new RecoveryDecision(Later(now, Backoff.Delay(Policy, StartFailures, random)), false, false, StartFailures);
    }

    private RecoveryDecision GiveUp(TimeSpan now, int count)
    {
        var first = !GaveUp;
        GaveUp = true;
        return new RecoveryDecision(Later(now, FailedRetry), first, false, count);
    }

    /// <summary>How often a failed service is tried again; Timeout.InfiniteTimeSpan (never) when restarts are disabled.</summary>
    public TimeSpan FailedRetry => !Policy.Enabled ? Timeout.InfiniteTimeSpan
        : Policy.MaxDelay < FailedRetryFloor ? FailedRetryFloor
        : Policy.MaxDelay > Backoff.Ceiling ? Backoff.Ceiling
        : Policy.MaxDelay;

    private static TimeSpan Clamp(TimeSpan value, TimeSpan min, TimeSpan max) => value < min ? min : value > max ? max : value;

    private TimeSpan Later(TimeSpan now, TimeSpan delay)
    {
        if (delay == Timeout.InfiniteTimeSpan) return delay;
        var floor = _lastAttempt is { } last ? Clamp(last + RetryFloor - now, TimeSpan.Zero, RetryFloor) : TimeSpan.Zero;
        return delay > floor ? delay : floor;
    }
}
