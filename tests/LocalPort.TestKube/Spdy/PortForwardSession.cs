using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading.Channels;

namespace LocalPort.TestKube.Spdy;

/// <summary>What a port-forward session needs from the server that owns it.</summary>
internal interface IPortForwardHost
{
    /// <summary>The pod as it is now, or null once it is deleted (or replaced by a new uid).</summary>
    PodRecord? FindPod(string ns, string name, string uid);

    StallGate Stall { get; }

    TimeSpan? IdleTimeout { get; }

    void Log(string message);

    void SessionEnded(PortForwardSession session);
}

/// <summary>
/// The server side of one <c>pods/NAME/portforward</c> upgrade, speaking SPDY/3.1 as the kubelet
/// does: kubectl opens an error stream and a data stream per local connection (same
/// <c>requestid</c>); every SYN_STREAM gets a SYN_REPLY; the data stream is relayed to the pod's
/// upstream; when the relay ends, an error message (if any) is written to the error stream and both
/// streams are closed with FIN. PINGs are echoed; GOAWAY is sent before an orderly close.
/// </summary>
internal sealed class PortForwardSession
{
    private static readonly TimeSpan StreamPairTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan UpstreamConnectTimeout = TimeSpan.FromSeconds(5);

    private readonly IPortForwardHost _host;
    private readonly IFrameTransport _transport;
    private readonly FrameReader _reader;
    private readonly CancellationTokenSource _cts = new();
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly HeaderBlockDecompressor _decompressor = new();
    private readonly HeaderBlockCompressor _compressor = new();
    private readonly Dictionary<uint, StreamState> _streams = [];
    private readonly Dictionary<string, Pair> _pairs = [];
    private readonly List<Relay> _relays = [];
    private readonly TaskCompletionSource _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private uint _lastGoodStreamId;
    private long _lastActivity = Stopwatch.GetTimestamp();
    private int _closing;

    public PortForwardSession(IPortForwardHost host, PodRecord pod, IFrameTransport transport, PortForwardRecord record)
    {
        _host = host;
        Pod = pod;
        _transport = transport;
        _reader = new FrameReader(transport);
        Record = record;
    }

    public PodRecord Pod { get; }

    public PortForwardRecord Record { get; }

    public Task Ended => _ended.Task;

    public int ActiveRelays
    {
        get
        {
            lock (_relays)
            {
                return _relays.Count;
            }
        }
    }

    public async Task RunAsync()
    {
        var idle = MonitorIdleAsync(_cts.Token);
        try
        {
            await ReadLoopAsync(_cts.Token);
            Record.End(Record.EndReason ?? "client closed the connection");
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or SocketException or ObjectDisposedException or System.Net.WebSockets.WebSocketException)
        {
            Record.End(Record.EndReason ?? $"connection ended: {e.GetType().Name}");
        }
        catch (Exception e)
        {
            Record.End(Record.EndReason ?? $"protocol error: {e.Message}");
            _host.Log($"port-forward #{Record.Id} ({Pod.Namespace}/{Pod.Name}): {e}");
            _transport.Abort();
        }
        finally
        {
            _cts.Cancel();
            try
            {
                await idle;
            }
            catch (OperationCanceledException) { }
            await _transport.DisposeAsync();
            _decompressor.Dispose();
            _host.SessionEnded(this);
            _ended.TrySetResult();
        }
    }

    /// <summary>The pod is gone: every active relay fails with <paramref name="message"/>(port) on its error stream.</summary>
    public void FailActiveRelays(Func<int, string> message)
    {
        lock (_relays)
        {
            foreach (var relay in _relays)
            {
                relay.Fail ??= message;
                relay.Cancel();
            }
        }
    }

    /// <summary>Waits (bounded) until no relay is active, so their error messages are on the wire.</summary>
    public async Task DrainRelaysAsync(TimeSpan timeout)
    {
        Task[] pending;
        lock (_relays)
        {
            pending = _relays.Select(r => r.Completion).ToArray();
        }
        await Task.WhenAny(Task.WhenAll(pending), Task.Delay(timeout));
    }

    /// <summary>Orderly close: GOAWAY (last accepted stream, status OK), then close the transport.</summary>
    public async Task ShutdownAsync(string reason)
    {
        if (Interlocked.Exchange(ref _closing, 1) == 1)
        {
            return;
        }
        Record.EndReason ??= reason;
        _host.Log($"port-forward #{Record.Id} ({Pod.Namespace}/{Pod.Name}): closing: {reason}");
        // GOAWAY and the close itself go out under the write lock, after any frame in flight.
        var locked = await _writeLock.WaitAsync(TimeSpan.FromSeconds(1));
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(1));
            await _transport.WriteAsync(SpdyFrames.GoAway(_lastGoodStreamId), timeout.Token);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or SocketException or ObjectDisposedException or System.Net.WebSockets.WebSocketException or InvalidOperationException)
        {
        }
        try
        {
            await _transport.CloseAsync();
        }
        finally
        {
            if (locked)
            {
                _writeLock.Release();
            }
            _cts.Cancel();
        }
    }

    /// <summary>Crash-like close (API server gone): reset the connection, no GOAWAY.</summary>
    public void Abort(string reason)
    {
        Interlocked.Exchange(ref _closing, 1);
        Record.EndReason ??= reason;
        _cts.Cancel();
        _transport.Abort();
    }

    private void Touch() => Volatile.Write(ref _lastActivity, Stopwatch.GetTimestamp());

    private async Task MonitorIdleAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(50), ct);
            if (_host.IdleTimeout is { } limit && limit > TimeSpan.Zero
                && Stopwatch.GetElapsedTime(Volatile.Read(ref _lastActivity)) > limit)
            {
                _ = ShutdownAsync($"idle timeout ({limit.TotalSeconds:0.###}s without data)");
                return;
            }
        }
    }

    private async Task ReadLoopAsync(CancellationToken ct)
    {
        while (true)
        {
            var frame = await SpdyFrames.ReadAsync(_reader, ct);
            if (frame is null)
            {
                return;
            }
            switch (frame.Type)
            {
                case SpdyFrameType.Data:
                    OnData(frame);
                    break;
                case SpdyFrameType.SynStream:
                    await OnSynStreamAsync(frame, ct);
                    break;
                case SpdyFrameType.SynReply or SpdyFrameType.Headers:
                    // Not expected from a client, but the shared zlib stream must still advance.
                    _decompressor.Decompress(frame.Payload.AsSpan(4));
                    break;
                case SpdyFrameType.RstStream:
                    OnReset(frame.StreamId);
                    break;
                case SpdyFrameType.Ping:
                    // Client pings carry odd ids; echo them unchanged. (This server never pings.)
                    if (frame.Payload.Length == 4 && (frame.Payload[3] & 1) == 1)
                    {
                        await SendAsync(SpdyFrames.Ping(System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(frame.Payload)), ct);
                    }
                    break;
                case SpdyFrameType.GoAway:
                    Record.EndReason ??= "client sent GOAWAY";
                    break;
                default:
                    // SETTINGS, WINDOW_UPDATE: spdystream does no flow control; nothing to do.
                    break;
            }
        }
    }

    private void OnData(SpdyFrame frame)
    {
        StreamState? stream;
        lock (_streams)
        {
            _streams.TryGetValue(frame.StreamId, out stream);
        }
        if (stream is null)
        {
            return;
        }
        if (frame.Payload.Length > 0)
        {
            Touch();
            stream.Inbound.Writer.TryWrite(frame.Payload);
        }
        if (frame.IsFin)
        {
            stream.Inbound.Writer.TryComplete();
        }
    }

    private void OnReset(uint streamId)
    {
        StreamState? stream;
        lock (_streams)
        {
            _streams.Remove(streamId, out stream);
        }
        if (stream is null)
        {
            return;
        }
        stream.IsReset = true;
        stream.Inbound.Writer.TryComplete();
        // A reset data stream means kubectl no longer wants this connection.
        if (stream.Type == "data")
        {
            stream.Relay?.Cancel();
        }
    }

    private async Task OnSynStreamAsync(SpdyFrame frame, CancellationToken ct)
    {
        var headers = _decompressor.Decompress(frame.Payload.AsSpan(10));
        var stream = new StreamState(frame.StreamId, headers);
        if (frame.IsFin)
        {
            stream.Inbound.Writer.TryComplete();
        }
        if (Volatile.Read(ref _closing) == 1)
        {
            await SendAsync(SpdyFrames.RstStream(stream.Id, RstStatus.RefusedStream), ct);
            return;
        }
        lock (_streams)
        {
            _streams[stream.Id] = stream;
        }
        _lastGoodStreamId = Math.Max(_lastGoodStreamId, stream.Id);
        Touch();
        await SendSynReplyAsync(stream.Id, ct);

        if (stream.Type is not ("error" or "data"))
        {
            _host.Log($"port-forward #{Record.Id}: stream {stream.Id} has streamtype '{stream.Type}'");
            await ResetAsync(stream, RstStatus.ProtocolError);
            return;
        }
        // kubectl always sends requestid; older clients are paired by id like the kubelet does.
        var requestId = headers.Get("requestid") ?? (stream.Type == "error" ? stream.Id : stream.Id - 2).ToString();
        var (pair, outcome) = AddToPair(requestId, stream);
        switch (outcome)
        {
            case PairOutcome.Duplicate:
                _host.Log($"port-forward #{Record.Id}: duplicate {stream.Type} stream for request {requestId}");
                await ResetAsync(stream, RstStatus.ProtocolError);
                break;
            case PairOutcome.Complete:
                StartRelay(pair);
                break;
        }
    }

    private enum PairOutcome
    {
        Waiting,
        Complete,
        Duplicate,
    }

    private (Pair Pair, PairOutcome Outcome) AddToPair(string requestId, StreamState stream)
    {
        lock (_pairs)
        {
            if (!_pairs.TryGetValue(requestId, out var pair))
            {
                pair = new Pair(requestId);
                _pairs[requestId] = pair;
                _ = ExpirePairAsync(pair, _cts.Token);
            }
            var isError = stream.Type == "error";
            if ((isError ? pair.Error : pair.Data) is not null)
            {
                return (pair, PairOutcome.Duplicate);
            }
            if (isError)
            {
                pair.Error = stream;
            }
            else
            {
                pair.Data = stream;
            }
            if (pair.Error is null || pair.Data is null)
            {
                return (pair, PairOutcome.Waiting);
            }
            _pairs.Remove(requestId);
            return (pair, PairOutcome.Complete);
        }
    }

    private async Task ExpirePairAsync(Pair pair, CancellationToken ct)
    {
        try
        {
            await Task.Delay(StreamPairTimeout, ct);
        }
        catch (OperationCanceledException)
        {
            return;
        }
        lock (_pairs)
        {
            if (!_pairs.Remove(pair.RequestId))
            {
                return;
            }
        }
        if (pair.Error is { } error)
        {
            await SendDataAsync(error, Encoding.UTF8.GetBytes("timed out waiting for all streams to be created"), fin: true);
        }
        if (pair.Data is { } data)
        {
            await ResetAsync(data, RstStatus.Cancel);
        }
    }

    private void StartRelay(Pair pair)
    {
        var relay = new Relay(pair, CancellationTokenSource.CreateLinkedTokenSource(_cts.Token));
        pair.Data!.Relay = relay;
        lock (_relays)
        {
            _relays.Add(relay);
        }
        relay.Completion = Task.Run(() => RunRelayAsync(relay));
    }

    private async Task RunRelayAsync(Relay relay)
    {
        var pair = relay.Pair;
        var data = pair.Data!;
        var error = pair.Error!;
        string? message = null;
        Socket? upstream = null;
        ushort port = 0;
        try
        {
            var portText = data.Headers.Get("port");
            if (!ushort.TryParse(portText, out port) || port == 0)
            {
                message = $"unable to parse \"{portText}\" as a port";
                return;
            }
            var pod = _host.FindPod(Pod.Namespace!, Pod.Name, Pod.Uid);
            if (pod is null)
            {
                message = $"error forwarding port {port} to pod {Pod.SandboxId}, uid : failed to find sandbox \"{Pod.SandboxId}\" in store: not found";
                return;
            }
            var target = pod.UpstreamFor(port);
            upstream = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                if (target is null)
                {
                    throw new SocketException((int)SocketError.ConnectionRefused);
                }
                using var connectTimeout = CancellationTokenSource.CreateLinkedTokenSource(relay.Token);
                connectTimeout.CancelAfter(UpstreamConnectTimeout);
                await upstream.ConnectAsync(target, connectTimeout.Token);
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException && !relay.Token.IsCancellationRequested)
            {
                var reason = e is SocketException { SocketErrorCode: SocketError.ConnectionRefused } ? "connect: connection refused" : $"connect: {e.Message}";
                message = $"error forwarding port {port} to pod {Pod.SandboxId}, uid : failed to execute portforward in network namespace "
                    + $"\"/var/run/netns/cni-{Pod.Uid}\": failed to connect to localhost:{port} inside namespace \"{Pod.SandboxId}\", "
                    + $"IPv4: dial tcp4 127.0.0.1:{port}: {reason} IPv6 dial tcp6: address localhost: no suitable address found ";
                return;
            }
            _host.Log($"port-forward #{Record.Id}: request {pair.RequestId} port {port} -> {target}");
            await PumpAsync(relay, data, upstream);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or SocketException or ObjectDisposedException or ChannelClosedException)
        {
        }
        catch (Exception e)
        {
            _host.Log($"port-forward #{Record.Id}: relay {pair.RequestId} failed: {e}");
        }
        finally
        {
            if (upstream is not null)
            {
                Sockets.Reset(upstream);
            }
            message ??= relay.Fail?.Invoke(port);
            // Like the kubelet: the error (if any) and FIN on the error stream, then FIN on the data stream.
            if (message is not null)
            {
                _host.Log($"port-forward #{Record.Id}: request {pair.RequestId}: {message}");
                await SendDataAsync(error, Encoding.UTF8.GetBytes(message), fin: true);
            }
            else
            {
                await SendDataAsync(error, ReadOnlyMemory<byte>.Empty, fin: true);
            }
            await SendDataAsync(data, ReadOnlyMemory<byte>.Empty, fin: true);
            lock (_streams)
            {
                _streams.Remove(error.Id);
                _streams.Remove(data.Id);
            }
            lock (_relays)
            {
                _relays.Remove(relay);
            }
            relay.Dispose();
        }
    }

    private async Task PumpAsync(Relay relay, StreamState data, Socket upstream)
    {
        var ct = relay.Token;
        var toUpstream = Task.Run(async () =>
        {
            await foreach (var chunk in data.Inbound.Reader.ReadAllAsync(ct))
            {
                await _host.Stall.WaitOpenAsync(ct);
                var remaining = chunk.AsMemory();
                while (!remaining.IsEmpty)
                {
                    remaining = remaining[await upstream.SendAsync(remaining, SocketFlags.None, ct)..];
                }
            }
            // kubectl closed its side (FIN): pass the half-close on.
            upstream.Shutdown(SocketShutdown.Send);
        }, ct);
        var fromUpstream = Task.Run(async () =>
        {
            var buffer = new byte[32 * 1024];
            while (true)
            {
                var n = await upstream.ReceiveAsync(buffer, SocketFlags.None, ct);
                if (n == 0)
                {
                    break;
                }
                await _host.Stall.WaitOpenAsync(ct);
                Touch();
                await SendDataAsync(data, buffer.AsMemory(0, n), fin: false);
            }
            // The upstream closed: FIN the data stream now (half-close); the error stream follows.
            await SendDataAsync(data, ReadOnlyMemory<byte>.Empty, fin: true);
        }, ct);

        // Like containerd's forwarder: once one direction is done, give the other a second, then tear down.
        var first = await Task.WhenAny(toUpstream, fromUpstream);
        var other = first == toUpstream ? fromUpstream : toUpstream;
        try
        {
            await other.WaitAsync(TimeSpan.FromSeconds(1), ct);
        }
        catch (Exception e) when (e is TimeoutException or OperationCanceledException or IOException or SocketException or ObjectDisposedException or ChannelClosedException)
        {
        }
        relay.Cancel();
        try
        {
            await Task.WhenAll(toUpstream, fromUpstream);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or SocketException or ObjectDisposedException or ChannelClosedException)
        {
        }
    }

    private async Task SendSynReplyAsync(uint streamId, CancellationToken ct)
    {
        await _writeLock.WaitAsync(ct);
        try
        {
            // Compress under the write lock: the header zlib stream must follow wire order.
            var frame = SpdyFrames.SynReply(streamId, _compressor.Compress(new SpdyHeaders()));
            await _transport.WriteAsync(frame, ct);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    private async Task SendDataAsync(StreamState stream, ReadOnlyMemory<byte> payload, bool fin)
    {
        if (stream.IsReset || stream.LocalFin)
        {
            return;
        }
        if (fin)
        {
            stream.LocalFin = true;
        }
        try
        {
            await SendAsync(SpdyFrames.Data(stream.Id, payload.Span, fin), _cts.Token);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or SocketException or ObjectDisposedException or System.Net.WebSockets.WebSocketException or InvalidOperationException)
        {
        }
    }

    private async Task ResetAsync(StreamState stream, RstStatus status)
    {
        stream.IsReset = true;
        lock (_streams)
        {
            _streams.Remove(stream.Id);
        }
        try
        {
            await SendAsync(SpdyFrames.RstStream(stream.Id, status), _cts.Token);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or SocketException or ObjectDisposedException or System.Net.WebSockets.WebSocketException)
        {
        }
    }

    private async Task SendAsync(byte[] frame, CancellationToken ct)
    {
        await _writeLock.WaitAsync(ct);
        try
        {
            await _transport.WriteAsync(frame, ct);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    private sealed class StreamState(uint id, SpdyHeaders headers)
    {
        public uint Id { get; } = id;
        public SpdyHeaders Headers { get; } = headers;
        public string? Type { get; } = headers.Get("streamtype");
        public Channel<byte[]> Inbound { get; } = Channel.CreateUnbounded<byte[]>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        public volatile bool IsReset;
        public volatile bool LocalFin;
        public Relay? Relay { get; set; }
    }

    private sealed class Pair(string requestId)
    {
        public string RequestId { get; } = requestId;
        public StreamState? Error { get; set; }
        public StreamState? Data { get; set; }
    }

    private sealed class Relay(Pair pair, CancellationTokenSource cts) : IDisposable
    {
        public Pair Pair { get; } = pair;
        public CancellationToken Token { get; } = cts.Token;
        public Func<int, string>? Fail { get; set; }
        public Task Completion { get; set; } = Task.CompletedTask;

        public void Cancel()
        {
            try
            {
                cts.Cancel();
            }
            catch (ObjectDisposedException) { }
        }

        public void Dispose() => cts.Dispose();
    }
}

/// <summary>Stops relaying bytes (both directions) while set, without closing anything.</summary>
internal sealed class StallGate
{
    private TaskCompletionSource _open = NewOpen();

    public bool IsStalled => !_open.Task.IsCompleted;

    public void Set(bool stalled)
    {
        lock (this)
        {
            if (stalled && !IsStalled)
            {
                _open = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }
            else if (!stalled)
            {
                _open.TrySetResult();
            }
        }
    }

    public Task WaitOpenAsync(CancellationToken ct)
    {
        var open = _open.Task;
        return open.IsCompleted ? Task.CompletedTask : open.WaitAsync(ct);
    }

    private static TaskCompletionSource NewOpen()
    {
        var tcs = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        tcs.TrySetResult();
        return tcs;
    }
}
