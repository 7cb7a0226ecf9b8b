using System.Net;
using System.Net.Sockets;
using System.Text;
using LocalPort.Core.Relay;

namespace LocalPort.Core.Tests.Relay;

/// <summary>
/// A killed ssh leaves its Unix socket refusing (or gone) for the moment before its owner notices: a client dialled
/// into that moment waits for the successor instead of being cut, like a client that came when there was no tunnel.
/// </summary>
public sealed class DeadTunnelTests : IAsyncLifetime
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(5);
    private readonly string _directory = Directory.CreateTempSubdirectory("lp-dead").FullName;
    private readonly RelayListener _relay = RelayListener.Bind(new IPEndPoint(IPAddress.Loopback, 0)).Start();
    private readonly List<Socket> _sockets = [];

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_client_dialled_to_a_dead_unix_socket_tunnel_is_carried_by_the_next_one(bool socketFileLeft)
    {
        var dead = Path.Combine(_directory, "dead.sock");
        if (socketFileLeft)
        {
            // Bound but not listening: the file is there and a dial is refused, as with a killed ssh's socket.
            var bound = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            lock (_sockets) _sockets.Add(bound);
            bound.Bind(new UnixDomainSocketEndPoint(dead));
        }
        Assert.Equal(socketFileLeft, File.Exists(dead));
        _relay.SetTarget(new UnixDomainSocketEndPoint(dead));

        var client = await SendAsync("hello");
        Assert.True(SpinWait.SpinUntil(() => _relay.RefusedDials >= 1, TimeSpan.FromSeconds(5)), "the dead tunnel's refusal was not seen");
        var next = Path.Combine(_directory, "next.sock");
        var echo = Echo(next);
        _relay.ClearTarget();
        _relay.SetTarget(new UnixDomainSocketEndPoint(next));

        Assert.Equal("hello", await ReadAsync(client, 5));
        GC.KeepAlive(echo);
    }

    [Fact]
    public async Task Clearing_the_target_cuts_dialled_connections_but_not_those_still_waiting()
    {
        var first = Path.Combine(_directory, "first.sock");
        using var silent = Listen(first); // accepts into the backlog, never answers
        _relay.SetTarget(new UnixDomainSocketEndPoint(first));
        var dialled = await SendAsync("a");
        Assert.True(await RelayHarness.UntilAsync(() => _relay.Active == 1, Bound));

        _relay.ClearTarget();
        var waiting = await SendAsync("b");
        _relay.ClearTarget(); // a failed start clears again: the waiting client stays
        var next = Path.Combine(_directory, "next.sock");
        var echo = Echo(next);
        _relay.SetTarget(new UnixDomainSocketEndPoint(next));

        Assert.NotEqual(ReadOutcome.Data, await RelayHarness.NextReadAsync(dialled, Bound));
        Assert.Equal("b", await ReadAsync(waiting, 1));
        GC.KeepAlive(echo);
    }

    [Fact]
    public async Task A_refusing_tcp_upstream_still_closes_the_client_at_once()
    {
        var port = FreePort.Next();
        _relay.SetTarget(new IPEndPoint(IPAddress.Loopback, port));

        var client = await SendAsync("x");

        Assert.Contains(await RelayHarness.NextReadAsync(client, TimeSpan.FromSeconds(1)), new[] { ReadOutcome.Closed, ReadOutcome.Reset });
    }

    private static Socket Listen(string path)
    {
        var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(path));
        listener.Listen(16);
        return listener;
    }

    /// <summary>Echoes everything on every connection until disposed.</summary>
    private Socket Echo(string path)
    {
        var listener = Listen(path);
        _sockets.Add(listener);
        _ = Task.Run(async () =>
        {
            try
            {
                while (true)
                {
                    var socket = await listener.AcceptAsync();
                    lock (_sockets) _sockets.Add(socket);
                    _ = Task.Run(async () =>
                    {
                        var buffer = new byte[1024];
                        try
                        {
                            int read;
                            while ((read = await socket.ReceiveAsync(buffer, SocketFlags.None)) > 0)
                                await socket.SendAsync(buffer.AsMemory(0, read), SocketFlags.None);
                        }
                        catch (Exception e) when (e is SocketException or ObjectDisposedException)
                        {
                        }
                    });
                }
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
            }
        });
        return listener;
    }

    private async Task<Socket> SendAsync(string text)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        lock (_sockets) _sockets.Add(socket);
        using var timeout = new CancellationTokenSource(Bound);
        await socket.ConnectAsync(_relay.LocalEndPoint, timeout.Token);
        await socket.SendAsync(Encoding.ASCII.GetBytes(text), SocketFlags.None, timeout.Token);
        return socket;
    }

    private static async Task<string> ReadAsync(Socket socket, int size)
    {
        using var timeout = new CancellationTokenSource(Bound);
        return Encoding.ASCII.GetString(await RelayHarness.ReceiveExactlyAsync(socket, size, timeout.Token));
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        lock (_sockets) foreach (var socket in _sockets) socket.Dispose();
        await _relay.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }
}
