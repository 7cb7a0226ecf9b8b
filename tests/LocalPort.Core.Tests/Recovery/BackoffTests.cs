using LocalPort.Core.Config;
using LocalPort.Core.Recovery;

namespace LocalPort.Core.Tests.Recovery;

public class BackoffTests
{
    private static readonly RestartPolicy Policy = RestartPolicy.Default with
    {
        InitialDelay = TimeSpan.FromSeconds(1), MaxDelay = TimeSpan.FromSeconds(10), BackoffMultiplier = 2, Jitter = 0,
    };

    [Fact]
    public void First_retry_is_immediate() => Assert.Equal(TimeSpan.Zero, Backoff.Delay(Policy, 1, 0.5));

    [Theory]
    [InlineData(2, 1)]
    [InlineData(3, 2)]
    [InlineData(4, 4)]
    [InlineData(5, 8)]
    [InlineData(6, 10)]
    [InlineData(50, 10)]
    public void Later_retries_grow_by_the_multiplier_up_to_the_maximum(int failures, double seconds) =>
        Assert.Equal(TimeSpan.FromSeconds(seconds), Backoff.Delay(Policy, failures, 0.5));

    [Fact]
    public void Jitter_spreads_the_delay_within_its_fraction()
    {
        var jittery = Policy with { Jitter = 0.1 };
        Assert.Equal(3.6, Backoff.Delay(jittery, 4, 0.0).TotalSeconds, 3);
        Assert.Equal(4.4, Backoff.Delay(jittery, 4, 0.999999).TotalSeconds, 3);
    }

    [Fact]
    public void Jitter_never_exceeds_the_maximum_delay() =>
        Assert.True(Backoff.Delay(Policy with { Jitter = 0.5 }, 30, 0.99) <= Policy.MaxDelay);

    [Fact]
    public void Retries_stop_after_max_attempts()
    {
        var policy = Policy with { MaxAttempts = 3 };
        Assert.True(Backoff.MayRetry(policy, 3));
        Assert.False(Backoff.MayRetry(policy, 4));
    }

    [Fact]
    public void Zero_max_attempts_means_unlimited() => Assert.True(Backoff.MayRetry(Policy with { MaxAttempts = 0 }, 10_000));

    [Fact]
    public void A_disabled_policy_never_retries() => Assert.False(Backoff.MayRetry(Policy with { Enabled = false }, 1));

    [Fact]
    public void A_policy_of_zeros_gives_zero_delays_and_never_a_nan()
    {
        var zeros = Policy with { InitialDelay = TimeSpan.Zero, MaxDelay = TimeSpan.Zero, MaxAttempts = 0 };
        foreach (var failures in new[] { 1, 2, 1075, 100_000, int.MaxValue })
            Assert.Equal(TimeSpan.Zero, Backoff.Delay(zeros, failures, 0.5));
    }
}
