using LocalPort.Core.Config;

namespace LocalPort.Core.Recovery;

/// <summary>Restart delays: the first retry is immediate, then initial·multiplier^(n−1) capped at max, with jitter.</summary>
public static class Backoff
{
    /// <param name="failures">Consecutive failures so far, counting the one that just happened (1 = first failure).</param>
    /// <param name="random">A value in [0,1); injected so tests are deterministic.</param>
    public static TimeSpan Delay(RestartPolicy policy, int failures, double random)
    {
        if (failures <= 1) return TimeSpan.Zero;
        var retry = failures - 1;
        var seconds = policy.InitialDelay.TotalSeconds * Math.Pow(policy.BackoffMultiplier, retry - 1);
        seconds = Math.Min(seconds, policy.MaxDelay.TotalSeconds);
        var spread = seconds * policy.Jitter * (2 * random - 1);
        return TimeSpan.FromSeconds(Math.Clamp(seconds + spread, 0, policy.MaxDelay.TotalSeconds));
    }

    /// <summary>True when another restart is allowed after <paramref name="failures"/> consecutive failures.</summary>
    public static bool MayRetry(RestartPolicy policy, int failures) =>
        policy.Enabled && (policy.MaxAttempts == 0 || failures <= policy.MaxAttempts);
}
