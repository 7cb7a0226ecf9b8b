using System.Net;
using LocalPort.Core.Config;
using LocalPort.Core.Relay;
using LocalPort.Core.Relay.Toxics;
using LocalPort.Core.Tests.Relay;
using static LocalPort.Core.Tests.Health.ProbeTestSupport;
using LoopbackServer = LocalPort.Core.Tests.Health.TcpProbeTests.LoopbackServer;

namespace LocalPort.Core.Tests.Health;

/// <summary>
/// A tcp check of a port this process's own relay serves is the relay's dial, not a loopback connection to the port:
/// the relay accepts nothing for it (<see cref="RelayListener.Total"/> stays 0), and it judges the far side as the
/// probe's own connection would. Where only the port path can tell (a chaos toxic), the check goes through the port.
/// </summary>
public sealed class RelayDialCheckTests
{
    [Fact]
    public async Task A_relayed_port_whose_upstream_holds_the_connection_is_healthy_without_a_connection_to_the_port()
    {
        using var upstream = new LoopbackServer(closeAtOnce: false);
        await using var relay = Relay(upstream.Port);

        var result = await CheckAsync(Service(HealthCheckType.Tcp, relay.LocalEndPoint.Port));

        Assert.True(result.Healthy, result.Error);
        Assert.Equal(0, relay.Total);
    }

    [Fact]
    public async Task A_relayed_port_whose_upstream_refuses_is_unhealthy_with_connection_refused()
    {
        await using var relay = Relay(FreePort.Next());

        var result = await CheckAsync(Service(HealthCheckType.Tcp, relay.LocalEndPoint.Port));

        Assert.False(result.Healthy);
        Assert.Equal("connection refused", result.Error);
        Assert.Equal(0, relay.Total);
    }

    [Fact]
    public async Task A_relayed_port_whose_upstream_hangs_up_at_once_is_unhealthy()
    {
        using var upstream = new LoopbackServer(closeAtOnce: true);
        await using var relay = Relay(upstream.Port);

        var result = await CheckAsync(Service(HealthCheckType.Tcp, relay.LocalEndPoint.Port));

        Assert.False(result.Healthy);
        Assert.Equal("closed by far side", result.Error);
        Assert.Equal(0, relay.Total);
    }

    [Fact]
    public async Task With_a_chaos_toxic_set_the_check_goes_through_the_port_and_meets_it()
    {
        using var upstream = new LoopbackServer(closeAtOnce: false);
        await using var relay = Relay(upstream.Port);
        relay.Toxics = ToxicSet.Of([Toxics.Of(ToxicType.Down)]);

        var result = await CheckAsync(Service(HealthCheckType.Tcp, relay.LocalEndPoint.Port));

        Assert.False(result.Healthy);
        Assert.Equal(1, relay.Total);
    }

    [Fact]
    public async Task A_relay_that_no_longer_accepts_is_checked_through_its_port()
    {
        using var upstream = new LoopbackServer(closeAtOnce: false);
        await using var relay = Relay(upstream.Port);
        relay.StopAccepting();

        var result = await CheckAsync(Service(HealthCheckType.Tcp, relay.LocalEndPoint.Port));

        Assert.False(result.Healthy);
        Assert.Equal("connection refused", result.Error);
    }

    private static RelayListener Relay(int upstreamPort)
    {
        var relay = RelayListener.Bind(new IPEndPoint(IPAddress.Loopback, 0)).Start();
        relay.SetTarget(new IPEndPoint(IPAddress.Loopback, upstreamPort));
        return relay;
    }
}
