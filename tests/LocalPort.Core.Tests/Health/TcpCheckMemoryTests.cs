using System.Diagnostics.Tracing;
using System.Net;
using System.Net.Sockets;
using System.Text;
using LocalPort.Core.Config;
using LocalPort.Core.Health;
using LocalPort.Core.Relay;
using LocalPort.Core.Tests.Relay;
using static LocalPort.Core.Tests.Health.ProbeTestSupport;

namespace LocalPort.Core.Tests.Health;

/// <summary>Runs alone: it counts buffers of the process-wide shared array pool, which the other relay tests use too,
/// and shortens the relay's process-wide half-closed limit.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SharedArrayPoolCollection
{
    public const string Name = "shared array pool";
}

/// <summary>
/// Issue 10, memory growth: every tcp check is a connection through the relay, and each relayed connection held two
/// 128 KiB buffers for its whole life. 50 checks due in the same tick outgrew the shared pool, so every burst put
/// fresh arrays on the large-object heap. A connection now takes a buffer only while bytes move.
/// </summary>
[Collection(SharedArrayPoolCollection.Name)]
public sealed class TcpCheckMemoryTests
{
    private const int RelayBufferSize = 128 * 1024;

    [Fact]
    public async Task A_burst_of_tcp_checks_through_the_relay_holds_fewer_relay_buffers_than_checks()
    {
        await using var relay = RelayHarness.Echo();
        var service = Service(HealthCheckType.Tcp, relay.Port, timeout: TimeSpan.FromSeconds(5));
        using var buffers = new BufferCounter(RelayBufferSize);

        // Every service's check due in the same tick: 50 connections open at once, each watched for ~300 ms.
        var results = await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => CheckAsync(service)));

        Assert.All(results, r => Assert.True(r.Healthy, r.Error));
        // A check sends nothing, so its connection needs no buffer until the close (then only for an instant).
        // Before: two per check for the whole watch, 100 at the peak.
        Assert.True(buffers.Peak < 50, $"{buffers.Peak} relay buffers held at once during 50 tcp checks");
    }

    [Fact]
    public async Task An_idle_relayed_connection_holds_no_buffer()
    {
        await using var relay = RelayHarness.Echo();
        using var buffers = new BufferCounter(RelayBufferSize);
        var clients = new List<Socket>();
        for (var i = 0; i < 20; i++) clients.Add(await relay.ConnectAsync());

        // One exchange each proves both directions are being relayed; after it the connections sit idle.
        foreach (var client in clients) await RelayHarness.RoundTripAsync(client, timeout: TimeSpan.FromSeconds(10));

        Assert.True(buffers.Rented >= 40, $"20 echoes through the relay rented {buffers.Rented} buffers; the counter should see them");
        // The last buffer goes back just after the echo reaches the client, hence the bounded wait. Before: 40 held until close.
        Assert.True(await RelayHarness.UntilAsync(() => buffers.Outstanding <= 0, TimeSpan.FromSeconds(10)),
            $"{buffers.Outstanding} relay buffers still held by 20 idle connections");
    }

    [Fact]
    public async Task A_tcp_check_against_an_upstream_that_never_answers_leaves_no_connection_behind()
    {
        using var upstream = new SilentUpstream();
        await using var relay = RelayListener.Bind(new IPEndPoint(IPAddress.Loopback, 0)).Start();
        relay.SetTarget(new IPEndPoint(IPAddress.Loopback, upstream.Port));
        var service = Service(HealthCheckType.Tcp, relay.LocalEndPoint.Port, timeout: TimeSpan.FromSeconds(5));
        var before = RelayConnection.HalfClosedIdle;
        RelayConnection.HalfClosedIdle = TimeSpan.FromMilliseconds(500);
        try
        {
            // Through the port: this is about the relay's side of a check's connection (the in-process check has none).
            var results = await Task.WhenAll(Enumerable.Range(0, 10).Select(_ => CheckThroughPortAsync(service)));

            // Silence is all a tcp check can see, so these pass; the relay must still let the connections go.
            Assert.All(results, r => Assert.True(r.Healthy, r.Error));
            // The relay dials as each check connects; a check may be over before its dial is.
            Assert.True(await RelayHarness.UntilAsync(() => upstream.Accepted == 10, TimeSpan.FromSeconds(10)),
                $"the upstream accepted {upstream.Accepted} of 10 relayed connections");
            // Before: each stayed open (client in CLOSE_WAIT) until the upstream answered, here never.
            Assert.True(await RelayHarness.UntilAsync(() => relay.Active == 0, TimeSpan.FromSeconds(10)),
                $"{relay.Active} relayed connections still open after their checks ended");
        }
        finally
        {
            RelayConnection.HalfClosedIdle = before;
        }
    }

    [Fact]
    public async Task A_half_closed_connection_still_gets_an_answer_that_comes_within_the_limit()
    {
        using var upstream = new SilentUpstream(answerAfterEof: "late", delay: TimeSpan.FromMilliseconds(300));
        await using var relay = RelayListener.Bind(new IPEndPoint(IPAddress.Loopback, 0)).Start();
        relay.SetTarget(new IPEndPoint(IPAddress.Loopback, upstream.Port));
        var before = RelayConnection.HalfClosedIdle;
        RelayConnection.HalfClosedIdle = TimeSpan.FromSeconds(2);
        try
        {
            using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await client.ConnectAsync(relay.LocalEndPoint);
            await client.SendAsync("query"u8.ToArray(), SocketFlags.None);
            client.Shutdown(SocketShutdown.Send);

            var (bytes, _, end) = await RelayHarness.ReadToEndAsync(client, TimeSpan.FromSeconds(10));

            Assert.Equal("late", Encoding.ASCII.GetString(bytes));
            Assert.Equal(ReadOutcome.Closed, end);
        }
        finally
        {
            RelayConnection.HalfClosedIdle = before;
        }
    }

    private static async Task<ProbeResult> CheckThroughPortAsync(ServiceSpec service)
    {
        using var timeout = new CancellationTokenSource(service.HealthCheck.Timeout);
        return await new TcpProbe(service.LocalPort, service.HealthCheck.Timeout) { ThroughPort = true }.CheckAsync(timeout.Token);
    }

    /// <summary>Accepts and holds every connection without a word; or, given an answer, reads to EOF and answers late.</summary>
    private sealed class SilentUpstream : IDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly CancellationTokenSource _stop = new();
        private readonly List<Socket> _held = [];
        private readonly string? _answer;
        private readonly TimeSpan _delay;
        private int _accepted;

        public SilentUpstream(string? answerAfterEof = null, TimeSpan delay = default)
        {
            _answer = answerAfterEof;
            _delay = delay;
            _listener.Start(128);
            Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
            _ = AcceptLoop();
        }

        public int Port { get; }
        public int Accepted => Volatile.Read(ref _accepted);

        private async Task AcceptLoop()
        {
            while (!_stop.IsCancellationRequested)
            {
                Socket client;
                try { client = await _listener.AcceptSocketAsync(_stop.Token); }
                catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException) { return; }
                lock (_held) _held.Add(client);
                Interlocked.Increment(ref _accepted);
                if (_answer is not null) _ = AnswerLate(client);
            }
        }

        private async Task AnswerLate(Socket client)
        {
            try
            {
                var buffer = new byte[1024];
                while (await client.ReceiveAsync(buffer, SocketFlags.None, _stop.Token) > 0) { }
                await Task.Delay(_delay, _stop.Token);
                await client.SendAsync(Encoding.ASCII.GetBytes(_answer!), SocketFlags.None, _stop.Token);
                client.Shutdown(SocketShutdown.Send);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException) { }
        }

        public void Dispose()
        {
            _stop.Cancel();
            _listener.Stop();
            lock (_held) foreach (var socket in _held) socket.Dispose();
        }
    }

    /// <summary>Rents and returns of arrays of one size from the shared pool, through the runtime's own event source.</summary>
    private sealed class BufferCounter(int size) : EventListener
    {
        private int _rented;
        private int _outstanding;
        private int _peak;

        public int Rented => Volatile.Read(ref _rented);
        public int Outstanding => Volatile.Read(ref _outstanding);
        public int Peak => Volatile.Read(ref _peak);

        protected override void OnEventSourceCreated(EventSource source)
        {
            if (source.Name == "System.Buffers.ArrayPoolEventSource") EnableEvents(source, EventLevel.Verbose);
        }

        // Delivered on the thread that rents or returns, so the counts are exact.
        protected override void OnEventWritten(EventWrittenEventArgs e)
        {
            // BufferRented(bufferId, bufferSize, poolId, bucketId); BufferReturned(bufferId, bufferSize, poolId)
            if (e.Payload is not { Count: >= 2 } payload || payload[1] is not int length || length != size) return;
            if (e.EventName == "BufferRented")
            {
                Interlocked.Increment(ref _rented);
                var now = Interlocked.Increment(ref _outstanding);
                int peak;
                while (now > (peak = Volatile.Read(ref _peak)) && Interlocked.CompareExchange(ref _peak, now, peak) != peak) { }
            }
            else if (e.EventName == "BufferReturned")
            {
                Interlocked.Decrement(ref _outstanding);
            }
        }
    }
}
