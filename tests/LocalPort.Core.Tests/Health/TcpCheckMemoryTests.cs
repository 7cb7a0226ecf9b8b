using System.Diagnostics.Tracing;
using LocalPort.Core.Config;
using LocalPort.Core.Tests.Relay;
using static LocalPort.Core.Tests.Health.ProbeTestSupport;

namespace LocalPort.Core.Tests.Health;

/// <summary>Runs alone: it counts buffers of the process-wide shared array pool, which the other relay tests use too.</summary>
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
        var clients = new List<System.Net.Sockets.Socket>();
        for (var i = 0; i < 20; i++) clients.Add(await relay.ConnectAsync());

        // One exchange each proves both directions are being relayed; after it the connections sit idle.
        foreach (var client in clients) await RelayHarness.RoundTripAsync(client, timeout: TimeSpan.FromSeconds(10));

        Assert.True(buffers.Rented >= 40, $"20 echoes through the relay rented {buffers.Rented} buffers; the counter should see them");
        // The last buffer goes back just after the echo reaches the client, hence the bounded wait. Before: 40 held until close.
        Assert.True(await RelayHarness.UntilAsync(() => buffers.Outstanding <= 0, TimeSpan.FromSeconds(10)),
            $"{buffers.Outstanding} relay buffers still held by 20 idle connections");
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
