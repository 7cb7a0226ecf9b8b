using System.Net;
using System.Net.Sockets;
using Akka.Actor;
using LocalPort.Actors.Chaos;
using LocalPort.Actors.Forwarding;
using LocalPort.Actors.Reload;
using LocalPort.Actors.Services;
using LocalPort.Core.Recovery;
using LocalPort.Actors.Tests.Support;
using LocalPort.Core.Config;
using LocalPort.Core.Processes;
using LocalPort.Core.Relay.Toxics;

namespace LocalPort.Actors.Tests.Chaos;

public sealed class ForwardActorChaosTests : VirtualTimeTestKit
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(5);
    private readonly FakeTunnelFactory _fakes = new();
    private readonly SleepTunnelFactory _sleeps = new();

    private static readonly Toxic Latency = new() { Name = "slow", Type = ToxicType.Latency, Latency = TimeSpan.FromMilliseconds(200) };
    private static readonly Toxic Down = new() { Name = "down", Type = ToxicType.Down };

    private IActorRef StartForward(ServiceSpec spec, bool realProcesses = false)
    {
        var runtime = new LocalPortRuntime(realProcesses ? _sleeps : _fakes, _ => new ScriptedProbe(), () => 0.5);
        var forward = ChildActorOf(ForwardActor.Props(spec, runtime));
        ExpectState(ServiceState.Running);
        return forward;
    }

    private ForwardActor.StateChanged ExpectState(ServiceState state) =>
        FishForMessage<ForwardActor.StateChanged>(m => m.State == state, Bound);

    private T Reply<T>(IActorRef forward, ChaosAction action) where T : ChaosReply =>
        forward.Ask<ChaosReply>(action, Bound).Result as T ?? throw new Xunit.Sdk.XunitException($"expected {typeof(T).Name}");

    private static ServiceSpec Ssh(string name = "svc") => Specs.Service(name) with { Technology = Technology.Ssh };

    [Fact]
    public void Toxics_written_in_the_spec_are_listed_from_the_start()
    {
        var forward = StartForward(Specs.Service() with { Chaos = [Latency] });

        Assert.Equal([Latency], Reply<ChaosState>(forward, ListToxics.Instance).Toxics);
    }

    [Fact]
    public void An_added_toxic_is_listed_and_a_second_one_with_its_name_is_rejected()
    {
        var forward = StartForward(Specs.Service());

        var added = Reply<ChaosApplied>(forward, new AddToxic(Latency));
        var again = Reply<ChaosRejected>(forward, new AddToxic(Latency with { Latency = TimeSpan.FromSeconds(1) }));

        Assert.Equal([Latency], added.State.Toxics);
        Assert.Contains("already has a toxic named 'slow'", again.Reason);
        Assert.Equal([Latency], Reply<ChaosState>(forward, ListToxics.Instance).Toxics);
    }

    [Fact]
    public void Removing_a_toxic_it_does_not_have_is_rejected_with_the_names_it_has()
    {
        var forward = StartForward(Specs.Service() with { Chaos = [Latency] });

        var rejected = Reply<ChaosRejected>(forward, new RemoveToxic("fast"));
        var removed = Reply<ChaosApplied>(forward, new RemoveToxic("slow"));

        Assert.Contains("has no toxic named 'fast'; it has slow", rejected.Reason);
        Assert.Empty(removed.State.Toxics);
    }

    [Fact]
    public void Reset_removes_every_toxic()
    {
        var forward = StartForward(Specs.Service() with { Chaos = [Latency, Down] });

        Assert.Empty(Reply<ChaosApplied>(forward, ResetToxics.Instance).State.Toxics);
    }

    [Fact]
    public async Task Toxics_stay_on_the_relay_when_the_tunnel_is_replaced()
    {
        var runtime = new LocalPortRuntime(_fakes, _ => new ScriptedProbe(), () => 0.5);
        var forward = ActorOfAsTestActorRef<ForwardActor>(ForwardActor.Props(Specs.Service(), runtime), TestActor);
        ExpectState(ServiceState.Running);
        Reply<ChaosApplied>(forward, new AddToxic(Down));
        Advance(FailureAccount.RetryFloor);

        _fakes.Next().Exit(1);
        _fakes.Next();
        ExpectState(ServiceState.Running);

        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        var reset = await Assert.ThrowsAsync<SocketException>(async () =>
        {
            await client.ConnectAsync(new IPEndPoint(IPAddress.Loopback, forward.UnderlyingActor.BoundPort));
            await client.ReceiveAsync(new byte[1], SocketFlags.None, new CancellationTokenSource(Bound).Token);
        });
        Assert.Equal(SocketError.ConnectionReset, reset.SocketErrorCode);
    }

    [Fact]
    public void Kill_on_a_tcp_service_answers_that_there_is_no_process_to_kill()
    {
        var forward = StartForward(Specs.Service("cache"));

        var answer = Reply<ChaosNotApplicable>(forward, KillTunnel.Instance);

        Assert.Contains("cache is a tcp service", answer.Reason);
        Assert.Contains("no process to kill", answer.Reason);
    }

    [Fact]
    public void Kill_sends_SIGKILL_to_the_tunnel_process_and_the_forward_starts_a_new_one()
    {
        var forward = StartForward(Ssh("db"), realProcesses: true);
        var first = _sleeps.Next();
        Advance(FailureAccount.RetryFloor);

        var answer = Reply<ChaosApplied>(forward, KillTunnel.Instance);

        Assert.Equal($"sent SIGKILL to pid {first.Pid}", answer.Detail);
        Assert.Equal(137, first.Exited.Wait(Bound) ? first.Exited.Result : 0);
        var second = _sleeps.Next();
        var running = ExpectState(ServiceState.Running);
        Assert.Equal(second.Pid, running.Pid);
        Assert.Equal(1, running.Restarts);
    }

    [Fact]
    public void Pause_stops_the_tunnel_process_and_continues_it_after_the_duration()
    {
        var forward = StartForward(Ssh(), realProcesses: true);
        var tunnel = _sleeps.Next();

        var answer = Reply<ChaosApplied>(forward, new PauseTunnel(TimeSpan.FromSeconds(5)));

        Assert.Equal(tunnel.Pid, answer.State.PausedPid);
        AwaitCondition(() => Posix.State(tunnel.Child.Pid) == 'T', Bound);
        Advance(TimeSpan.FromSeconds(5));
        AwaitCondition(() => Posix.State(tunnel.Child.Pid) is 'S' or 'R', Bound);
        Assert.Null(Reply<ChaosState>(forward, ListToxics.Instance).PausedPid);
        Assert.False(tunnel.Exited.IsCompleted);
    }

    [Fact]
    public void A_reload_that_changes_chaos_replaces_the_toxics_and_one_that_does_not_keeps_those_added_by_hand()
    {
        var spec = Specs.Service() with { Chaos = [Latency] };
        var forward = StartForward(spec);
        Reply<ChaosApplied>(forward, new AddToxic(Down));

        forward.Tell(new UpdateSpec(spec with { Description = "same chaos" }));
        Assert.Equal([Latency, Down], Reply<ChaosState>(forward, ListToxics.Instance).Toxics);

        forward.Tell(new UpdateSpec(spec with { Chaos = [] }));
        Assert.Empty(Reply<ChaosState>(forward, ListToxics.Instance).Toxics);
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        _sleeps.Dispose();
    }
}
