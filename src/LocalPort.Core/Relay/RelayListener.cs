using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using LocalPort.Core.Processes;
using LocalPort.Core.Relay.Toxics;

namespace LocalPort.Core.Relay;

/// <summary>
/// Owns a service's local port for the life of the service and relays each connection to the
/// current target (a tunnel endpoint or the upstream itself). While there is no target, new
/// connections wait — bounded — for one instead of being refused.
/// </summary>
public sealed class RelayListener : IAsyncDisposable
{
    private const int BufferSize = 128 * 1024;
    private readonly Socket _listener;
    private readonly CancellationTokenSource _stopping = new();
    private readonly CancellationTokenSource _acceptStop = new();
    private readonly ConcurrentDictionary<long, RelayConnection> _connections = new();
    private readonly object _gate = new();
    private readonly object _toxicsGate = new();
    private readonly ToxicSource _toxics = new();
    private TaskCompletionSource<EndPoint> _target = NewTarget();
    private long _nextId;
    private long _total;
    private Task? _acceptLoop;

    public IPEndPoint LocalEndPoint { get; }
    /// <summary>How long a new connection waits for a tunnel before it is closed.</summary>
    public TimeSpan TargetWait { get; init; } = TimeSpan.FromSeconds(10);
    public int Active => _connections.Count;
    public long Total => Interlocked.Read(ref _total);

    /// <summary>
    /// The faults injected into this relay's connections. Setting it takes effect at once: new connections
    /// get the new set, existing ones apply it from their next chunk, and down, reset_peer and a closing
    /// timeout reach idle connections too. Thread-safe; the port stays bound throughout.
    /// </summary>
    public ToxicSet Toxics
    {
        get => _toxics.Current;
        set
        {
            lock (_toxicsGate)
            {
                _toxics.Current = value ?? ToxicSet.Empty;
                foreach (var connection in _connections.Values) connection.OnToxicsChanged(_toxics.Current);
            }
        }
    }

    private readonly ResourceLedger? _ledger;

    private RelayListener(Socket listener, ResourceLedger? ledger)
    {
        _listener = listener;
        _ledger = ledger;
        LocalEndPoint = (IPEndPoint)listener.LocalEndPoint!;
    }

    /// <summary>Binds the port now, so a clash is reported at start and never later.</summary>
    public static RelayListener Bind(IPEndPoint endpoint, ResourceLedger? ledger = null, string owner = "relay")
    {
        var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            // Allows rebinding while old connections sit in TIME_WAIT; does not allow two listeners.
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            socket.Bind(endpoint);
            socket.Listen(512);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        var relay = new RelayListener(socket, ledger);
        ledger?.TrackListener(relay.LocalEndPoint.ToString(), owner, relay.StopAccepting);
        return relay;
    }

    public RelayListener Start()
    {
        _acceptLoop ??= Task.Run(AcceptLoop);
        return this;
    }

    /// <summary>Points new connections at <paramref name="target"/>; waiting connections proceed.</summary>
    public void SetTarget(EndPoint target)
    {
        lock (_gate)
        {
            if (_target.Task.IsCompleted) _target = NewTarget();
            _target.TrySetResult(target);
        }
    }

    /// <summary>The tunnel is gone: new connections wait for the next one; existing ones are cut.</summary>
    public void ClearTarget(bool dropConnections = true)
    {
        lock (_gate)
        {
            if (_target.Task.IsCompleted) _target = NewTarget();
        }
        if (dropConnections) DropConnections();
    }

    public void DropConnections()
    {
        foreach (var connection in _connections.Values) connection.Abort();
    }

    private static TaskCompletionSource<EndPoint> NewTarget() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private async Task AcceptLoop()
    {
        while (!_acceptStop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptAsync(_acceptStop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                if (_acceptStop.IsCancellationRequested) return;
                continue;
            }
            client.NoDelay = true;
            Interlocked.Increment(ref _total);
            var id = Interlocked.Increment(ref _nextId);
            var connection = new RelayConnection(client, BufferSize, id, _toxics);
            _connections[id] = connection;
            _ = Serve(id, connection);
        }
    }

    private async Task Serve(long id, RelayConnection connection)
    {
        try
        {
            connection.OnToxicsChanged(_toxics.Current);
            if (connection.IsClosing) return;
            var target = await WaitForTarget();
            if (target is null) return;
            await connection.RunAsync(target, _stopping.Token);
        }
        finally
        {
            _connections.TryRemove(id, out _);
            connection.Dispose();
        }
    }

    private async Task<EndPoint?> WaitForTarget()
    {
        Task<EndPoint> pending;
        lock (_gate) pending = _target.Task;
        if (pending.IsCompleted) return pending.Result;
        try
        {
            // Once the port stops accepting (shutdown), nobody waits for a tunnel that will not come.
            return await pending.WaitAsync(TargetWait, _acceptStop.Token);
        }
        catch (Exception e) when (e is TimeoutException or OperationCanceledException)
        {
            return null;
        }
    }

    /// <summary>Closes the port to new connections; the ones already relayed carry on.</summary>
    public void StopAccepting()
    {
        if (_acceptStop.IsCancellationRequested) return;
        _acceptStop.Cancel();
        _listener.Dispose();
        _ledger?.ForgetListener(LocalEndPoint.ToString());
    }

    /// <summary>How long a connection must be quiet to count as drained: its current exchange is over.</summary>
    public static TimeSpan QuietPeriod { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// Completes when no relayed connection is mid-exchange (call after <see cref="StopAccepting"/>):
    /// finished connections are gone and idle ones (an open psql prompt) are left for the stop to cut.
    /// </summary>
    public async Task DrainAsync(CancellationToken cancellationToken = default)
    {
        while (_connections.Values.Any(c => c.IdleMilliseconds < QuietPeriod.TotalMilliseconds))
            await Task.Delay(10, cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        if (_stopping.IsCancellationRequested) return;
        StopAccepting();
        _stopping.Cancel();
        DropConnections();
        if (_acceptLoop is not null) await _acceptLoop.ConfigureAwait(false);
    }
}
