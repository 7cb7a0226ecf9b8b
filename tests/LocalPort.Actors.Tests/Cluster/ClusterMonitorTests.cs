using Akka.Actor;
using LocalPort.Actors.Cluster;
using LocalPort.Actors.Tests.Support;

namespace LocalPort.Actors.Tests.Cluster;

public class ClusterMonitorTests : VirtualTimeTestKit
{
    private readonly ScriptedClusterProbe _probe = new();

    private IActorRef StartMonitor(int failureThreshold = 1, bool enabled = true) =>
        ChildActorOf(ClusterMonitor.Props(KubeSpecs.Cluster(), KubeSpecs.Settings(failureThreshold) with { Enabled = enabled }, _probe));

    private ClusterMonitor.Probed ExpectProbed() => ExpectMsg<ClusterMonitor.Probed>(TimeSpan.FromSeconds(3));

    [Fact]
    public void The_first_probe_runs_at_once_and_makes_the_cluster_reachable()
    {
        StartMonitor();

        var probed = ExpectProbed();
        Assert.True(probed.Changed);
        Assert.Equal(ClusterReachability.Reachable, probed.Status.State);
        Assert.Equal(1, probed.Status.Probes);
        Assert.Equal("testkube", probed.Status.Context);
    }

    [Fact]
    public void A_reachable_cluster_is_probed_once_per_interval()
    {
        StartMonitor();
        ExpectProbed();

        Advance(TimeSpan.FromSeconds(29));
        ExpectNoMsg(TimeSpan.FromMilliseconds(200));
        Advance(TimeSpan.FromSeconds(1));

        Assert.False(ExpectProbed().Changed);
        Assert.Equal(2, _probe.Calls);
    }

    [Fact]
    public void An_unreachable_cluster_is_probed_every_half_second_and_is_reachable_again_at_the_first_success()
    {
        _probe.AcceptsConnections = false;
        _probe.GoDown();
        StartMonitor();
        Assert.Equal(ClusterReachability.Unreachable, ExpectProbed().Status.State);

        Advance(TimeSpan.FromMilliseconds(500));
        Assert.Equal(ClusterReachability.Unreachable, ExpectProbed().Status.State);
        _probe.ComeBack();
        Advance(TimeSpan.FromMilliseconds(500));

        var back = ExpectProbed();
        Assert.True(back.Changed);
        Assert.Equal(ClusterReachability.Reachable, back.Status.State);
        Assert.Equal(3, _probe.Calls);
    }

    [Fact]
    public void An_asker_gets_a_verdict_from_a_probe_that_started_after_it_asked()
    {
        var monitor = StartMonitor();
        ExpectProbed();
        _probe.Hold = true;
        Advance(TimeSpan.FromSeconds(30));
        AwaitCondition(() => _probe.Calls == 2, TimeSpan.FromSeconds(3));

        // The API goes while that probe is in flight; its "reachable" must not answer a failure seen after it began.
        _probe.GoDown();
        monitor.Tell(new ClusterMonitor.ProbeNow("api: lost connection to pod"), TestActor);
        _probe.Hold = false;
        _probe.ReleaseHeld();

        var verdict = FishForMessage<ClusterMonitor.Verdict>(_ => true, TimeSpan.FromSeconds(3));
        Assert.False(verdict.Reachable);
        Assert.Contains("was refused", verdict.Error);
        Assert.Equal(3, _probe.Calls);
    }

    [Fact]
    public void Failure_threshold_failed_probes_in_a_row_make_it_unreachable_and_the_asker_waits_for_them()
    {
        var monitor = StartMonitor(failureThreshold: 3);
        ExpectProbed();
        _probe.GoDown();

        monitor.Tell(new ClusterMonitor.ProbeNow("api: exited"), TestActor);
        Assert.Equal(ClusterReachability.Reachable, ExpectProbed().Status.State);
        Advance(TimeSpan.FromMilliseconds(500));
        Assert.Equal(ClusterReachability.Reachable, ExpectProbed().Status.State);
        Advance(TimeSpan.FromMilliseconds(500));

        var third = ExpectMsg<ClusterMonitor.Verdict>(TimeSpan.FromSeconds(3));
        Assert.False(third.Reachable);
        var probed = ExpectProbed();
        Assert.Equal(ClusterReachability.Unreachable, probed.Status.State);
        Assert.Equal(3, probed.Status.ConsecutiveFailures);
    }

    [Fact]
    public void An_unwatched_cluster_is_never_probed_and_always_answers_reachable()
    {
        var monitor = StartMonitor(enabled: false);

        monitor.Tell(new ClusterMonitor.ProbeNow("api: exited"), TestActor);

        Assert.True(ExpectMsg<ClusterMonitor.Verdict>().Reachable);
        Advance(TimeSpan.FromMinutes(5));
        ExpectNoMsg(TimeSpan.FromMilliseconds(200));
        Assert.Equal(0, _probe.Calls);
    }

    [Fact]
    public void The_first_accepted_connect_makes_an_unreachable_cluster_reachable_within_a_tenth_of_a_second_and_a_probe_confirms_it()
    {
        _probe.GoDown();
        StartMonitor();
        Assert.Equal(ClusterReachability.Unreachable, ExpectProbed().Status.State);
        Advance(ClusterMonitor.ConnectCheckInterval);
        AwaitCondition(() => _probe.ConnectChecks == 1, TimeSpan.FromSeconds(3));
        _probe.ComeBack();

        Advance(ClusterMonitor.ConnectCheckInterval);

        var back = ExpectProbed();
        Assert.True(back.Changed);
        Assert.Equal(ClusterReachability.Reachable, back.Status.State);
        var confirmed = ExpectProbed();
        Assert.False(confirmed.Changed);
        Assert.Equal(2, _probe.Calls);
    }

    [Fact]
    public void A_half_up_api_that_accepts_connects_but_fails_probes_is_given_one_chance_then_judged_by_probes_alone()
    {
        _probe.GoDown();
        _probe.AcceptsConnections = true;
        StartMonitor();
        Assert.Equal(ClusterReachability.Unreachable, ExpectProbed().Status.State);

        Advance(ClusterMonitor.ConnectCheckInterval);
        Assert.Equal(ClusterReachability.Reachable, ExpectProbed().Status.State);
        Assert.Equal(ClusterReachability.Unreachable, ExpectProbed().Status.State);
        var checks = _probe.ConnectChecks;
        Advance(TimeSpan.FromMilliseconds(400));

        ExpectNoMsg(TimeSpan.FromMilliseconds(200));
        Assert.Equal(checks, _probe.ConnectChecks);
        _probe.ComeBack();
        Advance(TimeSpan.FromMilliseconds(100));
        Assert.Equal(ClusterReachability.Reachable, ExpectProbed().Status.State);
    }
}
