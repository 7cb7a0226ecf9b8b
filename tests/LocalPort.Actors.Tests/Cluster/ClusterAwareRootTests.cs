using Akka.Actor;
using LocalPort.Actors.Cluster;
using LocalPort.Actors.Services;
using LocalPort.Core.Recovery;
using LocalPort.Actors.Supervision;
using LocalPort.Actors.Tests.Support;
using LocalPort.Core.Config;
using LocalPort.Core.Health;

namespace LocalPort.Actors.Tests.Cluster;

/// <summary>The whole path under virtual time: root, forward, cluster monitor, on fake tunnels and a scripted cluster.</summary>
public class ClusterAwareRootTests : VirtualTimeTestKit
{
    private static readonly RestartPolicy TwoAttempts = RestartPolicy.Default with { MaxAttempts = 2, Jitter = 0 };

    private readonly FakeTunnelFactory _tunnels = new();
    private readonly ScriptedClusterProbe _cluster = new();

    private IActorRef StartRoot(params ServiceSpec[] services)
    {
        var probe = new ScriptedProbe();
        probe.AlwaysAnswer(ProbeResult.Ok);
        var runtime = new LocalPortRuntime(_tunnels, _ => probe, () => 0.5) { ClusterProbe = _cluster };
        var health = new ClusterHealthConfig(KubeSpecs.Settings(), new Dictionary<string, ClusterHealthSpec>
        {
            ["lab"] = KubeSpecs.Settings() with { Enabled = false },
        });
        Sys.EventStream.Subscribe(TestActor, typeof(ServiceStatusChanged));
        return Sys.ActorOf(LocalPortSupervisor.Props(services, runtime, clusterHealth: health), "localport");
    }

    private ServiceStatus ExpectStatus(string name, Func<ServiceStatus, bool> predicate) =>
        FishForMessage<ServiceStatusChanged>(m => m.Status.Name == name && predicate(m.Status), TimeSpan.FromSeconds(3)).Status;

    private static IReadOnlyList<ClusterStatus> Clusters(IActorRef root) =>
        root.Ask<ClusterSnapshot>(GetClusterStatus.Instance, TimeSpan.FromSeconds(3)).Result.Clusters;

    [Fact]
    public void Each_kube_context_gets_one_monitor_and_ssh_or_tcp_services_none()
    {
        var root = StartRoot(KubeSpecs.Service("api"), KubeSpecs.Service("web"), KubeSpecs.Service("db", context: "lab"), Specs.Service("cache"));

        AwaitAssert(() =>
        {
            var clusters = Clusters(root);
            Assert.Equal(["lab", "testkube"], clusters.Select(c => c.Context));
            Assert.Equal(["api", "web"], clusters.Single(c => c.Context == "testkube").Services);
            Assert.Equal(ClusterReachability.Reachable, clusters.Single(c => c.Context == "testkube").State);
            Assert.Equal(ClusterReachability.NotWatched, clusters.Single(c => c.Context == "lab").State);
        }, TimeSpan.FromSeconds(3));
        Assert.Equal(1, _cluster.Calls);
    }

    [Fact]
    public void An_outage_shows_waiting_for_cluster_burns_no_attempt_and_the_return_reconnects_within_one_unreachable_interval()
    {
        var root = StartRoot(KubeSpecs.Service("api", policy: TwoAttempts));
        ExpectStatus("api", s => s.State == ServiceState.Running);
        // The monitor's first probe answers before the outage: a "reachable" from it arriving after the outage began
        // would read as the cluster's return (this test failed once in a loaded full run, never alone).
        AwaitAssert(() => Assert.Equal(ClusterReachability.Reachable, Clusters(root).Single().State), TimeSpan.FromSeconds(3));
        _cluster.GoDown();

        _tunnels.Next().Exit(1);

        var waiting = ExpectStatus("api", s => s.State == ServiceState.WaitingForCluster);
        Assert.Equal(0, waiting.Restarts);
        Assert.Equal(ClusterReachability.Unreachable, Clusters(root).Single().State);
        Advance(TimeSpan.FromMinutes(2));
        Assert.True(_tunnels.NoneStartedWithin(TimeSpan.FromMilliseconds(100)));

        _cluster.ComeBack();
        Advance(ClusterHealthSpec.Default.UnreachableInterval);

        _tunnels.Next();
        Assert.Equal(0, ExpectStatus("api", s => s.State == ServiceState.Running).Restarts);
        Assert.Equal(ClusterReachability.Reachable, Clusters(root).Single().State);
    }

    [Fact]
    public void A_deleted_pod_on_a_reachable_cluster_is_a_counted_restart()
    {
        StartRoot(KubeSpecs.Service("api", policy: TwoAttempts));
        ExpectStatus("api", s => s.State == ServiceState.Running);
        // Up longer than the flap window: an ordinary incident, retried at once.
        Advance(FailureAccount.FlapWindow);

        _tunnels.Next().Exit(1);

        _tunnels.Next();
        Assert.Equal(1, ExpectStatus("api", s => s.State == ServiceState.Running && s.Restarts == 1).Restarts);
        Assert.Equal(2, _cluster.Calls);
    }

    [Fact]
    public void A_service_on_an_unwatched_context_is_counted_as_before()
    {
        StartRoot(KubeSpecs.Service("db", context: "lab", policy: RestartPolicy.Default with { Enabled = false }));
        ExpectStatus("db", s => s.State == ServiceState.Running);
        _cluster.GoDown();

        _tunnels.Next().Exit(1);

        ExpectStatus("db", s => s.State == ServiceState.Failed);
        Assert.Equal(0, _cluster.Calls);
    }
}
