using Akka.Actor;
using LocalPort.Actors.Cluster;
using LocalPort.Actors.Forwarding;
using LocalPort.Actors.Services;
using LocalPort.Core.Recovery;
using LocalPort.Actors.Tests.Support;
using LocalPort.Core.Config;

namespace LocalPort.Actors.Tests.Cluster;

/// <summary>A kubectl forward under virtual time, with the test as its parent answering for the cluster monitor.</summary>
public class WaitingForClusterTests : VirtualTimeTestKit
{
    private static readonly RestartPolicy TwoAttempts = RestartPolicy.Default with
    {
        MaxAttempts = 2, InitialDelay = TimeSpan.FromSeconds(1), Jitter = 0,
    };

    private readonly FakeTunnelFactory _tunnels = new();

    private LocalPortRuntime Runtime => new(_tunnels, _ => new ScriptedProbe(), () => 0.5);

    private IActorRef StartForward(RestartPolicy? policy = null) =>
        ChildActorOf(ForwardActor.Props(KubeSpecs.Service(policy: policy ?? TwoAttempts), Runtime, clusterGated: true));

    private ForwardActor.StateChanged ExpectState(ServiceState state) =>
        FishForMessage<ForwardActor.StateChanged>(m => m.State == state, TimeSpan.FromSeconds(3));

    /// <summary>The forward asks about its cluster; the test answers as the monitor would.</summary>
    private void AnswerClusterCheck(bool reachable)
    {
        FishForMessage<ForwardActor.ClusterCheckNeeded>(_ => true, TimeSpan.FromSeconds(3));
        LastSender.Tell(new ClusterMonitor.Verdict(KubeSpecs.Cluster(), reachable,
            reachable ? null : "cluster unreachable: The connection to the server 127.0.0.1:6443 was refused"));
    }

    [Fact]
    public void A_tunnel_lost_while_the_cluster_is_unreachable_waits_for_the_cluster_without_counting_a_failure()
    {
        StartForward();
        ExpectState(ServiceState.Running);
        _tunnels.Next().Exit(1);

        AnswerClusterCheck(reachable: false);

        var waiting = ExpectState(ServiceState.WaitingForCluster);
        Assert.Equal(0, waiting.Restarts);
        Assert.Contains("waiting for cluster testkube", waiting.LastError);
        Assert.Contains("was refused", waiting.LastError);
        Advance(TimeSpan.FromMinutes(10));
        Assert.True(_tunnels.NoneStartedWithin(TimeSpan.FromMilliseconds(200)));
    }

    [Fact]
    public void A_waiting_service_reconnects_as_soon_as_its_cluster_is_back()
    {
        var forward = StartForward();
        ExpectState(ServiceState.Running);
        _tunnels.Next().Exit(1);
        AnswerClusterCheck(reachable: false);
        ExpectState(ServiceState.WaitingForCluster);

        forward.Tell(new ForwardActor.ClusterChanged(true, null));

        _tunnels.Next();
        var running = ExpectState(ServiceState.Running);
        Assert.Equal(0, running.Restarts);
    }

    [Fact]
    public void Outage_after_outage_never_exhausts_max_attempts()
    {
        var forward = StartForward();
        ExpectState(ServiceState.Running);
        for (var outage = 0; outage < 5; outage++)
        {
            _tunnels.Next().Exit(1);
            AnswerClusterCheck(reachable: false);
            ExpectState(ServiceState.WaitingForCluster);
            forward.Tell(new ForwardActor.ClusterChanged(true, null));
            ExpectState(ServiceState.Running);
        }
        _tunnels.Next().Exit(1);
        AnswerClusterCheck(reachable: false);

        Assert.Equal(0, ExpectState(ServiceState.WaitingForCluster).Restarts);
    }

    [Fact]
    public void A_failure_on_a_reachable_cluster_is_counted_and_retried_at_once()
    {
        StartForward();
        ExpectState(ServiceState.Running);
        Advance(FailureAccount.RetryFloor);
        _tunnels.Next().Exit(1);

        AnswerClusterCheck(reachable: true);

        _tunnels.Next();
        var running = ExpectState(ServiceState.Running);
        Assert.Equal(1, running.Restarts);
        Assert.Contains("exited with code 1", running.LastError);
    }

    [Fact]
    public void Once_the_cluster_is_known_unreachable_a_failure_waits_without_asking_again()
    {
        var forward = StartForward();
        ExpectState(ServiceState.Running);
        forward.Tell(new ForwardActor.ClusterChanged(false, "cluster unreachable: i/o timeout"));

        _tunnels.Next().Exit(1);

        Assert.Contains("i/o timeout", ExpectState(ServiceState.WaitingForCluster).LastError);
        ExpectNoMsg(TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public void A_service_backing_off_stops_spending_attempts_when_its_cluster_goes_away()
    {
        _tunnels.ReadyAtOnce = false;
        var forward = StartForward(RestartPolicy.Default with { MaxAttempts = 5, InitialDelay = TimeSpan.FromSeconds(10), Jitter = 0 });
        _tunnels.Next().FailToStart("pod gone: error: lost connection to pod");
        AnswerClusterCheck(reachable: true);
        ExpectState(ServiceState.BackingOff); // the retry is scheduled: only now does advancing the clock reach it
        Advance(FailureAccount.RetryFloor);
        _tunnels.Next().FailToStart("pod gone: error: lost connection to pod");
        AnswerClusterCheck(reachable: true);
        ExpectState(ServiceState.BackingOff);

        forward.Tell(new ForwardActor.ClusterChanged(false, "cluster unreachable: no such host"));

        ExpectState(ServiceState.WaitingForCluster);
        Advance(TimeSpan.FromSeconds(30));
        Assert.True(_tunnels.NoneStartedWithin(TimeSpan.FromMilliseconds(200)));
    }

    [Fact]
    public void Without_an_answer_about_the_cluster_the_failure_is_counted_after_the_verdict_timeout()
    {
        StartForward();
        ExpectState(ServiceState.Running);
        _tunnels.Next().Exit(1);
        FishForMessage<ForwardActor.ClusterCheckNeeded>(_ => true, TimeSpan.FromSeconds(3));

        Advance(TimeSpan.FromSeconds(30));

        _tunnels.Next();
        Assert.Equal(1, ExpectState(ServiceState.Running).Restarts);
    }
}
