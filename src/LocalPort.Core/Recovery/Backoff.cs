using LocalPort.Core.Config;

namespace LocalPort.Core.Recovery;

/// <summary>Restart delays: the first retry is immediate, then initial·multiplier^(n−1) capped at max, with jitter.</summary>
public static class Backoff
{
    /// <summary>No delay is ever longer than this, whatever the file says (timers beyond it are not kept reliably).</summary>
    public static readonly TimeSpan Ceiling = TimeSpan.FromHours(24);

    /// <param name="failures">Consecutive failures so far, counting the one that just happened (1 = first failure).</param>
    /// <param name="random">A value in [0,1); injected so tests are deterministic.</param>
    public static TimeSpan Delay(RestartPolicy policy, int failures, double random)
    {
        if (failures <= 1) return TimeSpan.Zero;
        var cap = Clamp(policy.MaxDelay.TotalSeconds, 0, Ceiling.TotalSeconds);
        var initial = Clamp(policy.InitialDelay.TotalSeconds, 0, cap);
        var multiplier = double.IsFinite(policy.BackoffMultiplier) ? Math.Max(policy.BackoffMultiplier, 1) : 1;
        // The exponent is compared in log space first, so no power can overflow into infinity (and 0 × ∞ into NaN).
        var exponent = failures - 2;
        var seconds = initial <= 0 ? 0
            : exponent * Math.Log(multiplier) >= Math.Log(cap / initial) ? cap
            : initial * Math.Pow(multiplier, exponent);
        seconds = Math.Min(seconds, cap);
        var jitter = Clamp(policy.Jitter, 0, 1);
        var spread = seconds * jitter * (2 * Clamp(random, 0, 1) - 1);
        return TimeSpan.FromSeconds(Clamp(seconds + spread, 0, cap));
    }

    /// <summary>True when another restart is allowed after <paramref name="failures"/> consecutive failures.</summary>
    public static bool MayRetry(RestartPolicy policy, int failures) =>
        policy.Enabled && (policy.MaxAttempts == 0 || failures <= policy.MaxAttempts);

    private static double Clamp(double value, double min, double max) => double.IsNaN(value) ? min : Math.Clamp(value, min, max);
}
