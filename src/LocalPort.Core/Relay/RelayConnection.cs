using System.Buffers;
using System.Net;
using System.Net.Sockets;
using LocalPort.Core.Relay.Toxics;

namespace LocalPort.Core.Relay;

/// <summary>
/// One client ↔ target pair: two pumps, half-closes passed through, abort cuts both. A pump reads the
/// relay's toxics once per chunk; only when one applies to its direction does it hand over to a
/// <see cref="ToxicPipe"/> for the rest of the connection.
/// </summary>
internal sealed class RelayConnection(Socket client, int bufferSize, long id, ToxicSource toxicSource, Action? dialled = null) : IDisposable, IToxicTarget
{
    private static readonly TimeSpan HalfCloseGrace = TimeSpan.FromSeconds(1);
    /// <summary>A clock reading long enough ago to count as "never".</summary>
    private const long Never = long.MinValue / 2;
    private readonly CancellationTokenSource _abort = new();
    private Socket? _upstream;
    private long _lastBytes = Never;
    private long _dialledAt = Never;
    private int _dialling;
    private int _closing;
    private ConnectionToxics? _toxics;
    private RelayTarget? _target;
    private bool _replied;

    public long Id => id;
    public bool IsClosing => Volatile.Read(ref _closing) == 1;

    /// <summary>The socket dialled to the target; null before the dial.</summary>
    internal Socket? Upstream => _upstream;

    /// <summary>The target this connection was dialled to; null while it waits for one.</summary>
    public RelayTarget? Target => Volatile.Read(ref _target);

    /// <summary>The client has sent FIN or RST (its bytes are left unread).</summary>
    public bool ClientHungUp => Hangup.Detected(client);

    /// <summary>Milliseconds since bytes last moved either way (very many if none ever did).</summary>
    public long QuietMilliseconds => Environment.TickCount64 - Interlocked.Read(ref _lastBytes);

    /// <summary>Milliseconds since the dial to the target began (very many if there was none).</summary>
    public long SinceDialMilliseconds => Environment.TickCount64 - Interlocked.Read(ref _dialledAt);

    /// <summary>The dial to the target is in progress.</summary>
    public bool Dialling => Volatile.Read(ref _dialling) == 1;

    private ConnectionToxics Toxics => _toxics ?? Interlocked.CompareExchange(ref _toxics, new ConnectionToxics(this, toxicSource), null) ?? _toxics;

    CancellationToken IToxicTarget.Closing
    {
        get
        {
            // A connection that has already ended counts as closed.
            try { return _abort.Token; }
            catch (ObjectDisposedException) { return new CancellationToken(canceled: true); }
        }
    }

    /// <summary>The relay's toxics changed (or the connection is new): connection-wide ones act now.</summary>
    public void OnToxicsChanged(ToxicSet set)
    {
        if (set.OnConnection.Length > 0 && !IsClosing) Toxics.OnChanged(set);
    }

    /// <summary>
    /// Relays to <paramref name="target"/> until both sides are done. False, with nothing relayed and the client still
    /// open, when a Unix-socket tunnel refused the dial: that tunnel is gone and its successor can take the client.
    /// </summary>
    /// <exception cref="SocketException">No descriptor for the upstream socket (EMFILE/ENFILE).</exception>
    public async Task<bool> RunAsync(RelayTarget target, CancellationToken stopping)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(stopping, _abort.Token);
        var endpoint = target.Endpoint;
        var upstream = new Socket(endpoint.AddressFamily, SocketType.Stream,
            endpoint is UnixDomainSocketEndPoint ? ProtocolType.Unspecified : ProtocolType.Tcp);
        _upstream = upstream;
        Interlocked.Exchange(ref _dialledAt, Environment.TickCount64);
        Volatile.Write(ref _dialling, 1);
        Volatile.Write(ref _target, target);
        try
        {
            await upstream.ConnectAsync(endpoint, linked.Token);
        }
        catch (SocketException e) when (endpoint is UnixDomainSocketEndPoint && !IsClosing
                                        && e.SocketErrorCode is SocketError.ConnectionRefused or SocketError.AddressNotAvailable)
        {
            // A dead ssh leaves its socket file behind (refused) or none (ENOENT): the client is not cut for it.
            _upstream = null;
            Volatile.Write(ref _target, null);
            upstream.Dispose();
            return false;
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException)
        {
            return true;
        }
        finally
        {
            Volatile.Write(ref _dialling, 0);
            dialled?.Invoke();
        }

        var toTarget = Pump(client, upstream, ToxicStream.Upstream, linked.Token);
        var toClient = Pump(upstream, client, ToxicStream.Downstream, linked.Token);
        // The target hung up first: the client has its FIN and a moment to finish, but a client that keeps its end
        // open does not keep the connection (two descriptors) for ever. A client that half-closes first still gets
        // its whole answer, as long as the target does not go quiet for HalfClosedIdle.
        if (await Task.WhenAny(toTarget, toClient) == toClient && !toTarget.IsCompleted)
        {
            // The grace timer is cancelled as soon as the client is done: left to run its second out, every short
            // connection's timer outlived a few gen0 GCs and piled up in gen2 (RSS climbing under load, bench figure 8).
            using var grace = CancellationTokenSource.CreateLinkedTokenSource(linked.Token);
            var graceOver = Task.Delay(HalfCloseGrace, grace.Token);
            var first = await Task.WhenAny(toTarget, graceOver);
            grace.Cancel();
            if (first != toTarget) Close(reset: false);
        }
        await Task.WhenAll(toTarget, toClient);
        return true;
    }

    /// <summary>A first chunk at least this big after a wait marks a bulk stream: its bursts go through a kernel pipe.</summary>
    internal const int SpliceAbove = 32 * 1024;

    private async Task Pump(Socket from, Socket to, ToxicStream stream, CancellationToken token)
    {
        // On Linux a bulk stream moves socket → pipe → socket with splice(2): no copy through user space, about half the
        // relay CPU per byte (bench figure 4). Small exchanges (checks, ping-pong) and toxic connections copy through a
        // buffer. Whether a stream is bulk is told by the first chunk after each wait, so it needs no extra system call.
        KernelPipe? pipe = null;
        var bulk = false;
        try
        {
            while (true)
            {
                var fresh = pipe is null;
                if (fresh && bulk && toxicSource.Current.IsEmpty)
                {
                    await from.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None, token);
                    pipe = KernelPipe.Rent();
                }
                var read = pipe is null ? await CopyChunk(from, to, stream, token) : await SpliceChunk(pipe, from, to, stream, token);
                if (read < 0) return;
                if (read == 0)
                {
                    // The burst is over: the pipe (empty) goes back until the next one.
                    KernelPipe.Return(pipe!);
                    pipe = null;
                    continue;
                }
                if (fresh) bulk = read >= SpliceAbove && KernelPipe.Supported;
                // The rest of a bulk burst that started with a copy goes through a pipe too.
                if (pipe is null && bulk && toxicSource.Current.IsEmpty) pipe = KernelPipe.Rent();
            }
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // One side failed: cut both so neither end is left half-open.
            Abort();
        }
        finally
        {
            // Empty after a clean end, but after a failure it may hold bytes: never pooled from here.
            pipe?.Close();
        }
    }

    /// <summary>
    /// Waits for bytes, then relays one chunk through a pooled buffer: its size, or -1 when this direction is done
    /// (end of stream passed on, or handed to a toxic pipe).
    /// </summary>
    private async ValueTask<int> CopyChunk(Socket from, Socket to, ToxicStream stream, CancellationToken token)
    {
        // A zero-byte read waits for data (or EOF) without a buffer. Pooled: a health check is a connection too, and
        // 2 × 128 KiB of fresh zeroed memory per check was most of an idle supervisor's CPU (page faults and memset).
        // Held only while bytes move: a connection that carries nothing (every tcp check, an idle session) holds none,
        // so a burst of checks cannot outgrow the pool and fill the large-object heap, nor stalled connections pin 256 KiB each.
        await from.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None, token);
        var buffer = ArrayPool<byte>.Shared.Rent(bufferSize);
        try
        {
            var read = await from.ReceiveAsync(buffer, SocketFlags.None, token);
            if (read > 0) NagleOff(to, stream);
            if (ToxicTakesOver(from, to, stream, read) is { } toxic)
            {
                await toxic.RunAsync(buffer, read, token);
                return -1;
            }
            if (read == 0) return PassEndOfStream(to);
            Touch();
            if (Volatile.Read(ref _halfClosed) == 1) LimitHalfClosed();
            await to.SendAsync(buffer.AsMemory(0, read), SocketFlags.None, token);
            Target?.CountBytes(stream == ToxicStream.Upstream, read);
            return read;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// Relays what is waiting now through <paramref name="pipe"/>: its size, 0 when nothing is waiting (the burst is
    /// over; the pipe is empty), or -1 when this direction is done.
    /// </summary>
    private async ValueTask<int> SpliceChunk(KernelPipe pipe, Socket from, Socket to, ToxicStream stream, CancellationToken token)
    {
        var read = pipe.Fill(from, KernelPipe.Capacity);
        if (read < 0) return 0;
        if (read > 0) NagleOff(to, stream);
        if (ToxicTakesOver(from, to, stream, read) is { } toxic)
        {
            // Toxics work on bytes in hand: the chunk leaves the pipe first.
            var buffer = ArrayPool<byte>.Shared.Rent(Math.Max(bufferSize, read));
            try
            {
                pipe.ReadExactly(buffer, read);
                await toxic.RunAsync(buffer, read, token);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
            return -1;
        }
        if (read == 0)
        {
            // The caller closes the (empty) pipe with the rest of the connection.
            return PassEndOfStream(to);
        }
        Touch();
        if (Volatile.Read(ref _halfClosed) == 1) LimitHalfClosed();
        await DrainAsync(pipe, to, read, token);
        Target?.CountBytes(stream == ToxicStream.Upstream, read, spliced: true);
        return read;
    }

    /// <summary>Counts the first reply, and returns the toxic pipe that takes over this direction if a toxic now applies.</summary>
    private ToxicPipe? ToxicTakesOver(Socket from, Socket to, ToxicStream stream, int read)
    {
        if (!_replied && stream == ToxicStream.Downstream && read > 0)
        {
            // Only this pump writes it: counted once per connection, never per chunk.
            _replied = true;
            Target?.CountExchange();
        }
        // One reference read per chunk: with no toxics this is the whole cost of chaos.
        var toxics = toxicSource.Current;
        return !toxics.IsEmpty && Toxics.Active(stream, toxics).Length > 0
            ? new ToxicPipe(from, to, stream, Toxics, toxicSource, this, Touch)
            : null;
    }

    private int PassEndOfStream(Socket to)
    {
        to.Shutdown(SocketShutdown.Send);
        Volatile.Write(ref _halfClosed, 1);
        LimitHalfClosed();
        return -1;
    }

    /// <summary>Sends the <paramref name="count"/> bytes in <paramref name="pipe"/> to <paramref name="to"/>.</summary>
    private static async ValueTask DrainAsync(KernelPipe pipe, Socket to, int count, CancellationToken token)
    {
        while (count > 0)
        {
            var sent = pipe.Drain(to, count);
            if (sent > 0)
            {
                count -= sent;
                continue;
            }
            // The send buffer is full: .NET waits for room only for a send of bytes in hand, so the rest leaves the pipe.
            var spill = ArrayPool<byte>.Shared.Rent(count);
            try
            {
                pipe.ReadExactly(spill, count);
                await to.SendAsync(spill.AsMemory(0, count), SocketFlags.None, token);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(spill);
            }
            return;
        }
    }

    /// <summary>
    /// How long a connection may go without bytes once one side has closed its sending half. A far side that never
    /// answers the FIN (hung, or ignoring EOF) would otherwise hold both sockets until the kernel gives up; a tcp
    /// check against such an upstream passes every second and left one such connection behind each time.
    /// </summary>
    internal static TimeSpan HalfClosedIdle { get; set; } = TimeSpan.FromSeconds(10);

    private int _halfClosed;

    /// <summary>(Re)starts the half-closed idle clock: when it runs out, the abort token cuts what is left.</summary>
    private void LimitHalfClosed()
    {
        try { _abort.CancelAfter(HalfClosedIdle); } catch (ObjectDisposedException) { }
    }

    private void Touch() => Interlocked.Exchange(ref _lastBytes, Environment.TickCount64);

    public void Abort() => Close(reset: true);

    /// <summary>Closes both sides once (later calls do nothing): a reset (RST) or a plain close (FIN).</summary>
    public void Close(bool reset)
    {
        if (Interlocked.Exchange(ref _closing, 1) == 1) return;
        if (!reset)
        {
            Shutdown(client);
            if (_upstream is { } open) Shutdown(open);
        }
        try { _abort.Cancel(); } catch (ObjectDisposedException) { }
        if (reset)
        {
            CloseHard(client);
            if (_upstream is { } upstream) CloseHard(upstream);
        }
        else
        {
            client.Dispose();
            _upstream?.Dispose();
        }
    }

    private bool _nagleOffUp, _nagleOffDown;

    /// <summary>
    /// TCP_NODELAY on <paramref name="to"/> once bytes first flow that way, before they are sent on: a connection that
    /// carries nothing (every tcp health check) pays no system call for it. Each flag is written by its own pump only.
    /// </summary>
    private void NagleOff(Socket to, ToxicStream stream)
    {
        ref var done = ref stream == ToxicStream.Upstream ? ref _nagleOffUp : ref _nagleOffDown;
        if (done) return;
        done = true;
        if (to.AddressFamily != AddressFamily.Unix) to.NoDelay = true;
    }

    private static void Shutdown(Socket socket)
    {
        try { socket.Shutdown(SocketShutdown.Both); } catch (Exception e) when (e is SocketException or ObjectDisposedException) { }
    }

    private static void CloseHard(Socket socket)
    {
        try { socket.LingerState = new LingerOption(true, 0); } catch (Exception e) when (e is SocketException or ObjectDisposedException) { }
        socket.Dispose();
    }

    public void Dispose()
    {
        Interlocked.Exchange(ref _closing, 1);
        client.Dispose();
        _upstream?.Dispose();
        _abort.Dispose();
    }
}
