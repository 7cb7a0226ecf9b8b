using Akka.Actor;
using LocalPort.Actors.Services;
using LocalPort.Actors.Supervision;
using LocalPort.Actors.Tests.Support;
using LocalPort.Core.Config;
using LocalPort.Core.Health;

namespace LocalPort.Actors.Tests.Supervision;

public class LocalPortSupervisorTests : VirtualTimeTestKit
{
    private readonly FakeTunnelFactory _tunnels = new();
    private readonly Dictionary<string, ScriptedProbe> _probes = new();

    private IActorRef StartRoot(params ServiceSpec[] services) => StartRoot(autoStart: true, services);

    private IActorRef StartRoot(bool autoStart, params ServiceSpec[] services)
    {
        foreach (var s in services) _probes[s.Name] = new ScriptedProbe();
        foreach (var probe in _probes.Values) probe.AlwaysAnswer(ProbeResult.Ok);
        var runtime = new LocalPortRuntime(_tunnels, s => _probes[s.Name], () => 0.5);
        Sys.EventStream.Subscribe(TestActor, typeof(ServiceStatusChanged));
        return Sys.ActorOf(LocalPortSupervisor.Props(services, runtime, autoStart: autoStart), "localport");
    }

    private ServiceStatus ExpectStatus(string name, Func<ServiceStatus, bool> predicate) =>
        FishForMessage<ServiceStatusChanged>(m => m.Status.Name == name && predicate(m.Status), TimeSpan.FromSeconds(3)).Status;

    /// <summary>Services report in any order, so wait on the root's snapshot rather than on one event.</summary>
    private void AwaitAll(IActorRef root, Func<ServiceStatus, bool> predicate) =>
        AwaitCondition(() => root.Ask<StatusSnapshot>(GetStatus.Instance).Result.Services.All(predicate), TimeSpan.FromSeconds(3));

    [Fact]
    public void Healthy_services_are_reported_running_and_healthy()
    {
        var root = StartRoot(Specs.Service("web"), Specs.Service("db"));
        AwaitAll(root, s => s is { State: ServiceState.Running, Healthy: true });

        AwaitAssert(() =>
        {
            var snapshot = root.Ask<StatusSnapshot>(GetStatus.Instance).Result;
            Assert.Equal(["db", "web"], snapshot.Services.Select(s => s.Name));
            Assert.All(snapshot.Services, s => Assert.Equal(ServiceState.Running, s.State));
        }, TimeSpan.FromSeconds(3));
    }

    [Fact]
    public void Disabled_services_are_listed_but_never_started()
    {
        var root = StartRoot(Specs.Service("web"), Specs.Service("off") with { Enabled = false });
        ExpectStatus("web", s => s.State == ServiceState.Running);

        var snapshot = root.Ask<StatusSnapshot>(GetStatus.Instance).Result;
        Assert.Equal(ServiceState.Disabled, snapshot.Services.Single(s => s.Name == "off").State);
        Assert.Single(_tunnels.Started);
    }

    [Fact]
    public void Failing_health_checks_restart_only_that_service()
    {
        var check = HealthCheckSpec.Default with { FailureThreshold = 1 };
        var root = StartRoot(Specs.Service("web", check: check), Specs.Service("db", check: check));
        AwaitAll(root, s => s.Healthy == true);
        var before = _tunnels.Started.Count;

        _probes["web"].AlwaysAnswer(ProbeResult.Fail("HTTP 503"));
        Advance(HealthCheckSpec.Default.Interval);

        var restarted = ExpectStatus("web", s => s.State == ServiceState.Running && s.Restarts == 1);
        Assert.Contains("HTTP 503", restarted.LastError);
        Assert.Equal(before + 1, _tunnels.Started.Count);
    }

    [Fact]
    public void Stop_all_stops_every_service_in_priority_order()
    {
        var root = StartRoot(Specs.Service("low") with { Priority = 1 }, Specs.Service("high") with { Priority = 9 });
        AwaitAll(root, s => s.State == ServiceState.Running);

        root.Tell(StopAll.Instance, TestActor);

        var stopping = new List<string>();
        FishForMessage(m =>
        {
            if (m is ServiceStatusChanged { Status.State: ServiceState.Stopping } c) stopping.Add(c.Status.Name);
            return m is AllStopped;
        }, TimeSpan.FromSeconds(3));
        Assert.Equal(["high", "low"], stopping);
        Assert.All(_tunnels.Started, t => Assert.True(t.StoppedGracefully));
    }

    [Fact]
    public void Without_auto_start_services_are_listed_stopped_and_start_only_when_asked()
    {
        var root = StartRoot(autoStart: false, Specs.Service("web"), Specs.Service("db"));

        AwaitAll(root, s => s.State == ServiceState.Stopped);
        Assert.True(_tunnels.NoneStartedWithin(TimeSpan.FromMilliseconds(200)));
        root.Tell(new StopService("db"), TestActor);
        FishForMessage<CommandAccepted>(_ => true, TimeSpan.FromSeconds(3));
        root.Tell(new StartService("web"), TestActor);
        FishForMessage<CommandAccepted>(_ => true, TimeSpan.FromSeconds(3));

        ExpectStatus("web", s => s is { State: ServiceState.Running, Healthy: true });
        Assert.Single(_tunnels.Started);
        Assert.Equal(ServiceState.Stopped, root.Ask<StatusSnapshot>(GetStatus.Instance).Result.Services.Single(s => s.Name == "db").State);
    }

    [Fact]
    public void A_forced_stop_gives_the_tunnel_no_grace_and_a_plain_stop_does()
    {
        var root = StartRoot(Specs.Service("web"), Specs.Service("db"));
        AwaitAll(root, s => s.State == ServiceState.Running);

        root.Tell(new StopService("web", Force: true), TestActor);
        root.Tell(new StopService("db"), TestActor);

        AwaitAll(root, s => s.State == ServiceState.Stopped);
        var tunnels = _tunnels.Started.ToDictionary(t => t.Service);
        Assert.Equal(TimeSpan.Zero, tunnels["web"].StopGrace);
        Assert.True(tunnels["db"].StopGrace > TimeSpan.Zero);
    }
}
