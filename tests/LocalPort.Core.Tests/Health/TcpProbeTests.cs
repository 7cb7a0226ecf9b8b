using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using LocalPort.Core.Config;
using LocalPort.Core.Health;
using static LocalPort.Core.Tests.Health.ProbeTestSupport;

namespace LocalPort.Core.Tests.Health;

public sealed class TcpProbeTests
{
    [Fact]
    public async Task A_listener_that_accepts_and_keeps_the_connection_is_healthy()
    {
        using var server = new LoopbackServer(closeAtOnce: false);

        var result = await CheckAsync(Service(HealthCheckType.Tcp, server.Port));

        Assert.True(result.Healthy, result.Error);
    }

    [Fact]
    public async Task A_listener_that_closes_every_connection_at_once_is_unhealthy()
    {
        using var server = new LoopbackServer(closeAtOnce: true);

        var result = await CheckAsync(Service(HealthCheckType.Tcp, server.Port));

        Assert.False(result.Healthy);
        Assert.Equal("closed by far side", result.Error);
    }

    [Fact]
    public async Task A_port_with_nothing_listening_is_unhealthy_with_connection_refused()
    {
        var result = await CheckAsync(Service(HealthCheckType.Tcp, FreePort.Next()));

        Assert.False(result.Healthy);
        Assert.Equal("connection refused", result.Error);
    }

    [Fact]
    public async Task A_healthy_check_takes_no_longer_than_the_watch_window()
    {
        using var server = new LoopbackServer(closeAtOnce: false);
        var stopwatch = Stopwatch.StartNew();

        var result = await CheckAsync(Service(HealthCheckType.Tcp, server.Port, timeout: TimeSpan.FromSeconds(5)));

        Assert.True(result.Healthy, result.Error);
        Assert.InRange(stopwatch.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(2));
    }

    /// <summary>
    /// A passing check hangs up with a FIN: the far side (our relay, most of the time) reads end of stream, not a
    /// reset. A reset cost the relay an exception per check (an idle supervisor's CPU, bench figure 5).
    /// </summary>
    [Fact]
    public async Task A_passing_check_ends_its_connection_with_a_fin_not_a_reset()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var accepted = listener.AcceptSocketAsync();

        var result = await CheckAsync(Service(HealthCheckType.Tcp, port));

        Assert.True(result.Healthy, result.Error);
        using var far = await accepted.WaitAsync(TimeSpan.FromSeconds(5));
        var read = await far.ReceiveAsync(new byte[16], SocketFlags.None).WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(0, read);
    }

    [Fact]
    public async Task A_server_that_speaks_first_and_hangs_up_is_healthy()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var served = ServeOnce(listener, async far =>
        {
            await far.SendAsync("220 ready\r\n"u8.ToArray(), SocketFlags.None);
            far.Shutdown(SocketShutdown.Send);
        });

        var result = await CheckAsync(Service(HealthCheckType.Tcp, port));

        Assert.True(result.Healthy, result.Error);
        await served.WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task A_server_that_resets_the_connection_is_unhealthy()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var served = ServeOnce(listener, far =>
        {
            far.LingerState = new LingerOption(true, 0);
            return Task.CompletedTask;
        });

        var result = await CheckAsync(Service(HealthCheckType.Tcp, port));

        Assert.False(result.Healthy);
        Assert.Equal("closed by far side", result.Error);
        await served.WaitAsync(TimeSpan.FromSeconds(5));
    }

    /// <summary>
    /// A listener whose backlog is full holds the SYN back: connecting at once cannot tell, so the probe connects the
    /// usual way and waits (bounded by its timeout) instead of blocking or failing on the spot.
    /// </summary>
    [Fact]
    public async Task Behind_a_full_backlog_the_probe_waits_for_its_turn_and_passes_once_accepted()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(0);
        var port = ((IPEndPoint)listener.LocalEndPoint!).Port;
        var queued = new List<Socket>();
        try
        {
            // Fill the accept queue until a connect cannot complete at once.
            Socket? now;
            while ((now = Loopback.ConnectNow(port)) is not null)
            {
                queued.Add(now);
                Assert.InRange(queued.Count, 1, 8);
            }

            var check = CheckAsync(Service(HealthCheckType.Tcp, port, timeout: TimeSpan.FromSeconds(10)));
            Assert.False(check.IsCompleted);
            // Make room: the probe's retransmitted SYN is answered.
            var accepted = new List<Socket>();
            for (var i = 0; i < queued.Count; i++) accepted.Add(await listener.AcceptAsync().WaitAsync(TimeSpan.FromSeconds(5)));
            var probe = listener.AcceptAsync();

            var result = await check.WaitAsync(TimeSpan.FromSeconds(15));

            Assert.True(result.Healthy, result.Error);
            (await probe.WaitAsync(TimeSpan.FromSeconds(5))).Dispose();
            accepted.ForEach(a => a.Dispose());
        }
        finally
        {
            queued.ForEach(q => q.Dispose());
        }
    }

    private static async Task ServeOnce(TcpListener listener, Func<Socket, Task> serve)
    {
        using var far = await listener.AcceptSocketAsync().WaitAsync(TimeSpan.FromSeconds(5));
        await serve(far);
    }

    /// <summary>Accepts connections and either holds them open or closes them immediately.</summary>
    internal sealed class LoopbackServer : IDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly List<Socket> _held = [];
        private readonly CancellationTokenSource _stop = new();

        public LoopbackServer(bool closeAtOnce)
        {
            _listener.Start();
            Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
            _ = AcceptLoopAsync(closeAtOnce);
        }

        public int Port { get; }

        private async Task AcceptLoopAsync(bool closeAtOnce)
        {
            try
            {
                while (true)
                {
                    var socket = await _listener.AcceptSocketAsync(_stop.Token);
                    if (closeAtOnce) socket.Dispose();
                    else lock (_held) _held.Add(socket);
                }
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
            }
        }

        public void Dispose()
        {
            _stop.Cancel();
            _listener.Stop();
            lock (_held) _held.ForEach(s => s.Dispose());
            _stop.Dispose();
        }
    }

    [Theory]
    [InlineData(300)]
    [InlineData(250)]
    [InlineData(7)]
    public void Watch_windows_end_on_a_shared_grid_never_longer_and_at_most_a_sixth_shorter(int watchMs)
    {
        var watch = TimeSpan.FromMilliseconds(watchMs);
        var grid = watchMs / 6;
        for (var i = 0; i < 50; i++)
        {
            var before = Environment.TickCount64;
            var window = TcpProbe.EndOnGrid(watch);
            var after = Environment.TickCount64;
            Assert.InRange(window, watch - TimeSpan.FromMilliseconds(grid), watch);
            // The end falls on the grid, whichever millisecond the window was taken in.
            var ends = Enumerable.Range(0, (int)(after - before) + 1)
                .Select(d => before + d + (long)window.TotalMilliseconds);
            Assert.Contains(ends, end => end % grid == 0);
        }
    }

    [Fact]
    public void A_window_too_short_for_a_grid_is_kept_as_it_is()
    {
        Assert.Equal(TimeSpan.FromMilliseconds(5), TcpProbe.EndOnGrid(TimeSpan.FromMilliseconds(5)));
    }
}
