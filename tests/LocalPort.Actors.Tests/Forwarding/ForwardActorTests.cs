using Akka.Actor;
using LocalPort.Actors.Forwarding;
using LocalPort.Actors.Services;
using LocalPort.Actors.Tests.Support;
using LocalPort.Core.Config;
using LocalPort.Core.Health;
using LocalPort.Core.Recovery;

namespace LocalPort.Actors.Tests.Forwarding;

public class ForwardActorTests : VirtualTimeTestKit
{
    private readonly FakeTunnelFactory _tunnels = new();

    private LocalPortRuntime Runtime => new(_tunnels, _ => new ScriptedProbe(), () => 0.5);

    private ForwardActor.StateChanged ExpectState(ServiceState state) =>
        FishForMessage<ForwardActor.StateChanged>(m => m.State == state, TimeSpan.FromSeconds(3));

    [Fact]
    public void A_ready_tunnel_makes_the_service_running()
    {
        ChildActorOf(ForwardActor.Props(Specs.Service(), Runtime));
        ExpectState(ServiceState.Starting);
        var running = ExpectState(ServiceState.Running);
        Assert.Equal(1000, running.Pid);
    }

    [Fact]
    public void Killed_tunnel_is_restarted_at_once_without_waiting_for_a_health_check()
    {
        ChildActorOf(ForwardActor.Props(Specs.Service(), Runtime));
        ExpectState(ServiceState.Running);
        Advance(FailureAccount.RetryFloor);
        _tunnels.Next().Exit(137);

        var replacement = _tunnels.Next(TimeSpan.FromSeconds(2));
        var running = ExpectState(ServiceState.Running);
        Assert.Equal(1, running.Restarts);
        Assert.Contains("exited with code 137", running.LastError);
        Assert.False(replacement.Killed);
    }

    [Fact]
    public void Second_consecutive_failure_waits_the_initial_delay()
    {
        var policy = RestartPolicy.Default with { InitialDelay = TimeSpan.FromSeconds(4), Jitter = 0 };
        ChildActorOf(ForwardActor.Props(Specs.Service(policy: policy), Runtime));
        ExpectState(ServiceState.Running);
        _tunnels.Next().Exit(1);
        Advance(FailureAccount.RetryFloor);
        ExpectState(ServiceState.Running);
        _tunnels.Next().Exit(1);

        ExpectState(ServiceState.BackingOff);
        Advance(TimeSpan.FromSeconds(3.9));
        Assert.True(_tunnels.NoneStartedWithin(TimeSpan.FromMilliseconds(200)));
        Advance(TimeSpan.FromMilliseconds(100));
        _tunnels.Next();
        ExpectState(ServiceState.Running);
    }

    [Fact]
    public void Service_fails_after_max_attempts_consecutive_failures()
    {
        var policy = RestartPolicy.Default with { MaxAttempts = 2, InitialDelay = TimeSpan.FromSeconds(1), Jitter = 0 };
        _tunnels.ReadyAtOnce = false;
        ChildActorOf(ForwardActor.Props(Specs.Service(policy: policy), Runtime));
        _tunnels.Next().FailToStart("boom 1");
        Advance(FailureAccount.RetryFloor);
        _tunnels.Next().FailToStart("boom 2");
        ExpectState(ServiceState.BackingOff);
        Advance(TimeSpan.FromSeconds(1));
        _tunnels.Next().FailToStart("boom 3");

        var failed = ExpectState(ServiceState.Failed);
        Assert.Contains("boom 3", failed.LastError);
        Assert.NotNull(failed.NextAttempt);
        Advance(TimeSpan.FromSeconds(299));
        Assert.True(_tunnels.NoneStartedWithin(TimeSpan.FromMilliseconds(200)));
    }

    [Fact]
    public void A_failed_service_is_tried_again_every_max_delay_and_comes_back_by_itself()
    {
        var policy = RestartPolicy.Default with { MaxAttempts = 1, MaxDelay = TimeSpan.FromSeconds(30), Jitter = 0 };
        _tunnels.ReadyAtOnce = false;
        ChildActorOf(ForwardActor.Props(Specs.Service(policy: policy), Runtime));
        _tunnels.Next().FailToStart("bastion down");
        Advance(FailureAccount.RetryFloor);
        _tunnels.Next().FailToStart("bastion down");
        ExpectState(ServiceState.Failed);

        Advance(TimeSpan.FromSeconds(30));
        _tunnels.Next().FailToStart("still down");
        var stillFailed = ExpectState(ServiceState.Failed);
        Assert.Contains("still down", stillFailed.LastError);

        Advance(TimeSpan.FromSeconds(30));
        _tunnels.Next().MakeReady();
        ExpectState(ServiceState.Running);
    }

    [Fact]
    public void A_proven_tunnel_that_keeps_dropping_is_replaced_at_once_every_time_and_never_given_up()
    {
        var forward = ChildActorOf(ForwardActor.Props(Specs.Service(), Runtime));
        var current = _tunnels.Next();
        for (var drop = 1; drop <= 12; drop++)
        {
            ExpectState(ServiceState.Running);
            forward.Tell(ForwardActor.Proven.Instance);
            Advance(TimeSpan.FromSeconds(2));
            current.Exit(255);
            // No timer is involved: the replacement starts without the clock moving.
            current = _tunnels.Next(TimeSpan.FromSeconds(2));
        }
        Assert.Equal(12, ExpectState(ServiceState.Running).Restarts);
    }

    [Fact]
    public void A_proven_tunnel_that_keeps_dropping_right_after_starting_is_damped_after_the_free_flaps()
    {
        var forward = ChildActorOf(ForwardActor.Props(Specs.Service(), Runtime));
        var current = _tunnels.Next();
        for (var flap = 0; flap <= FailureAccount.FreeFlaps; flap++)
        {
            ExpectState(ServiceState.Running);
            forward.Tell(ForwardActor.Proven.Instance);
            Advance(TimeSpan.FromMilliseconds(300));
            current.Exit(255);
            if (flap < FailureAccount.FreeFlaps) current = _tunnels.Next(TimeSpan.FromSeconds(2));
        }

        // Up for less than the flap window, once too often: it waits initial_delay instead of hammering the server.
        ExpectState(ServiceState.BackingOff);
        Advance(TimeSpan.FromMilliseconds(900));
        Assert.True(_tunnels.NoneStartedWithin(TimeSpan.FromMilliseconds(200)));
        Advance(TimeSpan.FromMilliseconds(100));
        _tunnels.Next();
    }

    [Fact]
    public void A_policy_of_zeros_never_retries_faster_than_the_floor()
    {
        var zeros = RestartPolicy.Default with { InitialDelay = TimeSpan.Zero, MaxDelay = TimeSpan.Zero, MaxAttempts = 0 };
        _tunnels.ReadyAtOnce = false;
        ChildActorOf(ForwardActor.Props(Specs.Service(policy: zeros), Runtime));
        for (var attempt = 1; attempt <= 20; attempt++)
        {
            _tunnels.Next().FailToStart("port taken");
            ExpectState(ServiceState.BackingOff);
            Assert.True(_tunnels.NoneStartedWithin(TimeSpan.FromMilliseconds(50)), $"attempt {attempt + 1} started before the floor");
            Advance(FailureAccount.RetryFloor);
        }
    }

    [Fact]
    public void Unhealthy_tunnel_is_killed_and_replaced()
    {
        var forward = ChildActorOf(ForwardActor.Props(Specs.Service(), Runtime));
        ExpectState(ServiceState.Running);
        var hung = _tunnels.Next();

        forward.Tell(new ForwardActor.Unhealthy("timed out"));
        Advance(FailureAccount.RetryFloor);

        _tunnels.Next();
        Assert.True(hung.Killed);
        Assert.Contains("unhealthy: timed out", ExpectState(ServiceState.Running).LastError);
    }

    [Fact]
    public void Stop_stops_the_tunnel_gracefully_and_answers()
    {
        var forward = ChildActorOf(ForwardActor.Props(Specs.Service("db"), Runtime));
        ExpectState(ServiceState.Running);
        var tunnel = _tunnels.Next();

        forward.Tell(ForwardActor.Stop.Instance, TestActor);

        FishForMessage<ForwardActor.Stopped>(m => m.Name == "db", TimeSpan.FromSeconds(3));
        Assert.True(tunnel.StoppedGracefully);
    }

    [Fact]
    public void Restart_clears_a_failed_service()
    {
        var policy = RestartPolicy.Default with { Enabled = false };
        var forward = ChildActorOf(ForwardActor.Props(Specs.Service(policy: policy), Runtime));
        ExpectState(ServiceState.Running);
        _tunnels.Next().Exit(1);
        ExpectState(ServiceState.Failed);

        forward.Tell(ForwardActor.Restart.Instance);

        ExpectState(ServiceState.Running);
    }

    [Fact]
    public void A_stopped_tunnel_process_is_killed_after_failure_threshold_intervals()
    {
        var check = HealthCheckSpec.Default with { Interval = TimeSpan.FromSeconds(2), FailureThreshold = 2 };
        ChildActorOf(ForwardActor.Props(Specs.Service(check: check), Runtime));
        ExpectState(ServiceState.Running);
        var paused = _tunnels.Next();
        paused.IsSuspended = true;

        Advance(TimeSpan.FromSeconds(2));
        Assert.True(_tunnels.NoneStartedWithin(TimeSpan.FromMilliseconds(200)));
        Advance(TimeSpan.FromSeconds(2));

        _tunnels.Next();
        Assert.True(paused.Killed);
        Assert.Contains("is stopped", ExpectState(ServiceState.Running).LastError);
    }
}
