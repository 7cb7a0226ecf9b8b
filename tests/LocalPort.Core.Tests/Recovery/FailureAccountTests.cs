using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using LocalPort.Core.Config;
using LocalPort.Core.Recovery;

namespace LocalPort.Core.Tests.Recovery;

public sealed class FailureAccountTests
{
    private static readonly RestartPolicy Defaults = RestartPolicy.Default with { Jitter = 0 };
    private static TimeSpan S(double seconds) => TimeSpan.FromSeconds(seconds);

    /// <summary>One attempt that became ready at <paramref name="start"/> and proved itself; it fails at <paramref name="end"/>.</summary>
    private static RecoveryDecision ProvenRun(FailureAccount account, double start, double end)
    {
        account.Started(S(start));
        account.Ready(S(start));
        account.Proven(S(start));
        return account.Failed(S(end), 0.5);
    }

    [Fact]
    public void A_proven_tunnel_killed_every_two_seconds_is_retried_at_once_and_never_given_up()
    {
        var account = new FailureAccount(Defaults);
        for (var kill = 0; kill < 50; kill++)
        {
            var decision = ProvenRun(account, kill * 2, kill * 2 + 1.8);
            Assert.Equal(TimeSpan.Zero, decision.Delay);
            Assert.True(decision.Incident);
            Assert.False(account.GaveUp);
        }
    }

    [Fact]
    public void Tunnels_that_never_prove_themselves_give_up_after_max_attempts_once()
    {
        var account = new FailureAccount(Defaults);
        var now = 0.0;
        var delays = new List<double>();
        RecoveryDecision decision;
        do
        {
            account.Started(S(now));
            decision = account.Failed(S(now), 0.5);
            delays.Add(decision.Delay.TotalSeconds);
            now += Math.Max(decision.Delay.TotalSeconds, 0.2);
        } while (!account.GaveUp);

        // First retry at once (after the floor), then 1, 2, 4, 8 s: five restarts, then failed.
        Assert.Equal([0.2, 1, 2, 4, 8, 300], delays);
        Assert.True(decision.GaveUp);
        account.Started(S(now));
        var again = account.Failed(S(now + 1), 0.5);
        Assert.False(again.GaveUp);
        Assert.Equal(S(300), again.Delay);
    }

    [Fact]
    public void Proof_clears_the_start_failures_and_a_failed_state()
    {
        var account = new FailureAccount(Defaults with { MaxAttempts = 1 });
        account.Started(S(0));
        account.Failed(S(0), 0.5);
        account.Started(S(1));
        Assert.True(account.Failed(S(1), 0.5).GaveUp);

        account.Started(S(301));
        account.Ready(S(301));
        account.Proven(S(302));

        Assert.False(account.GaveUp);
        Assert.Equal(0, account.StartFailures);
    }

    [Fact]
    public void Flapping_is_damped_after_the_free_flaps_and_a_long_enough_uptime_forgives_it()
    {
        var account = new FailureAccount(Defaults);
        var t = 0.0;
        for (var flap = 1; flap <= FailureAccount.FreeFlaps; flap++, t += 1)
            Assert.Equal(TimeSpan.Zero, ProvenRun(account, t, t + 0.5).Delay);
        Assert.Equal(S(1), ProvenRun(account, t, t + 0.5).Delay);
        Assert.Equal(S(2), ProvenRun(account, t + 2, t + 2.5).Delay);
        // Up for a while (but less than reset_after): not a flap, retried at once; the streak is remembered.
        Assert.Equal(TimeSpan.Zero, ProvenRun(account, t + 5, t + 15).Delay);
        Assert.Equal(S(4), ProvenRun(account, t + 16, t + 16.5).Delay);
        // Up for reset_after: the streak is forgotten.
        Assert.Equal(TimeSpan.Zero, ProvenRun(account, t + 30, t + 100).Delay);
        Assert.Equal(TimeSpan.Zero, ProvenRun(account, t + 101, t + 101.5).Delay);
    }

    [Fact]
    public void A_disabled_policy_gives_up_on_the_first_failure_of_any_kind_and_never_retries()
    {
        var account = new FailureAccount(Defaults with { Enabled = false });
        var decision = ProvenRun(account, 0, 100);
        Assert.True(decision.GaveUp);
        Assert.Equal(Timeout.InfiniteTimeSpan, decision.Delay);
    }

    [Fact]
    public void A_clock_that_jumps_back_never_stretches_the_floor()
    {
        var account = new FailureAccount(Defaults with { InitialDelay = TimeSpan.Zero, MaxDelay = TimeSpan.Zero });
        account.Started(S(3600));
        Assert.Equal(FailureAccount.RetryFloor, account.Failed(S(0), 0.5).Delay);
    }

    private static readonly Gen<TimeSpan> AnyDuration = Gen.OneOf(
        Gen.Elements(TimeSpan.Zero, TimeSpan.FromTicks(1), TimeSpan.FromMilliseconds(1), S(1), TimeSpan.FromDays(3650), TimeSpan.MaxValue),
        Gen.Choose(0, int.MaxValue).Select(ms => TimeSpan.FromMilliseconds(ms)));

    private static readonly Gen<double> AnyDouble = Gen.OneOf(
        Gen.Elements(0.0, 1.0, 1e-300, 1e300, double.MaxValue, double.NaN, double.PositiveInfinity, -1.0),
        Gen.Choose(0, 1_000_000).Select(n => n / 1000.0));

    private static readonly Gen<RestartPolicy> AnyPolicy =
        from enabled in Gen.Elements(true, true, false)
        from maxAttempts in Gen.OneOf(Gen.Elements(0, 1, int.MaxValue), Gen.Choose(0, 100))
        from initial in AnyDuration
        from max in AnyDuration
        from multiplier in AnyDouble
        from jitter in AnyDouble
        from resetAfter in AnyDuration
        select new RestartPolicy(enabled, maxAttempts, initial, max, multiplier, jitter, resetAfter);

    [Property(MaxTest = 2000)]
    public Property Backoff_never_throws_and_stays_within_zero_and_the_ceiling() =>
        Prop.ForAll(Arb.From(AnyPolicy), Arb.From(Gen.OneOf(Gen.Elements(int.MaxValue, int.MinValue, 0, 1, 2, 1100), Gen.Choose(0, 5000))),
            Arb.From(AnyDouble), (policy, failures, random) =>
            {
                var delay = Backoff.Delay(policy, failures, random);
                return delay >= TimeSpan.Zero && delay <= Backoff.Ceiling;
            });

    /// <summary>A forward under constant failure (every start fails at once, or drops right after proving itself), whatever the policy.</summary>
    [Property(MaxTest = 1000)]
    public Property Under_constant_failure_no_two_attempts_start_closer_than_the_floor() =>
        Prop.ForAll(Arb.From(AnyPolicy), Arb.From(Gen.ListOf(Gen.Elements(false, true)).Where(l => l.Count > 0)),
            (policy, proofs) =>
            {
                var account = new FailureAccount(policy);
                var now = TimeSpan.FromHours(1);
                var lastStart = (TimeSpan?)null;
                foreach (var proven in proofs.Take(200))
                {
                    if (lastStart is { } last && now - last < FailureAccount.RetryFloor) return false;
                    account.Started(now);
                    lastStart = now;
                    if (proven)
                    {
                        account.Ready(now);
                        account.Proven(now);
                    }
                    var decision = account.Failed(now, 0.5);
                    if (decision.Delay == Timeout.InfiniteTimeSpan) return !policy.Enabled;
                    if (decision.Delay < TimeSpan.Zero) return false;
                    now += decision.Delay;
                }
                return true;
            });
}
