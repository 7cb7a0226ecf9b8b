using LocalPort.Core.Forwarding;
using LocalPort.Core.Recovery;

namespace LocalPort.Core.Tests.Forwarding;

/// <summary>When a connection group may start a master, and what a failed start means for its waiting services.</summary>
public sealed class SshMasterStartsTests
{
    private static readonly TimeSpan T0 = TimeSpan.FromSeconds(100);
    private readonly SshMasterStarts _starts = new();

    [Fact]
    public void No_two_masters_start_closer_than_the_retry_floor()
    {
        Assert.Equal(TimeSpan.Zero, _starts.WaitBeforeStart(T0));
        _starts.Started(T0);

        Assert.Equal(FailureAccount.RetryFloor, _starts.WaitBeforeStart(T0));
        Assert.Equal(FailureAccount.RetryFloor - TimeSpan.FromMilliseconds(50), _starts.WaitBeforeStart(T0 + TimeSpan.FromMilliseconds(50)));
        Assert.Equal(TimeSpan.Zero, _starts.WaitBeforeStart(T0 + FailureAccount.RetryFloor));
    }

    [Fact]
    public void Ssh_giving_up_fails_the_waiting_and_answers_new_requests_for_a_second_without_another_handshake()
    {
        Assert.True(_starts.FailsWaiting(T0, 255, timedOut: false, "authentication failed"));

        Assert.Equal("authentication failed", _starts.RecentFailure(T0 + TimeSpan.FromMilliseconds(900)));
        Assert.Null(_starts.RecentFailure(T0 + SshMasterStarts.FailureReuse));
    }

    [Fact]
    public void A_master_killed_while_connecting_is_replaced_for_the_same_waiters_three_times_in_a_row_then_they_fail()
    {
        for (var i = 0; i < SshMasterStarts.MaxKilledWhileStarting; i++) Assert.False(_starts.FailsWaiting(T0, 137, false, "killed"));
        Assert.True(_starts.FailsWaiting(T0, 137, false, "killed"));

        // A master that comes up clears the streak.
        _starts.Up();
        Assert.Null(_starts.RecentFailure(T0));
        Assert.False(_starts.FailsWaiting(T0, 137, false, "killed"));
    }

    [Fact]
    public void A_master_we_killed_for_not_connecting_in_time_fails_the_waiting_at_once()
    {
        Assert.True(_starts.FailsWaiting(T0, 137, timedOut: true, "not ready within 30s"));
    }

    [Fact]
    public void A_standby_that_never_comes_up_backs_off_and_one_that_was_ready_is_replaced_after_the_floor()
    {
        _starts.StandbyEnded(T0, wasReady: true, random: 0.5);
        Assert.Equal(FailureAccount.RetryFloor, _starts.WaitBeforeStandby(T0));

        _starts.StandbyEnded(T0, wasReady: false, random: 0.5);
        var first = _starts.WaitBeforeStandby(T0);
        _starts.StandbyEnded(T0, wasReady: false, random: 0.5);
        var second = _starts.WaitBeforeStandby(T0);

        Assert.True(first >= TimeSpan.FromSeconds(1) && second > first, $"{first} then {second}");
        _starts.StandbyPromoted(T0);
        Assert.Equal(TimeSpan.Zero, _starts.WaitBeforeStandby(T0));
    }
}
