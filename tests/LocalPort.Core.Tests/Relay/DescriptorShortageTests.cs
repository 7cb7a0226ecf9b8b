using System.Collections.Concurrent;
using System.Net;
using System.Net.Http;
using System.Net.Sockets;
using LocalPort.Core.Processes;
using LocalPort.Core.Relay;

namespace LocalPort.Core.Tests.Relay;

/// <summary>
/// Short of file descriptors the relay stops accepting (clients wait in the backlog), says so once, and resumes
/// when there is room. The shortage is simulated by asking for more headroom than the process has: lowering this
/// test host's own limit would starve the test runner (the real limit is exercised with the CLI in the integration tests).
/// </summary>
public sealed class DescriptorShortageTests : IAsyncLifetime
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(5);
    private readonly Upstream _upstream = Upstream.Echo();
    private readonly RelayListener _relay = RelayListener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
    private readonly ConcurrentQueue<string> _warnings = new();
    private readonly List<Socket> _clients = [];

    [Fact]
    public async Task Without_room_the_relay_stops_accepting_warns_once_and_resumes_when_there_is_room()
    {
        _relay.OnWarning = _warnings.Enqueue;
        _relay.SetTarget(new IPEndPoint(IPAddress.Loopback, _upstream.Port));
        _relay.Headroom = int.MaxValue / 2;
        _relay.Start();

        // The connection that finds the limit near is still served; the ones after it wait in the backlog.
        var first = await ConnectAsync();
        await RelayHarness.RoundTripAsync(first);
        Assert.True(await RelayHarness.UntilAsync(() => _relay.Exhausted, Bound), "the relay did not notice the shortage");
        var waiting = new List<Socket>();
        for (var i = 0; i < 3; i++) waiting.Add(await ConnectAsync());
        foreach (var socket in waiting) await socket.SendAsync(new byte[] { 7 }, SocketFlags.None);
        // A window in which nothing may be accepted: the assertion is that no event happens, so it has to be a span of time.
        await Task.Delay(300);
        Assert.Equal(1, _relay.Total);
        Assert.True(_relay.ExhaustedWithin(TimeSpan.Zero));
        var warning = Assert.Single(_warnings);
        Assert.Contains("file descriptors", warning);

        _relay.Headroom = 16;
        foreach (var socket in waiting)
            Assert.Equal(ReadOutcome.Data, await RelayHarness.NextReadAsync(socket, Bound));
        Assert.False(_relay.Exhausted);
        Assert.True(_relay.ExhaustedWithin(TimeSpan.FromMinutes(1)));
        Assert.Single(_warnings);
    }

    [Fact]
    public async Task Clients_that_gave_up_in_the_backlog_during_a_pause_are_not_dialled_when_it_ends()
    {
        _relay.SetTarget(new IPEndPoint(IPAddress.Loopback, _upstream.Port));
        _relay.Headroom = int.MaxValue / 2;
        _relay.Start();
        await RelayHarness.RoundTripAsync(await ConnectAsync());
        Assert.True(await RelayHarness.UntilAsync(() => _relay.Exhausted, Bound), "the relay did not notice the shortage");

        for (var i = 0; i < 10; i++)
        {
            var gaveUp = await ConnectAsync();
            await gaveUp.SendAsync(new byte[] { 1 }, SocketFlags.None);
            gaveUp.Close();
        }
        var live = new List<Socket>();
        for (var i = 0; i < 2; i++)
        {
            live.Add(await ConnectAsync());
            await live[^1].SendAsync(new byte[] { 2 }, SocketFlags.None);
        }

        _relay.Headroom = 16;
        foreach (var socket in live)
            Assert.Equal(ReadOutcome.Data, await RelayHarness.NextReadAsync(socket, Bound));
        Assert.Equal(3, _upstream.Accepted);
    }

    [Fact]
    public void Running_out_of_descriptors_is_recognised_from_sockets_and_files_even_when_wrapped()
    {
        Assert.True(FileLimits.IsExhaustion(new SocketException((int)SocketError.TooManyOpenSockets)));
        Assert.True(FileLimits.IsExhaustion(new HttpRequestException("connect failed", new SocketException((int)SocketError.TooManyOpenSockets))));
        Assert.True(FileLimits.IsExhaustion(new IOException("Too many open files", 24)));
        Assert.True(FileLimits.IsExhaustion(new IOException("Too many open files in system", 23)));
        Assert.False(FileLimits.IsExhaustion(new SocketException((int)SocketError.ConnectionRefused)));
        Assert.False(FileLimits.IsExhaustion(new IOException("disk full", 28)));
        Assert.False(FileLimits.IsExhaustion(null));
    }

    [Fact]
    public void The_limit_is_readable_the_soft_one_is_raised_to_the_hard_one_and_open_descriptors_are_counted()
    {
        var raised = FileLimits.RaiseSoftLimit();
        Assert.NotNull(raised);
        var expected = OperatingSystem.IsMacOS() ? Math.Min(raised.Value.Hard, 10240) : raised.Value.Hard;
        Assert.Equal(expected, raised.Value.Soft);
        Assert.Equal(raised, FileLimits.Current());

        var open = FileLimits.OpenCount();
        Assert.NotNull(open);
        using (File.OpenHandle("/dev/null"))
            Assert.InRange(FileLimits.OpenCount()!.Value, open.Value + 1 - 8, open.Value + 1 + 8); // other tests run alongside
        Assert.True(FileLimits.HasRoom(1));
        Assert.False(FileLimits.HasRoom(int.MaxValue));
    }

    private Task<Socket> ConnectAsync() => RelayHarness.ConnectClientAsync(_relay.LocalEndPoint, _clients, Bound);

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var client in _clients) client.Dispose();
        await _relay.DisposeAsync();
        _upstream.Dispose();
    }
}
