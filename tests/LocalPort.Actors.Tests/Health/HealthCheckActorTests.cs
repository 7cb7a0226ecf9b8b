using Akka.Actor;
using LocalPort.Actors.Health;
using LocalPort.Actors.Tests.Support;
using LocalPort.Core.Config;
using LocalPort.Core.Health;

namespace LocalPort.Actors.Tests.Health;

public class HealthCheckActorTests : VirtualTimeTestKit
{
    private static readonly HealthCheckSpec Check = HealthCheckSpec.Default with
    {
        Interval = TimeSpan.FromSeconds(5), FailureThreshold = 3, SuccessThreshold = 2,
    };

    private readonly ScriptedProbe _probe = new();

    [Fact]
    public void Checks_do_not_run_until_the_forward_is_up()
    {
        ChildActorOf(HealthCheckActor.Props(Specs.Service(check: Check), _probe));
        Advance(TimeSpan.FromMinutes(1));
        ExpectNoMsg(TimeSpan.FromMilliseconds(200));
        Assert.Equal(0, _probe.Calls);
    }

    [Fact]
    public void Services_with_the_same_interval_are_checked_at_the_same_instants()
    {
        var (first, second) = (new ScriptedProbe(), new ScriptedProbe());
        first.AlwaysAnswer(ProbeResult.Ok);
        second.AlwaysAnswer(ProbeResult.Ok);
        ChildActorOf(HealthCheckActor.Props(Specs.Service("first", check: Check), first)).Tell(HealthCheckActor.ForwardUp.Instance);
        AwaitCondition(() => first.Calls == 1, TimeSpan.FromSeconds(3));
        Advance(TimeSpan.FromMilliseconds(1300));
        ChildActorOf(HealthCheckActor.Props(Specs.Service("second", check: Check), second)).Tell(HealthCheckActor.ForwardUp.Instance);
        AwaitCondition(() => second.Calls == 1, TimeSpan.FromSeconds(3));

        // 5 s after the first: its tick, and the second's first tick with it (3.7 s after its own start, not 5 s).
        Advance(TimeSpan.FromMilliseconds(3700));
        AwaitCondition(() => first.Calls == 2 && second.Calls == 2, TimeSpan.FromSeconds(3));
        Advance(TimeSpan.FromSeconds(5));
        AwaitCondition(() => first.Calls == 3 && second.Calls == 3, TimeSpan.FromSeconds(3));
    }

    [Fact]
    public void Failure_threshold_consecutive_failures_report_unhealthy()
    {
        _probe.AlwaysAnswer(ProbeResult.Fail("closed by far side"));
        var health = ChildActorOf(HealthCheckActor.Props(Specs.Service(check: Check), _probe));
        health.Tell(HealthCheckActor.ForwardUp.Instance);

        AwaitCondition(() => _probe.Calls == 1, TimeSpan.FromSeconds(3));
        Advance(TimeSpan.FromSeconds(5));
        AwaitCondition(() => _probe.Calls == 2, TimeSpan.FromSeconds(3));
        ExpectNoMsg(TimeSpan.FromMilliseconds(100));
        Advance(TimeSpan.FromSeconds(5));

        var changed = ExpectMsg<HealthCheckActor.HealthChanged>(TimeSpan.FromSeconds(3));
        Assert.False(changed.Healthy);
        Assert.Equal("closed by far side", changed.Error);
    }

    [Fact]
    public void Success_threshold_is_honoured_before_reporting_healthy()
    {
        _probe.AlwaysAnswer(ProbeResult.Ok);
        var health = ChildActorOf(HealthCheckActor.Props(Specs.Service(check: Check), _probe));
        health.Tell(HealthCheckActor.ForwardUp.Instance);

        AwaitCondition(() => _probe.Calls == 1, TimeSpan.FromSeconds(3));
        ExpectNoMsg(TimeSpan.FromMilliseconds(100));
        Advance(TimeSpan.FromSeconds(5));

        Assert.True(ExpectMsg<HealthCheckActor.HealthChanged>(TimeSpan.FromSeconds(3)).Healthy);
    }

    [Fact]
    public void Forward_down_pauses_checks_and_forgets_counts()
    {
        _probe.AlwaysAnswer(ProbeResult.Fail("refused"));
        var health = ChildActorOf(HealthCheckActor.Props(Specs.Service(check: Check), _probe));
        health.Tell(HealthCheckActor.ForwardUp.Instance);
        AwaitCondition(() => _probe.Calls == 1, TimeSpan.FromSeconds(3));
        health.Tell(HealthCheckActor.ForwardDown.Instance);
        Advance(TimeSpan.FromMinutes(1));
        ExpectNoMsg(TimeSpan.FromMilliseconds(200));
        Assert.Equal(1, _probe.Calls);
    }

    [Fact]
    public void A_disabled_check_never_probes()
    {
        var health = ChildActorOf(HealthCheckActor.Props(Specs.Service(check: Check with { Enabled = false }), _probe));
        health.Tell(HealthCheckActor.ForwardUp.Instance);
        Advance(TimeSpan.FromMinutes(1));
        ExpectNoMsg(TimeSpan.FromMilliseconds(200));
        Assert.Equal(0, _probe.Calls);
    }
}
