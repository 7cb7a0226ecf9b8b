using Akka.Actor;
using LocalPort.Actors.Cluster;
using LocalPort.Actors.Health;
using LocalPort.Actors.Services;
using LocalPort.Actors.Supervision;
using LocalPort.Actors.Tests.Support;
using LocalPort.Core.Config;
using LocalPort.Core.Health;

namespace LocalPort.Actors.Tests.Cluster;

/// <summary>Sleep and wake with a fake clock: virtual time drives the checks, the fake clock says how much time really passed.</summary>
public class SleepWakeTests : VirtualTimeTestKit
{
    private static readonly TimeSpan CheckEvery = TimeSpan.FromSeconds(1);
    private readonly FakeClock _clock = new();

    /// <summary>A watcher whose timer is set: an actor answers Identify only after PreStart.</summary>
    private void StartWatcher()
    {
        var watcher = ChildActorOf(SleepWatcher.Props(_clock, CheckEvery, TimeSpan.FromSeconds(5)));
        watcher.Ask<ActorIdentity>(new Identify(null), TimeSpan.FromSeconds(3)).Wait();
    }

    private void Tick()
    {
        _clock.Pass(CheckEvery);
        Advance(CheckEvery);
    }

    [Fact]
    public void Time_passing_normally_is_not_a_sleep()
    {
        StartWatcher();
        for (var i = 0; i < 10; i++) Tick();
        ExpectNoMsg(TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public void A_wall_clock_ahead_of_the_monotonic_clock_means_the_machine_slept()
    {
        StartWatcher();
        Tick();

        _clock.Sleep(TimeSpan.FromMinutes(40));
        Tick();

        var woke = ExpectMsg<SleepWatcher.Woke>(TimeSpan.FromSeconds(3));
        // The watcher reads the two clocks while this thread moves them, so it may be one tick off either way.
        Assert.InRange(woke.Slept, TimeSpan.FromMinutes(40) - CheckEvery, TimeSpan.FromMinutes(40) + CheckEvery);
    }

    [Fact]
    public void A_wall_clock_set_back_or_nudged_by_less_than_the_threshold_is_not_a_sleep()
    {
        StartWatcher();
        _clock.SetBack(TimeSpan.FromHours(1));
        Tick();
        _clock.Sleep(TimeSpan.FromSeconds(4));
        Tick();
        ExpectNoMsg(TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public void After_a_wake_every_service_is_checked_at_once_a_failed_one_restarted_and_its_cluster_probed()
    {
        var webProbe = new ScriptedProbe();
        webProbe.AlwaysAnswer(ProbeResult.Ok);
        var tunnels = new FakeTunnelFactory();
        var cluster = new ScriptedClusterProbe();
        var runtime = new LocalPortRuntime(tunnels, s => s.Name == "web" ? webProbe : new ScriptedProbe(), () => 0.5)
        {
            Clock = _clock,
            ClusterProbe = cluster,
        };
        var gaveUp = RestartPolicy.Default with { Enabled = false };
        Sys.EventStream.Subscribe(TestActor, typeof(ServiceStatusChanged));
        Sys.EventStream.Subscribe(TestActor, typeof(MachineWoke));
        var root = Sys.ActorOf(LocalPortSupervisor.Props([Specs.Service("web"), KubeSpecs.Service("api", policy: gaveUp)], runtime), "localport");
        AwaitCondition(() => root.Ask<StatusSnapshot>(GetStatus.Instance).Result.Services.All(s => s.State == ServiceState.Running), TimeSpan.FromSeconds(3));
        AwaitCondition(() => webProbe.Calls == 1 && cluster.Calls == 1, TimeSpan.FromSeconds(3));
        tunnels.Started.Single(t => t.Service == "api").Exit(1);
        FishForMessage<ServiceStatusChanged>(m => m.Status is { Name: "api", State: ServiceState.Failed }, TimeSpan.FromSeconds(3));
        var started = tunnels.Started.Count;

        _clock.Sleep(TimeSpan.FromHours(8));
        Tick();

        FishForMessage<MachineWoke>(m => m.Slept == TimeSpan.FromHours(8), TimeSpan.FromSeconds(3));
        FishForMessage<ServiceStatusChanged>(m => m.Status is { Name: "api", State: ServiceState.Running }, TimeSpan.FromSeconds(3));
        Assert.Equal(started + 1, tunnels.Started.Count);
        AwaitCondition(() => webProbe.Calls == 2, TimeSpan.FromSeconds(3));
        AwaitCondition(() => cluster.Calls >= 3, TimeSpan.FromSeconds(3));
    }

    [Fact]
    public void After_a_wake_a_failing_check_is_repeated_at_once_until_the_threshold_judges_the_forward()
    {
        var probe = new ScriptedProbe();
        probe.AlwaysAnswer(ProbeResult.Ok);
        var check = HealthCheckSpec.Default with { Interval = TimeSpan.FromMinutes(1), FailureThreshold = 3 };
        var health = ChildActorOf(HealthCheckActor.Props(Specs.Service(check: check), probe));
        health.Tell(HealthCheckActor.ForwardUp.Instance);
        ExpectMsg<HealthCheckActor.HealthChanged>(m => m.Healthy, TimeSpan.FromSeconds(3));
        probe.AlwaysAnswer(ProbeResult.Fail("connection closed at once"));

        health.Tell(HealthCheckActor.CheckNow.Instance);

        var verdict = ExpectMsg<HealthCheckActor.HealthChanged>(TimeSpan.FromSeconds(3));
        Assert.False(verdict.Healthy);
        Assert.Equal(4, probe.Calls);
    }
}
