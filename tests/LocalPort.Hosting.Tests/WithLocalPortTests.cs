using Akka.Actor;
using Akka.Hosting;
using LocalPort.Actors.Hosting;
using LocalPort.Actors.Services;
using LocalPort.Actors.Shutdown;
using LocalPort.Actors.Supervision;
using LocalPort.Core;

namespace LocalPort.Hosting.Tests;

/// <summary>LocalPort embedded in a host's ActorSystem through the one Akka.Hosting call.</summary>
public sealed class WithLocalPortTests : Akka.Hosting.TestKit.TestKit, IDisposable
{
    private readonly TestUpstream _upstream = new();
    private readonly string _home = Directory.CreateTempSubdirectory("lp-hosting-").FullName;

    protected override void ConfigureAkka(AkkaConfigurationBuilder builder, IServiceProvider provider) =>
        builder.WithLocalPort(new LocalPortOptions(_upstream.Config()) { Paths = new LocalPortPaths(_home, Path.Combine(_home, "run")) });

    [Fact]
    public async Task The_root_supervisor_is_registered_and_the_forward_serves_traffic()
    {
        await UntilRunningAsync();
        Assert.True(await _upstream.EchoThroughRelayAsync());
    }

    /// <summary>The forward binds its port as it starts: wait for it to run before sending traffic.</summary>
    private async Task UntilRunningAsync()
    {
        var root = await ActorRegistry.GetAsync<LocalPortSupervisor>();
        await AwaitAssertAsync(async () =>
        {
            var snapshot = await root.Ask<StatusSnapshot>(GetStatus.Instance, TimeSpan.FromSeconds(3));
            Assert.Equal(ServiceState.Running, snapshot.Services.Single().State);
        }, TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task The_required_actor_resolves_from_the_host_services()
    {
        var required = Host.Services.GetService(typeof(IRequiredActor<LocalPortSupervisor>)) as IRequiredActor<LocalPortSupervisor>;
        Assert.NotNull(required);
        var root = await required!.GetAsync();
        Assert.Equal("localport", root.Path.Name);
    }

    [Fact]
    public async Task Service_state_changes_are_published_on_the_event_stream()
    {
        var probe = CreateTestProbe();
        Sys.EventStream.Subscribe(probe, typeof(ServiceStatusChanged));
        var root = await ActorRegistry.GetAsync<LocalPortSupervisor>();
        root.Tell(new RestartService("echo"));
        await probe.FishForMessageAsync(m => m is ServiceStatusChanged { Status.State: ServiceState.Running }, TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task The_host_shutdown_runs_the_four_phases_and_leaves_nothing()
    {
        var probe = CreateTestProbe();
        Sys.EventStream.Subscribe(probe, typeof(ShutdownPhaseCompleted));
        await UntilRunningAsync();
        Assert.True(await _upstream.EchoThroughRelayAsync());

        await CoordinatedShutdown.Get(Sys).Run(CoordinatedShutdown.ClrExitReason.Instance);

        Assert.True(Sys.WhenTerminated.Wait(TimeSpan.FromSeconds(10)));
        var completed = Enumerable.Range(0, 4).Select(_ => probe.ExpectMsg<ShutdownPhaseCompleted>(TimeSpan.FromSeconds(1)).Report.Phase);
        Assert.Equal(ShutdownPhases.All, completed);
        Assert.False(await PortAccepts(_upstream.LocalPort), "the relay port is still open after the host stopped");
    }

    private static async Task<bool> PortAccepts(int port)
    {
        using var client = new System.Net.Sockets.TcpClient();
        try
        {
            await client.ConnectAsync(System.Net.IPAddress.Loopback, port);
            return true;
        }
        catch (System.Net.Sockets.SocketException)
        {
            return false;
        }
    }

    public new void Dispose()
    {
        _upstream.Dispose();
        try { Directory.Delete(_home, recursive: true); } catch (IOException) { }
    }
}
