using System.Net;
using System.Net.Sockets;
using LocalPort.Core.Relay;

namespace LocalPort.Core.Tests.Relay;

/// <summary>A relay owns its port alone: a second LocalPort (another LOCALPORT_HOME) cannot share it.</summary>
public sealed class RelayBindTests
{
    [Fact]
    public async Task A_second_relay_on_the_same_port_is_refused()
    {
        await using var first = RelayListener.Bind(new IPEndPoint(IPAddress.Loopback, 0));

        var clash = Assert.Throws<SocketException>(() => RelayListener.Bind(first.LocalEndPoint));

        Assert.Equal(SocketError.AddressAlreadyInUse, clash.SocketErrorCode);
    }

    [Fact]
    public async Task The_port_can_be_bound_again_right_after_the_relay_closed_with_a_connection_open()
    {
        var relay = RelayListener.Bind(new IPEndPoint(IPAddress.Loopback, 0)).Start();
        var endpoint = relay.LocalEndPoint;
        using (var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            await client.ConnectAsync(endpoint).WaitAsync(TimeSpan.FromSeconds(5));
            // The relay side closes first (no target, disposed): its end of the connection lingers on the port.
            await relay.DisposeAsync();
            try { await client.ReceiveAsync(new byte[1], SocketFlags.None).WaitAsync(TimeSpan.FromSeconds(5)); }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset) { } // closed either way
        }

        await using var again = RelayListener.Bind(endpoint);
        Assert.Equal(endpoint.Port, again.LocalEndPoint.Port);
    }
}
