using Akka.Actor;
using LocalPort.Actors.Chaos;
using LocalPort.Actors.Services;
using LocalPort.Actors.Supervision;
using LocalPort.Actors.Tests.Support;
using LocalPort.Core.Health;
using LocalPort.Core.Relay.Toxics;

namespace LocalPort.Actors.Tests.Chaos;

public sealed class RootChaosTests : VirtualTimeTestKit
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(5);

    private IActorRef StartRoot()
    {
        var probe = new ScriptedProbe();
        probe.AlwaysAnswer(ProbeResult.Ok);
        var runtime = new LocalPortRuntime(new FakeTunnelFactory(), _ => probe, () => 0.5);
        var root = Sys.ActorOf(LocalPortSupervisor.Props([Specs.Service("web"), Specs.Service("db")], runtime), "localport");
        AwaitCondition(() => root.Ask<StatusSnapshot>(GetStatus.Instance).Result.Services.All(s => s.State == ServiceState.Running), Bound);
        return root;
    }

    [Fact]
    public void A_chaos_command_for_an_unknown_service_is_refused_with_the_running_ones()
    {
        var root = StartRoot();

        var refused = root.Ask<CommandRefused>(new ChaosCommand("cache", ListToxics.Instance), Bound).Result;

        Assert.Equal("no running service named 'cache'; running: db, web", refused.Reason);
    }

    [Fact]
    public void A_chaos_command_reaches_only_the_named_service_and_is_answered_by_it()
    {
        var root = StartRoot();
        var toxic = new Toxic { Name = "cut", Type = ToxicType.ResetPeer };

        var applied = root.Ask<ChaosApplied>(new ChaosCommand("web", new AddToxic(toxic)), Bound).Result;

        Assert.Equal("web", applied.Service);
        Assert.Equal([toxic], root.Ask<ChaosState>(new ChaosCommand("web", ListToxics.Instance), Bound).Result.Toxics);
        Assert.Empty(root.Ask<ChaosState>(new ChaosCommand("db", ListToxics.Instance), Bound).Result.Toxics);
    }
}
