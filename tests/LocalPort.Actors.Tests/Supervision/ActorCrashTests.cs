using Akka.Actor;
using LocalPort.Actors.Chaos;
using LocalPort.Actors.Services;
using LocalPort.Actors.Tests.Reload;
using LocalPort.Actors.Tests.Support;
using LocalPort.Core.Config;
using LocalPort.Core.Health;
using LocalPort.Core.Recovery;
using LocalPort.Core.Relay.Toxics;

namespace LocalPort.Actors.Tests.Supervision;

/// <summary>
/// Actors crashed on purpose (Akka's Kill: an ActorKilledException in the actor, handled by the root's
/// supervisor strategy like any other exception): the root replaces them from its current state.
/// </summary>
public sealed class ActorCrashTests : ReloadTestKit
{
    private static readonly ServiceSpec Web = Specs.Service("web");
    private static readonly Toxic Slow = new() { Name = "slow", Type = ToxicType.Latency, Latency = TimeSpan.FromMilliseconds(50) };

    private IActorRef CurrentChild(string name)
    {
        IActorRef? child = null;
        AwaitCondition(() => (child = Child(name)) is not null, TimeSpan.FromSeconds(3));
        return child!;
    }

    private void Crash(string name)
    {
        var child = CurrentChild(name);
        var watcher = CreateTestProbe();
        watcher.Watch(child);
        child.Tell(Kill.Instance);
        watcher.ExpectTerminated(child, TimeSpan.FromSeconds(3));
    }

    [Fact]
    public void A_crashed_forward_is_replaced_with_the_spec_of_the_last_reload_not_the_first()
    {
        var root = StartRoot([Web]);
        ExpectStatus("web", s => s.State == ServiceState.Running);
        var noRestarts = Web with { RestartPolicy = Web.RestartPolicy with { Enabled = false } };
        Assert.Equal(["web"], Apply(root, noRestarts).UpdatedInPlace);

        var first = Tunnels.Next();
        Crash("forward-web");
        Assert.True(first.Killed);
        var replacement = Tunnels.Next(TimeSpan.FromSeconds(3));
        ExpectStatus("web", s => s.State == ServiceState.Running);
        replacement.Exit(1);

        // The reloaded policy (no restarts) holds for the replacement; the start-up one would have restarted it.
        ExpectStatus("web", s => s.State == ServiceState.Failed);
        Advance(TimeSpan.FromMinutes(10));
        Assert.True(Tunnels.NoneStartedWithin(TimeSpan.FromMilliseconds(200)));
    }

    [Fact]
    public void A_crashed_forward_keeps_its_toxics_and_restart_count()
    {
        var root = StartRoot([Web]);
        ExpectStatus("web", s => s.State == ServiceState.Running);
        root.Tell(new ChaosCommand("web", new AddToxic(Slow)), TestActor);
        FishForMessage<ChaosApplied>(_ => true, TimeSpan.FromSeconds(3));
        Advance(FailureAccount.FlapWindow);
        Tunnels.Next().Exit(1);
        ExpectStatus("web", s => s is { State: ServiceState.Running, Restarts: 1 });

        Crash("forward-web");

        ExpectStatus("web", s => s.State == ServiceState.Running);
        root.Tell(new ChaosCommand("web", ListToxics.Instance), TestActor);
        var state = FishForMessage<ChaosState>(_ => true, TimeSpan.FromSeconds(3));
        Assert.Equal(["slow"], state.Toxics.Select(t => t.Name));
        Assert.Equal(1, Snapshot(root).Single().Restarts);
    }

    [Fact]
    public void Checks_resume_after_the_health_actor_crashed()
    {
        var root = StartRoot([Web]);
        AwaitAll(root, s => s.Healthy == true);

        var calls = ProbeOf("web").Calls;
        Crash("health-web");

        // The replacement is told the forward is up and checks at once, then on its interval.
        AwaitCondition(() => ProbeOf("web").Calls > calls, TimeSpan.FromSeconds(3));
        ProbeOf("web").AlwaysAnswer(ProbeResult.Fail("HTTP 503"));
        for (var tick = 1; tick <= Web.HealthCheck.FailureThreshold; tick++)
        {
            var before = ProbeOf("web").Calls;
            Advance(Web.HealthCheck.Interval);
            AwaitCondition(() => ProbeOf("web").Calls > before, TimeSpan.FromSeconds(3));
        }

        // Failing checks reach the forward, which replaces the tunnel.
        Assert.Contains("HTTP 503", ExpectStatus("web", s => s.LastError?.Contains("HTTP 503") == true).LastError);
    }

    [Fact]
    public void A_forward_that_keeps_crashing_shows_failed_with_the_reason_and_restart_revives_it()
    {
        var root = StartRoot([Web]);
        ExpectStatus("web", s => s.State == ServiceState.Running);
        for (var crash = 0; crash <= 10; crash++) Crash("forward-web");

        var failed = ExpectStatus("web", s => s.State == ServiceState.Failed);
        Assert.Contains("forward actor crashed", failed.LastError);
        Assert.Contains("ActorKilledException", failed.LastError);
        Assert.Null(Child("forward-web"));

        root.Tell(new RestartService("web"), TestActor);
        FishForMessage<CommandAccepted>(_ => true, TimeSpan.FromSeconds(3));
        ExpectStatus("web", s => s.State == ServiceState.Running);
    }

    [Fact]
    public void During_stop_all_every_request_is_answered_with_a_reason()
    {
        var root = StartRoot([Web]);
        ExpectStatus("web", s => s.State == ServiceState.Running);
        Tunnels.Next().HoldStop = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        root.Tell(StopNewWork.Instance, TestActor);
        FishForMessage<PhaseTargets>(_ => true, TimeSpan.FromSeconds(3));
        root.Tell(StopAll.Instance, TestActor);
        ExpectStatus("web", s => s.State == ServiceState.Stopping);

        foreach (var request in new object[] { new StartService("web"), new StopService("web"), new RestartService("web"),
                     new ChaosCommand("web", ListToxics.Instance) })
        {
            root.Tell(request, TestActor);
            var refused = FishForMessage<CommandRefused>(_ => true, TimeSpan.FromSeconds(3));
            Assert.Equal(RefusalCode.ShuttingDown, refused.Code);
        }
    }
}
