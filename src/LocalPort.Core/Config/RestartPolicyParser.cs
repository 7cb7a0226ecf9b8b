namespace LocalPort.Core.Config;

/// <summary>Reads <c>restart_policy</c> (the service's keys over <c>defaults.restart_policy</c>).</summary>
internal static class RestartPolicyParser
{
    private static readonly string[] Keys =
        ["enabled", "max_attempts", "initial_delay", "max_delay", "backoff_multiplier", "jitter", "reset_after"];

    public static RestartPolicy Parse(ConfigSection section, LoadContext context)
    {
        var read = context.Reader;
        var fallback = RestartPolicy.Default;
        section.WarnUnknownKeys(context.Bag, Keys);

        var policy = new RestartPolicy(
            read.Bool(section, "enabled", fallback.Enabled),
            read.Int(section, "max_attempts", fallback.MaxAttempts, 0, int.MaxValue),
            read.Duration(section, "initial_delay", fallback.InitialDelay, allowZero: true),
            read.Duration(section, "max_delay", fallback.MaxDelay, allowZero: true),
            read.Double(section, "backoff_multiplier", fallback.BackoffMultiplier, 1, 1000),
            read.Double(section, "jitter", fallback.Jitter, 0, 1),
            read.Duration(section, "reset_after", fallback.ResetAfter, allowZero: true));

        // Backoff caps every delay at max_delay, so the file would silently not mean what it says.
        if (policy.MaxDelay < policy.InitialDelay && section.Get("max_delay") is { } maxDelay)
            context.Bag.Warning(maxDelay.Node.Start,
                $"{maxDelay.Path}: {Durations.Format(policy.MaxDelay)} is shorter than initial_delay {Durations.Format(policy.InitialDelay)}; every retry will wait {Durations.Format(policy.MaxDelay)}");
        // Not an error (upstream files may say it), but the file should not pretend it means "no delay at all".
        if (policy.Enabled && policy.MaxDelay == TimeSpan.Zero && section.Get("max_delay") is { } noDelay)
            context.Bag.Warning(noDelay.Node.Start,
                $"{noDelay.Path}: 0 means retrying as fast as LocalPort allows (every {Durations.Format(Recovery.FailureAccount.RetryFloor)}, " +
                $"and a failed service every {Durations.Format(Recovery.FailureAccount.FailedRetryFloor)}); give a delay such as 1s to be kind to the server");
        return policy;
    }
}
