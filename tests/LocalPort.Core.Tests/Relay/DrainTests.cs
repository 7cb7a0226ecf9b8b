using System.Net;
using System.Net.Sockets;
using LocalPort.Core.Relay;

namespace LocalPort.Core.Tests.Relay;

/// <summary>Runs alone: it lengthens the relay's process-wide quiet period, which the other relay tests rely on.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class QuietPeriodCollection
{
    public const string Name = "relay quiet period";
}

/// <summary>
/// Shutdown's complete-current drains each relay: it waits for exchanges in flight, never for connections that are
/// merely open. With a quiet period of a minute, only the rule itself (not the clock) can let a drain end.
/// </summary>
[Collection(QuietPeriodCollection.Name)]
public sealed class DrainTests : IAsyncLifetime
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(5);
    private readonly TimeSpan _quietBefore = RelayListener.QuietPeriod;
    private readonly Upstream _upstream = Upstream.Echo();
    private readonly RelayListener _relay = RelayListener.Bind(new IPEndPoint(IPAddress.Loopback, 0)).Start();
    private readonly List<Socket> _clients = [];

    public Task InitializeAsync()
    {
        RelayListener.QuietPeriod = TimeSpan.FromMinutes(1);
        _relay.SetTarget(new IPEndPoint(IPAddress.Loopback, _upstream.Port));
        return Task.CompletedTask;
    }

    [Fact]
    public async Task Open_connections_that_carry_nothing_are_not_in_flight_and_the_drain_ends_at_once()
    {
        // Like a tcp health check or a client at an idle prompt: connected through to the target, nothing sent.
        await ConnectAsync();
        await ConnectAsync();
        Assert.True(await RelayHarness.UntilAsync(() => _upstream.Accepted == 2, Bound), "the relay did not dial the target twice");
        Assert.True(await RelayHarness.UntilAsync(() => _relay.InFlight == 0, Bound),
            $"{_relay.InFlight} open connection(s) that never carried a byte still count as in flight");

        _relay.StopAccepting();
        var drained = _relay.DrainAsync();

        Assert.True(drained.IsCompletedSuccessfully, "the drain waited although nothing was in flight");
        Assert.Equal(0, drained.Result);
        Assert.Equal(2, _relay.Active);
    }

    [Fact]
    public async Task A_connection_that_carried_bytes_holds_the_drain_until_it_ends_and_is_counted()
    {
        var idle = await ConnectAsync();
        var busy = await ConnectAsync();
        await RelayHarness.RoundTripAsync(busy);
        Assert.True(await RelayHarness.UntilAsync(() => _upstream.Accepted == 2 && _relay.InFlight == 1, Bound),
            $"in flight: {_relay.InFlight}, expected only the connection that carried bytes");

        _relay.StopAccepting();
        var drained = _relay.DrainAsync();
        Assert.False(drained.IsCompleted, "the drain ended while an exchange was in flight");
        // Still relayed while the drain waits.
        await RelayHarness.RoundTripAsync(busy);

        busy.Shutdown(SocketShutdown.Send);
        Assert.Equal(ReadOutcome.Closed, (await RelayHarness.ReadToEndAsync(busy, Bound)).End);
        busy.Dispose();
        Assert.Equal(1, await drained.WaitAsync(Bound));
        GC.KeepAlive(idle);
    }

    private Task<Socket> ConnectAsync() => RelayHarness.ConnectClientAsync(_relay.LocalEndPoint, _clients, Bound);

    public async Task DisposeAsync()
    {
        RelayListener.QuietPeriod = _quietBefore;
        foreach (var client in _clients) client.Dispose();
        await _relay.DisposeAsync();
        _upstream.Dispose();
    }
}
