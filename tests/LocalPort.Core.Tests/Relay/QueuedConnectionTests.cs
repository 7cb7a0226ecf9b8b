using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using LocalPort.Core.Relay;
using Xunit.Abstractions;

namespace LocalPort.Core.Tests.Relay;

/// <summary>Connections that wait for a tunnel (restart, crash): the ones whose client gave up are released, never dialled.</summary>
public sealed class QueuedConnectionTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(5);
    private readonly List<Socket> _clients = [];
    private readonly Upstream _upstream = Upstream.Echo();
    private readonly RelayListener _relay = RelayListener.Bind(new IPEndPoint(IPAddress.Loopback, 0)).Start();

    private EndPoint Target => new IPEndPoint(IPAddress.Loopback, _upstream.Port);

    [Fact]
    public async Task A_client_that_hangs_up_while_queued_is_released_at_once_and_never_dialled()
    {
        var live = new List<Socket>();
        for (var i = 0; i < 5; i++) live.Add(await SendAsync("live"));
        for (var i = 0; i < 10; i++) (await SendAsync("gave up")).Shutdown(SocketShutdown.Both); // FIN, request unread
        for (var i = 0; i < 5; i++) Reset(await SendAsync("reset"));                               // RST
        Assert.True(await RelayHarness.UntilAsync(() => _relay.Total == 20, Bound), $"accepted {_relay.Total} of 20");

        var clock = Stopwatch.StartNew();
        Assert.True(await RelayHarness.UntilAsync(() => _relay.Active == 5, Bound), $"{_relay.Active} still held, 5 live");
        output.WriteLine($"15 hung-up clients released {clock.ElapsedMilliseconds} ms after they left, before any tunnel");

        _relay.SetTarget(Target);
        foreach (var socket in live)
            Assert.Equal("live", await ReadAsync(socket, 4));
        Assert.Equal(5, _upstream.Accepted);
    }

    [Fact]
    public async Task After_a_storm_of_clients_that_gave_up_the_first_live_request_is_answered_at_once()
    {
        // A client every 10 ms for 1 s, each giving up 50 ms after sending its request (a script with a short timeout).
        var storm = Task.Run(async () =>
        {
            var pending = new List<Task>();
            for (var i = 0; i < 100; i++)
            {
                var socket = await SendAsync("GET");
                pending.Add(Task.Delay(50).ContinueWith(_ => socket.Close(), TaskScheduler.Default));
                await Task.Delay(10);
            }
            await Task.WhenAll(pending);
        });
        await storm.WaitAsync(TimeSpan.FromSeconds(10));
        var live = await SendAsync("live");
        await Task.Delay(20);

        var clock = Stopwatch.StartNew();
        _relay.SetTarget(Target);
        Assert.Equal("live", await ReadAsync(live, 4));
        var answered = clock.Elapsed;

        output.WriteLine($"{_relay.Total} queued, first live answer {answered.TotalMilliseconds:0.0} ms after the target returned; " +
                         $"{_upstream.Accepted} dialled");
        // At most the last few of the storm may still be there when the check ran; the dead ones are not dialled.
        Assert.InRange(_upstream.Accepted, 1, 6);
    }

    [Fact]
    public async Task Queued_live_connections_are_dialled_together_not_one_after_another()
    {
        // An upstream that answers nobody until all 20 are connected: a relay that dialled one at a time, waiting for
        // each exchange, would never get there.
        using var gate = new GatedUpstream(20);
        var clients = new List<Socket>();
        for (var i = 0; i < 20; i++) clients.Add(await SendAsync("x"));
        Assert.True(await RelayHarness.UntilAsync(() => _relay.Total == 20, Bound));

        _relay.SetTarget(new IPEndPoint(IPAddress.Loopback, gate.Port));

        var answers = await Task.WhenAll(clients.Select(c => ReadAsync(c, 1)));
        Assert.All(answers, a => Assert.Equal("x", a));
    }

    [Fact]
    public async Task A_connection_ends_as_soon_as_either_side_closes()
    {
        _relay.SetTarget(Target);
        var byClient = await SendAsync("a");
        Assert.Equal("a", await ReadAsync(byClient, 1));
        byClient.Close();
        Assert.True(await RelayHarness.UntilAsync(() => _relay.Active == 0, Bound), "client closed: still held");

        // The client keeps its end open and never reads again: the relay lets go anyway, a moment after the FIN.
        var byUpstream = await SendAsync("b");
        Assert.Equal("b", await ReadAsync(byUpstream, 1));
        _upstream.Dispose();
        Assert.Equal(ReadOutcome.Closed, await RelayHarness.NextReadAsync(byUpstream, Bound));
        Assert.True(await RelayHarness.UntilAsync(() => _relay.Active == 0, Bound), "upstream closed: still held");
    }

    private async Task<Socket> SendAsync(string text)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        lock (_clients) _clients.Add(socket);
        using var timeout = new CancellationTokenSource(Bound);
        await socket.ConnectAsync(_relay.LocalEndPoint, timeout.Token);
        await socket.SendAsync(System.Text.Encoding.ASCII.GetBytes(text), SocketFlags.None, timeout.Token);
        return socket;
    }

    private static async Task<string> ReadAsync(Socket socket, int size)
    {
        using var timeout = new CancellationTokenSource(Bound);
        return System.Text.Encoding.ASCII.GetString(await RelayHarness.ReceiveExactlyAsync(socket, size, timeout.Token));
    }

    private static void Reset(Socket socket)
    {
        socket.LingerState = new LingerOption(true, 0);
        socket.Close();
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        lock (_clients) foreach (var client in _clients) client.Dispose();
        await _relay.DisposeAsync();
        _upstream.Dispose();
    }

    /// <summary>Echoes one byte per connection, but only once <c>count</c> connections are open.</summary>
    private sealed class GatedUpstream : IDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly TaskCompletionSource _all = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly List<Socket> _accepted = [];

        public int Port { get; }

        public GatedUpstream(int count)
        {
            _listener.Start(count);
            Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
            _ = Task.Run(async () =>
            {
                try
                {
                    for (var i = 0; i < count; i++)
                    {
                        var socket = await _listener.AcceptSocketAsync();
                        lock (_accepted) _accepted.Add(socket);
                        _ = EchoOneAsync(socket);
                    }
                    _all.TrySetResult();
                }
                catch (Exception e) when (e is SocketException or ObjectDisposedException)
                {
                }
            });
        }

        private async Task EchoOneAsync(Socket socket)
        {
            try
            {
                var buffer = new byte[1];
                await socket.ReceiveAsync(buffer, SocketFlags.None);
                await _all.Task.WaitAsync(Bound);
                await socket.SendAsync(buffer, SocketFlags.None);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException or TimeoutException)
            {
            }
        }

        public void Dispose()
        {
            _listener.Stop();
            lock (_accepted) foreach (var socket in _accepted) socket.Dispose();
        }
    }
}
