using System.Net;
using System.Net.Sockets;
using LocalPort.Core.Relay;
using LocalPort.Core.Relay.Toxics;

namespace LocalPort.Core.Tests.Relay;

/// <summary>
/// TCP_NODELAY goes on each side of a relayed connection once bytes flow that way: interactive traffic is never held
/// back by Nagle, and a connection that carries nothing (every tcp health check) pays no system call for it.
/// </summary>
public sealed class NagleTests
{
    [Fact]
    public async Task Nodelay_is_set_on_both_sides_once_bytes_flow_and_not_before()
    {
        using var upstream = Upstream.Echo();
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen();
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await client.ConnectAsync(listener.LocalEndPoint!, bound.Token);
        using var accepted = await listener.AcceptAsync(bound.Token);
        using var connection = new RelayConnection(accepted, 64 * 1024, 1, new ToxicSource());
        var target = new RelayTarget(new IPEndPoint(IPAddress.Loopback, upstream.Port), new RelayTarget.Totals());
        var run = connection.RunAsync(target, bound.Token);

        while (upstream.Accepted == 0) await Task.Delay(5, bound.Token);
        Assert.False(accepted.NoDelay, "the client side had TCP_NODELAY before any byte moved");
        Assert.False(connection.Upstream!.NoDelay, "the target side had TCP_NODELAY before any byte moved");

        await RelayHarness.RoundTripAsync(client, size: 16);

        Assert.True(connection.Upstream.NoDelay, "the target side has no TCP_NODELAY after bytes went up");
        Assert.True(accepted.NoDelay, "the client side has no TCP_NODELAY after bytes came down");
        client.Shutdown(SocketShutdown.Send);
        await run.WaitAsync(bound.Token);
    }
}
