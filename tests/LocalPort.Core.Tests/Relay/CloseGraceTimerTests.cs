using System.Net;
using System.Net.Sockets;
using LocalPort.Core.Relay;
using LocalPort.Core.Tests.Health;

namespace LocalPort.Core.Tests.Relay;

/// <summary>
/// Bench figure 8 (high load): when the upstream closes first, the relay gives the client a grace second to finish.
/// That timer outlived every short exchange, so under ~2,000 connections a second thousands of them were alive at once,
/// survived gen0 collections and piled up in gen2 (RSS climbing). Runs alone: it counts the process's active timers.
/// </summary>
[Collection(SharedArrayPoolCollection.Name)]
public sealed class CloseGraceTimerTests
{
    private const int Exchanges = 200;

    [Fact]
    public async Task Short_exchanges_whose_upstream_closes_first_leave_no_timer_running()
    {
        using var upstream = new AnswerAndClose();
        await using var relay = RelayListener.Bind(new IPEndPoint(IPAddress.Loopback, 0)).Start();
        relay.SetTarget(new IPEndPoint(IPAddress.Loopback, upstream.Port));
        var before = Timer.ActiveCount;

        for (var i = 0; i < Exchanges; i++)
        {
            using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await client.ConnectAsync(relay.LocalEndPoint);
            await client.SendAsync("ask"u8.ToArray(), SocketFlags.None);
            var (bytes, _, end) = await RelayHarness.ReadToEndAsync(client, TimeSpan.FromSeconds(10));
            Assert.Equal("answer", System.Text.Encoding.ASCII.GetString(bytes));
            Assert.Equal(ReadOutcome.Closed, end);
        }
        Assert.True(await RelayHarness.UntilAsync(() => relay.Active == 0, TimeSpan.FromSeconds(10)),
            $"{relay.Active} relayed connections still open after their exchanges ended");

        // Before: one grace timer per exchange, each running out its second after the connection had ended.
        var left = Timer.ActiveCount - before;
        Assert.True(left < Exchanges / 4, $"{left} more timers active after {Exchanges} finished exchanges than before them");
    }

    /// <summary>Reads a request, answers "answer" and closes first, as an HTTP/1.0 server does.</summary>
    private sealed class AnswerAndClose : IDisposable
    {
        private readonly Socket _listener = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        private readonly CancellationTokenSource _stop = new();

        public AnswerAndClose()
        {
            _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            _listener.Listen(128);
            Port = ((IPEndPoint)_listener.LocalEndPoint!).Port;
            _ = AcceptLoop();
        }

        public int Port { get; }

        private async Task AcceptLoop()
        {
            var buffer = new byte[64];
            try
            {
                while (true)
                {
                    using var client = await _listener.AcceptAsync(_stop.Token);
                    await client.ReceiveAsync(buffer, SocketFlags.None, _stop.Token);
                    await client.SendAsync("answer"u8.ToArray(), SocketFlags.None, _stop.Token);
                    client.Shutdown(SocketShutdown.Both);
                }
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException) { }
        }

        public void Dispose()
        {
            _stop.Cancel();
            _listener.Dispose();
        }
    }
}
