using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using LocalPort.Core.Processes;
using LocalPort.Core.Relay.Toxics;

namespace LocalPort.Core.Relay;

/// <summary>
/// Owns a service's local port for the life of the service and relays each connection to the
/// current target (a tunnel endpoint or the upstream itself). While there is no target, new
/// connections wait — bounded — for one instead of being refused; those whose client gives up meanwhile
/// are released at once and never dialled. Short of file descriptors, it stops accepting (clients wait in
/// the kernel backlog) instead of failing connections.
/// </summary>
public sealed class RelayListener : IAsyncDisposable
{
    private const int BufferSize = 128 * 1024;
    /// <summary>How often a connection waiting for a target looks whether its client is still there.</summary>
    private static readonly TimeSpan HangupCheck = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan FirstPause = TimeSpan.FromMilliseconds(50);
    private static readonly TimeSpan LongestPause = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan WarnAtMostEvery = TimeSpan.FromMinutes(1);
    private readonly Socket _listener;
    private readonly CancellationTokenSource _stopping = new();
    private readonly CancellationTokenSource _acceptStop = new();
    private readonly ConcurrentDictionary<long, RelayConnection> _connections = new();
    private readonly object _gate = new();
    private readonly object _toxicsGate = new();
    private readonly ToxicSource _toxics = new();
    private readonly RelayTarget.Totals _totals = new();
    private TaskCompletionSource<RelayTarget> _target = NewTarget();
    private RelayTarget? _current;
    private long _nextId;
    private long _total;
    private Task? _acceptLoop;
    private int _dialFailed;
    private volatile bool _exhausted;
    private TaskCompletionSource? _released;
    private long _exhaustedAt = long.MinValue / 2;
    private long _warnedAt = long.MinValue / 2;

    public IPEndPoint LocalEndPoint { get; }
    /// <summary>How long a new connection waits for a tunnel before it is closed.</summary>
    public TimeSpan TargetWait { get; init; } = TimeSpan.FromSeconds(10);
    public int Active => _connections.Count;

    /// <summary>Dials a dead Unix-socket tunnel refused; each such client waits for the next target instead of being cut.</summary>
    public long RefusedDials => Interlocked.Read(ref _refusedDials);

    private long _refusedDials;
    public long Total => Interlocked.Read(ref _total);

    /// <summary>Bytes relayed from clients to targets (without chaos toxics in the way: a toxic pipe does not count).</summary>
    public long BytesUp => Interlocked.Read(ref _totals.BytesUp);

    /// <summary>Bytes relayed from targets back to clients (as <see cref="BytesUp"/>).</summary>
    public long BytesDown => Interlocked.Read(ref _totals.BytesDown);

    /// <summary>Of <see cref="BytesUp"/> and <see cref="BytesDown"/>, bytes moved with splice(2) (Linux, bulk bursts, no toxics).</summary>
    internal long BytesSpliced => Interlocked.Read(ref _totals.BytesSpliced);

    /// <summary>Connections that got a first byte back from their target: proof that a tunnel carried traffic.</summary>
    public long Exchanges => Interlocked.Read(ref _totals.Exchanges);

    /// <summary><see cref="Exchanges"/> through the current target only (0 when there is none).</summary>
    public long TargetExchanges => Volatile.Read(ref _current)?.Exchanges ?? 0;

    /// <summary>Told (from any thread) when the relay runs short of descriptors; at most once a minute.</summary>
    public Action<string>? OnWarning { get; set; }

    /// <summary>
    /// Descriptors this relay leaves to the rest of the process (control API, health checks, logs, shutdown): it
    /// stops accepting when one more connection (two descriptors) would leave fewer, and resumes when there is room.
    /// By default 1/32 of the limit, 8 to 64: anything that opens a file late (an assembly, a log) needs some, and
    /// .NET aborts the process when an assembly cannot be loaded on some paths. The floor is low because under
    /// `ulimit -n 256` the runtime itself holds ~240 (two per loaded assembly), and more would leave no connection.
    /// </summary>
    public int Headroom
    {
        get => _headroom ?? (SoftLimit is { } soft ? (int)Math.Clamp(soft / 32, 8, 64) : 16);
        set => _headroom = value;
    }

    private int? _headroom;

    /// <summary>
    /// The soft descriptor limit, read again (one getrlimit) once the last reading is a second old: it can change while
    /// we run (prlimit), but every accept of every relay need not ask.
    /// </summary>
    private static long? SoftLimit
    {
        get
        {
            var now = Environment.TickCount64;
            if (Volatile.Read(ref _lastLimit) is { } last && now - last.ReadAt < 1000) return last.Soft;
            var fresh = new LimitReading(FileLimits.Current()?.Soft, now);
            Volatile.Write(ref _lastLimit, fresh);
            return fresh.Soft;
        }
    }

    private sealed record LimitReading(long? Soft, long ReadAt);

    private static LimitReading? _lastLimit;

    /// <summary>True while the relay does not accept because descriptors ran out (clients wait in the backlog).</summary>
    public bool Exhausted => _exhausted;

    /// <summary>
    /// True if the relay is, or was within <paramref name="window"/>, short of descriptors: a health check failing
    /// then says nothing about the tunnel.
    /// </summary>
    public bool ExhaustedWithin(TimeSpan window) =>
        _exhausted || Environment.TickCount64 - Interlocked.Read(ref _exhaustedAt) < window.TotalMilliseconds;

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
            AllowRebindOnly(socket);
            socket.Bind(endpoint);
            socket.Listen(512);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        var relay = new RelayListener(socket, ledger);
        if (endpoint.Address.Equals(IPAddress.Loopback)) Serving[relay.LocalEndPoint.Port] = relay;
        ledger?.TrackListener(relay.LocalEndPoint.ToString(), owner, relay.StopAccepting);
        return relay;
    }

    /// <summary>
    /// SO_REUSEADDR alone: rebinding while old connections sit in TIME_WAIT, never a second listener on the port.
    /// .NET's ReuseAddress option also sets SO_REUSEPORT on Linux, which lets another process bind the same port and
    /// take a share of its connections; on Linux the option is set raw instead.
    /// </summary>
    private static void AllowRebindOnly(Socket socket)
    {
        if (OperatingSystem.IsLinux())
        {
            const int solSocket = 1, soReuseAddr = 2;
            socket.SetRawSocketOption(solSocket, soReuseAddr, BitConverter.GetBytes(1));
        }
        else if (!OperatingSystem.IsWindows())
        {
            // On macOS and the BSDs .NET's ReuseAddress is SO_REUSEADDR only.
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        }
    }

    public RelayListener Start()
    {
        _acceptLoop ??= Task.Run(AcceptLoop);
        return this;
    }

    /// <summary>
    /// Points new connections at <paramref name="target"/>; waiting connections proceed, and connections already
    /// relayed to an earlier target carry on there (see <see cref="DrainTargetAsync"/>).
    /// </summary>
    public void SetTarget(EndPoint target)
    {
        lock (_gate)
        {
            var next = new RelayTarget(target, _totals);
            if (_target.Task.IsCompleted) _target = NewTarget();
            _target.TrySetResult(next);
            Volatile.Write(ref _current, next);
        }
    }

    /// <summary>
    /// The tunnel is gone: new connections wait for the next one; connections dialled to a tunnel are cut, and those
    /// still waiting for one (or whose dial the dead tunnel refused) keep waiting.
    /// </summary>
    public void ClearTarget(bool dropConnections = true)
    {
        lock (_gate)
        {
            if (_target.Task.IsCompleted) _target = NewTarget();
            Volatile.Write(ref _current, null);
        }
        if (!dropConnections) return;
        foreach (var connection in _connections.Values)
            if (connection.Target is not null) connection.Abort();
    }

    public void DropConnections()
    {
        foreach (var connection in _connections.Values) connection.Abort();
    }

    private static TaskCompletionSource<RelayTarget> NewTarget() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private async Task AcceptLoop()
    {
        // After a pause, the clients coming out of the backlog have waited there; those that gave up are not dialled.
        var afterPause = false;
        try
        {
            while (!_acceptStop.IsCancellationRequested)
            {
                Socket client;
                try
                {
                    client = await _listener.AcceptAsync(_acceptStop.Token);
                }
                catch (SocketException) when (_acceptStop.IsCancellationRequested)
                {
                    return;
                }
                catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionReset or SocketError.ConnectionAborted)
                {
                    // The client gave up while in the backlog.
                    continue;
                }
                catch (SocketException e)
                {
                    // EMFILE and the like: accepting again at once would fail again at once.
                    await WaitForRoom($"cannot accept: {e.Message}");
                    afterPause = true;
                    continue;
                }
                if (afterPause && Hangup.Detected(client))
                {
                    client.Dispose();
                }
                else
                {
                    var nearLimit = NearLimit(client);
                    Relay(client);
                    var dialFailed = Interlocked.Exchange(ref _dialFailed, 0) == 1;
                    if (nearLimit || dialFailed)
                    {
                        await WaitForRoom(dialFailed ? "no file descriptor left to dial the tunnel" : "nearly out of file descriptors");
                        afterPause = true;
                        continue;
                    }
                }
                if (afterPause && !_listener.Poll(0, SelectMode.SelectRead)) afterPause = false; // the backlog is empty
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
        {
        }
    }

    private void Relay(Socket client)
    {
        Interlocked.Increment(ref _total);
        var id = Interlocked.Increment(ref _nextId);
        var connection = new RelayConnection(client, BufferSize, id, _toxics, Changed);
        _connections[id] = connection;
        _ = Serve(id, connection);
    }

    /// <summary>
    /// Descriptors are handed out lowest first, so all below a new one are taken: when its number says that after
    /// its dial another connection would eat into the headroom, accepting pauses.
    /// </summary>
    private bool NearLimit(Socket client) =>
        SoftLimit is { } soft && soft - (long)client.SafeHandle.DangerousGetHandle() - 2 < Headroom + 2;

    /// <summary>
    /// Stops accepting — new clients wait in the kernel backlog — and looks again when one of its connections ends,
    /// or else after 50 ms, doubling up to 1 s, until there is room for a connection besides the headroom. Never
    /// spins, and logs at most once a minute.
    /// </summary>
    private async Task WaitForRoom(string cause)
    {
        _exhausted = true;
        Interlocked.Exchange(ref _exhaustedAt, Environment.TickCount64);
        if (Environment.TickCount64 - Interlocked.Read(ref _warnedAt) >= WarnAtMostEvery.TotalMilliseconds)
        {
            Interlocked.Exchange(ref _warnedAt, Environment.TickCount64);
            var limit = SoftLimit is { } soft ? $" (limit {soft})" : "";
            OnWarning?.Invoke($"relay on {LocalEndPoint}: {cause}{limit}; new connections wait until descriptors are freed");
        }
        try
        {
            var pause = FirstPause;
            do
            {
                var released = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                Volatile.Write(ref _released, released);
                await Task.WhenAny(released.Task, Task.Delay(pause, _acceptStop.Token));
                _acceptStop.Token.ThrowIfCancellationRequested();
                pause = pause * 2 < LongestPause ? pause * 2 : LongestPause;
            }
            while (!FileLimits.HasRoom(Headroom + 2));
        }
        finally
        {
            Volatile.Write(ref _released, null);
            Interlocked.Exchange(ref _exhaustedAt, Environment.TickCount64);
            _exhausted = false;
        }
    }

    private async Task Serve(long id, RelayConnection connection)
    {
        try
        {
            connection.OnToxicsChanged(_toxics.Current);
            if (connection.IsClosing) return;
            var target = await WaitForTarget(connection);
            if (target is null) return;
            while (!await connection.RunAsync(target, _stopping.Token))
            {
                Interlocked.Increment(ref _refusedDials);
                target = await WaitForNextTarget(connection, target);
                if (target is null) return;
            }
        }
        catch (SocketException e) when (FileLimits.IsExhaustion(e))
        {
            // No descriptor to dial with: this client is closed, the tunnel is not to blame, and accepting pauses.
            Interlocked.Exchange(ref _dialFailed, 1);
        }
        finally
        {
            _connections.TryRemove(id, out _);
            connection.Dispose();
            Volatile.Read(ref _released)?.TrySetResult();
            Changed();
        }
    }

    /// <summary>
    /// The current target, or — while there is none — the next one, bounded by <see cref="TargetWait"/>. A waiting
    /// connection looks at its client every 100 ms: one that hung up is released at once and never dialled, so a
    /// returning tunnel serves the clients still there, all at once, instead of a queue of dead ones.
    /// </summary>
    private async Task<RelayTarget?> WaitForTarget(RelayConnection connection)
    {
        Task<RelayTarget> pending;
        lock (_gate) pending = _target.Task;
        if (pending.IsCompleted) return pending.Result;
        var waited = Stopwatch.StartNew();
        while (!pending.IsCompleted)
        {
            var left = TargetWait - waited.Elapsed;
            // Once the port stops accepting (shutdown), nobody waits for a tunnel that will not come.
            if (left <= TimeSpan.Zero || _acceptStop.IsCancellationRequested || connection.IsClosing || connection.ClientHungUp) return null;
            await Task.WhenAny(pending, Task.Delay(left < HangupCheck ? left : HangupCheck, _acceptStop.Token));
        }
        return connection.ClientHungUp ? null : pending.Result;
    }

    /// <summary>
    /// After <paramref name="dead"/> refused a dial: the target that replaces it (its owner clears or replaces a dead
    /// tunnel within moments), bounded by <see cref="TargetWait"/> like any wait, and released if the client hangs up.
    /// </summary>
    private async Task<RelayTarget?> WaitForNextTarget(RelayConnection connection, RelayTarget dead)
    {
        var waited = Stopwatch.StartNew();
        while (Volatile.Read(ref _current) == dead)
        {
            if (waited.Elapsed >= TargetWait || _acceptStop.IsCancellationRequested || connection.IsClosing || connection.ClientHungUp) return null;
            await Task.Delay(RetargetPoll);
        }
        return await WaitForTarget(connection);
    }

    private static readonly TimeSpan RetargetPoll = TimeSpan.FromMilliseconds(5);

    /// <summary>Closes the port to new connections; the ones already relayed carry on.</summary>
    public void StopAccepting()
    {
        if (_acceptStop.IsCancellationRequested) return;
        _acceptStop.Cancel();
        Serving.TryRemove(new KeyValuePair<int, RelayListener>(LocalEndPoint.Port, this));
        _listener.Dispose();
        _ledger?.ForgetListener(LocalEndPoint.ToString());
    }

    /// <summary>How long a connection must be quiet to count as drained: its current exchange is over.</summary>
    public static TimeSpan QuietPeriod { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>While a drain waits: completed (and cleared) when a dial ends or a connection goes. Null otherwise, so nothing is allocated.</summary>
    private TaskCompletionSource? _changed;

    private void Changed() => Interlocked.Exchange(ref _changed, null)?.TrySetResult();

    /// <summary>The signal a drain waits on, shared by every drain waiting now.</summary>
    private Task NextChange()
    {
        var fresh = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        return (Interlocked.CompareExchange(ref _changed, fresh, null) ?? fresh).Task;
    }

    /// <summary>
    /// Completes when no relayed connection is mid-exchange (call after <see cref="StopAccepting"/>), with how many were
    /// when it began: 0 means nothing was in flight and it completed at once. Mid-exchange: bytes moved within
    /// <see cref="QuietPeriod"/>, or a dial begun within it is still in progress. Finished connections are gone; open but
    /// idle ones (an open psql prompt, a health check's bare connect) are left for the stop to cut.
    /// </summary>
    public async Task<int> DrainAsync(CancellationToken cancellationToken = default)
    {
        var busy = InFlight;
        if (busy > 0) await WaitUntilQuiet(c => BusyFor(c, freshCounts: false), Timeout.InfiniteTimeSpan, cancellationToken);
        return busy;
    }

    /// <summary>Connections mid-exchange now, as <see cref="DrainAsync"/> counts them.</summary>
    public int InFlight => _connections.Values.Count(c => BusyFor(c, freshCounts: false) is not null);

    /// <summary>
    /// For a switch of tunnels (call after <see cref="SetTarget"/> with the new one): completes with true when no
    /// connection dialled to <paramref name="target"/> is mid-exchange any more — finished, or quiet for
    /// <see cref="QuietPeriod"/> — or with false once <paramref name="max"/> has passed. Then the old tunnel can go;
    /// what it still carries is idle. Here a connection dialled within the quiet period is busy even before its first
    /// byte: its client is about to speak, and waiting costs nobody anything. Connections are matched by endpoint,
    /// so old and new must differ (each ssh or kubectl tunnel has its own socket or port).
    /// </summary>
    public Task<bool> DrainTargetAsync(EndPoint target, TimeSpan max, CancellationToken cancellationToken = default) =>
        WaitUntilQuiet(c => c.Target?.Endpoint.Equals(target) == true ? BusyFor(c, freshCounts: true) : null, max, cancellationToken);

    /// <summary>
    /// Waits until <paramref name="busyFor"/> is null for every connection, waking when a dial ends, a connection goes,
    /// or the earliest moment one may turn quiet (never on a fixed tick); false once <paramref name="max"/> has passed.
    /// </summary>
    private async Task<bool> WaitUntilQuiet(Func<RelayConnection, long?> busyFor, TimeSpan max, CancellationToken cancellationToken)
    {
        var waited = Stopwatch.StartNew();
        while (true)
        {
            // Taken before looking, so a change during the look is not missed.
            var changed = NextChange();
            long? soonest = null;
            foreach (var connection in _connections.Values)
                if (busyFor(connection) is { } due && (soonest is null || due < soonest)) soonest = due;
            if (soonest is null) return true;
            var wake = TimeSpan.FromMilliseconds(soonest.Value + 1);
            if (max != Timeout.InfiniteTimeSpan)
            {
                var left = max - waited.Elapsed;
                if (left <= TimeSpan.Zero) return false;
                if (left < wake) wake = left;
            }
            await Task.WhenAny(changed, Task.Delay(wake, cancellationToken));
            cancellationToken.ThrowIfCancellationRequested();
        }
    }

    /// <summary>
    /// In how many ms <paramref name="connection"/> stops being mid-exchange unless it moves bytes again; null if it is not.
    /// A dial counts for the quiet period from its start (one that takes longer is stuck, not an exchange); with
    /// <paramref name="freshCounts"/> a finished dial does too.
    /// </summary>
    private static long? BusyFor(RelayConnection connection, bool freshCounts)
    {
        var quiet = (long)QuietPeriod.TotalMilliseconds;
        var due = quiet - connection.QuietMilliseconds;
        if (freshCounts || connection.Dialling) due = Math.Max(due, quiet - connection.SinceDialMilliseconds);
        return due > 0 ? due : null;
    }

    /// <summary>This process's relays accepting on 127.0.0.1, by port: the tcp check finds its service's relay here.</summary>
    private static readonly ConcurrentDictionary<int, RelayListener> Serving = new();

    /// <summary>The relay of this process accepting on 127.0.0.1:<paramref name="port"/>, if any.</summary>
    internal static RelayListener? On(int port) => Serving.TryGetValue(port, out var relay) ? relay : null;

    /// <summary>
    /// A tcp check from inside the relay: the dial a client's connection gets — to the current target, through the
    /// tunnel for ssh and kubectl — held for <paramref name="watch"/> and then judged like the probe's own connection
    /// (true: the far side is there). It saves the loopback connection from the probe to this port, about half of a
    /// check's cost (bench figure 5), which only this process's accept loop would have seen. Null — check through the
    /// port instead — whenever the port path could tell something this one cannot: the port is not accepting (stopped,
    /// or paused short of descriptors), there is no target (a client would wait for one), a chaos toxic is set (it must
    /// meet the check as it meets a client), or a tunnel's Unix socket refused (a client would wait for its successor).
    /// A refused or failed TCP dial throws, as the probe's own connect would.
    /// </summary>
    internal async Task<bool?> DialCheckAsync(TimeSpan watch, CancellationToken cancellationToken)
    {
        if (_acceptStop.IsCancellationRequested || _acceptLoop is not { IsCompleted: false } || _exhausted || !_toxics.Current.IsEmpty)
            return null;
        if (Volatile.Read(ref _current)?.Endpoint is not { } endpoint) return null;
        var unix = endpoint is UnixDomainSocketEndPoint;
        using var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, unix ? ProtocolType.Unspecified : ProtocolType.Tcp);
        try
        {
            await socket.ConnectAsync(endpoint, cancellationToken).ConfigureAwait(false);
        }
        catch (SocketException) when (unix && !cancellationToken.IsCancellationRequested)
        {
            return null;
        }
        await Task.Delay(watch, cancellationToken).ConfigureAwait(false);
        return !Hangup.FarSideGone(socket);
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
