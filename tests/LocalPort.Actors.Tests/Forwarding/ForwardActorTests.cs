using Akka.Actor;
using LocalPort.Actors.Forwarding;
using LocalPort.Actors.Services;
using LocalPort.Actors.Tests.Support;
using LocalPort.Core.Config;
using LocalPort.Core.Health;

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
        _tunnels.Next().FailToStart("boom 2");
        ExpectState(ServiceState.BackingOff);
        Advance(TimeSpan.FromSeconds(1));
        _tunnels.Next().FailToStart("boom 3");

        var failed = ExpectState(ServiceState.Failed);
        Assert.Contains("boom 3", failed.LastError);
        Advance(TimeSpan.FromMinutes(10));
        Assert.True(_tunnels.NoneStartedWithin(TimeSpan.FromMilliseconds(200)));
    }

    [Fact]
    public void Failure_count_resets_after_reset_after_of_uptime()
    {
        var policy = RestartPolicy.Default with
        {
            InitialDelay = TimeSpan.FromSeconds(5), ResetAfter = TimeSpan.FromSeconds(30), Jitter = 0,
        };
        ChildActorOf(ForwardActor.Props(Specs.Service(policy: policy), Runtime));
        ExpectState(ServiceState.Running);
        _tunnels.Next().Exit(1);
        ExpectState(ServiceState.Running);
        Advance(TimeSpan.FromSeconds(30));

        _tunnels.Next().Exit(1);
        // Forgiven: this counts as a first failure again, so the retry is immediate.
        _tunnels.Next(TimeSpan.FromSeconds(2));
        ExpectState(ServiceState.Running);
    }

    [Fact]
    public void Unhealthy_tunnel_is_killed_and_replaced()
    {
        var forward = ChildActorOf(ForwardActor.Props(Specs.Service(), Runtime));
        ExpectState(ServiceState.Running);
        var hung = _tunnels.Next();

        forward.Tell(new ForwardActor.Unhealthy("timed out"));

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
