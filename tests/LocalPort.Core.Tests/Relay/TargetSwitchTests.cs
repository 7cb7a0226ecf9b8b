using System.Net;
using System.Net.Sockets;
using LocalPort.Core.Relay;
using Xunit.Abstractions;

namespace LocalPort.Core.Tests.Relay;

/// <summary>Make-before-break: a new target takes new connections while the old one finishes what it carries.</summary>
public sealed class TargetSwitchTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(5);
    private readonly Upstream _old = Upstream.Echo();
    private readonly Upstream _new = Upstream.Echo();
    private readonly RelayListener _relay = RelayListener.Bind(new IPEndPoint(IPAddress.Loopback, 0)).Start();
    private readonly List<Socket> _clients = [];

    private EndPoint Old => new IPEndPoint(IPAddress.Loopback, _old.Port);
    private EndPoint New => new IPEndPoint(IPAddress.Loopback, _new.Port);

    [Fact]
    public async Task New_connections_go_to_the_new_target_while_the_old_ones_carry_on()
    {
        _relay.SetTarget(Old);
        var before = await ConnectAsync();
        await RelayHarness.RoundTripAsync(before);

        _relay.SetTarget(New);
        var after = await ConnectAsync();
        await RelayHarness.RoundTripAsync(after);
        await RelayHarness.RoundTripAsync(before);

        Assert.Equal(1, _old.Accepted);
        Assert.Equal(1, _new.Accepted);
        Assert.Equal(64, _old.Received);
        _old.Dispose();
        await RelayHarness.RoundTripAsync(after);
    }

    [Fact]
    public async Task Draining_the_old_target_waits_for_its_exchange_to_end_and_ignores_the_new_target()
    {
        _relay.SetTarget(Old);
        var busy = await ConnectAsync();
        await RelayHarness.RoundTripAsync(busy);
        _relay.SetTarget(New);
        var onNew = await ConnectAsync();

        var drained = _relay.DrainTargetAsync(Old, Bound);
        for (var i = 0; i < 8; i++)
        {
            await Task.Delay(50);
            await RelayHarness.RoundTripAsync(onNew);
            await RelayHarness.RoundTripAsync(busy);
            Assert.False(drained.IsCompleted, $"drained while the old target still carried an exchange (round {i})");
        }
        var quiet = System.Diagnostics.Stopwatch.StartNew();
        Assert.True(await drained.WaitAsync(Bound), "drain gave up instead of seeing the old target go quiet");
        output.WriteLine($"drained {quiet.ElapsedMilliseconds} ms after the last exchange (quiet period {RelayListener.QuietPeriod.TotalMilliseconds} ms)");

        // Keeps chatting on the old target: the drain ends at its bound and says so.
        await RelayHarness.RoundTripAsync(busy);
        var chatting = Task.Run(async () =>
        {
            for (var i = 0; i < 20; i++)
            {
                await Task.Delay(20);
                await RelayHarness.RoundTripAsync(busy);
            }
        });
        Assert.False(await _relay.DrainTargetAsync(Old, TimeSpan.FromMilliseconds(200)));
        await chatting;
    }

    [Fact]
    public async Task Exchanges_count_connections_that_got_a_first_byte_back_once_each()
    {
        _relay.SetTarget(Old);
        var first = await ConnectAsync();
        for (var i = 0; i < 5; i++) await RelayHarness.RoundTripAsync(first);
        var silent = await ConnectAsync(); // connected, never answered
        Assert.True(await RelayHarness.UntilAsync(() => _old.Accepted == 2, Bound));
        Assert.Equal(1, _relay.Exchanges);
        Assert.Equal(1, _relay.TargetExchanges);

        _relay.SetTarget(New);
        Assert.Equal(0, _relay.TargetExchanges);
        await RelayHarness.RoundTripAsync(await ConnectAsync());
        await RelayHarness.RoundTripAsync(first);
        Assert.Equal(2, _relay.Exchanges);
        Assert.Equal(1, _relay.TargetExchanges);

        _relay.ClearTarget();
        Assert.Equal(0, _relay.TargetExchanges);
        GC.KeepAlive(silent);
    }

    private Task<Socket> ConnectAsync() => RelayHarness.ConnectClientAsync(_relay.LocalEndPoint, _clients, Bound);

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var client in _clients) client.Dispose();
        await _relay.DisposeAsync();
        _old.Dispose();
        _new.Dispose();
    }
}
