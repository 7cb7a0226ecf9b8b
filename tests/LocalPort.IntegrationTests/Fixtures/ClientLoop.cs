using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace LocalPort.IntegrationTests.Fixtures;

/// <summary>How one client exchange through a local port ended.</summary>
public enum Outcome { Ok, Refused, Reset, Empty, Partial, TimedOut, Failed }

/// <summary>One exchange: when it started and ended on the loop's clock, and how it ended.</summary>
public sealed record Exchange(TimeSpan Started, TimeSpan Ended, Outcome Outcome, string? Detail)
{
    public override string ToString() =>
        $"{Outcome} started {Started.TotalMilliseconds:0} ms, ended {Ended.TotalMilliseconds:0} ms{(Detail is null ? "" : $" ({Detail})")}";
}

/// <summary>
/// A client that starts one exchange every <c>period</c> without waiting for the previous one, as a busy
/// application does, each bounded by its own timeout. Every exchange is recorded on one clock
/// (<see cref="Now"/>), so a test can stamp its own actions (a kill, a restart) on the same timeline.
/// </summary>
public sealed class ClientLoop : IAsyncDisposable
{
    private readonly Func<CancellationToken, Task<(Outcome, string?)>> _exchange;
    private readonly TimeSpan _timeout;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly CancellationTokenSource _stopStarting = new();
    private readonly CancellationTokenSource _abort = new();
    private readonly List<Exchange> _done = [];
    private readonly List<Task> _inFlight = [];
    private readonly object _gate = new();
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Task _pacer;

    private ClientLoop(Func<CancellationToken, Task<(Outcome, string?)>> exchange, TimeSpan period, TimeSpan timeout)
    {
        _exchange = exchange;
        _timeout = timeout;
        // A thread of its own: the pace must hold when the pool is busy (2 cores, blocking waits in tests).
        _pacer = Task.Factory.StartNew(() => Pace(period), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    /// <summary>GET / every <paramref name="period"/>; Ok only for a complete 200 with <see cref="HttpServer.Body"/>.</summary>
    public static ClientLoop Http(int port, TimeSpan period, TimeSpan timeout) => new(token => HttpGetAsync(port, token), period, timeout);

    /// <summary>A unique line every <paramref name="period"/>; Ok only when the same bytes come back.</summary>
    public static ClientLoop Echo(int port, TimeSpan period, TimeSpan timeout) => new(token => EchoAsync(port, token), period, timeout);

    /// <summary>Connects every <paramref name="period"/> and closes at once, sending nothing: a client that gave up.</summary>
    public static ClientLoop Abandon(int port, TimeSpan period, TimeSpan timeout) => new(token => ConnectAndCloseAsync(port, token), period, timeout);

    /// <summary>One GET / outside any loop, classified like the loop's (Ok only for a complete 200 with <see cref="HttpServer.Body"/>).</summary>
    public static async Task<(Outcome Outcome, string? Detail)> HttpGetOnceAsync(int port, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try { return await HttpGetAsync(port, cts.Token); }
        catch (OperationCanceledException) { return (Outcome.TimedOut, null); }
        catch (Exception e) when (e is SocketException or IOException or ObjectDisposedException) { return (Outcome.Failed, e.Message); }
    }

    /// <summary>The loop's clock: stamp test actions with it to compare them with exchanges.</summary>
    public TimeSpan Now => _clock.Elapsed;

    public IReadOnlyList<Exchange> Exchanges { get { lock (_gate) return _done.ToList(); } }

    public int Count(Outcome outcome) { lock (_gate) return _done.Count(e => e.Outcome == outcome); }

    public string Summary()
    {
        lock (_gate)
        {
            var counts = Enum.GetValues<Outcome>().Select(o => $"{o.ToString().ToLowerInvariant()} {_done.Count(e => e.Outcome == o)}");
            return $"{_done.Count} exchanges ({_inFlight.Count(t => !t.IsCompleted)} in flight): {string.Join(", ", counts)}";
        }
    }

    /// <summary>
    /// The end of the first successful exchange that started at or after <paramref name="since"/>, waiting for it up to
    /// <paramref name="timeout"/>; null when none came.
    /// </summary>
    public async Task<TimeSpan?> FirstAnswerAfterAsync(TimeSpan since, TimeSpan timeout)
    {
        var deadline = Now + timeout;
        while (true)
        {
            Task changed;
            lock (_gate)
            {
                var answers = _done.Where(e => e.Outcome == Outcome.Ok && e.Started >= since).ToList();
                if (answers.Count > 0) return answers.Min(e => e.Ended);
                changed = _changed.Task;
            }
            var left = deadline - Now;
            if (left <= TimeSpan.Zero) return null;
            try { await changed.WaitAsync(left); }
            catch (TimeoutException) { return null; }
        }
    }

    /// <summary>Starts no new exchange and waits for those in flight (each is bounded by its own timeout).</summary>
    public async Task StopAsync()
    {
        _stopStarting.Cancel();
        await _pacer;
        Task[] inFlight;
        lock (_gate) inFlight = _inFlight.ToArray();
        await Task.WhenAll(inFlight).WaitAsync(_timeout + TimeSpan.FromSeconds(5));
    }

    private void Pace(TimeSpan period)
    {
        var next = Now;
        while (!_stopStarting.IsCancellationRequested)
        {
            Launch();
            next += period;
            var wait = next - Now;
            if (wait > TimeSpan.Zero) _stopStarting.Token.WaitHandle.WaitOne(wait);
            else next = Now; // fell behind (a loaded machine): keep the period, do not burst to catch up
        }
    }

    /// <summary>Runs the exchange on the pacer's thread up to its first await, so the connect is issued on time.</summary>
    private void Launch()
    {
        var started = Now;
        var task = RunExchange(started);
        lock (_gate)
        {
            _inFlight.RemoveAll(t => t.IsCompleted);
            _inFlight.Add(task);
        }
    }

    private async Task RunExchange(TimeSpan started)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(_abort.Token);
        cts.CancelAfter(_timeout);
        (Outcome outcome, string? detail) result;
        try { result = await _exchange(cts.Token); }
        catch (OperationCanceledException) { result = (Outcome.TimedOut, null); }
        catch (Exception e) when (e is SocketException or IOException or ObjectDisposedException) { result = (Outcome.Failed, e.Message); }
        Record(new Exchange(started, Now, result.outcome, result.detail));
    }

    private void Record(Exchange exchange)
    {
        TaskCompletionSource changed;
        lock (_gate)
        {
            _done.Add(exchange);
            changed = _changed;
            _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
        changed.TrySetResult();
    }

    private static async Task<Socket?> ConnectAsync(int port, CancellationToken token)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), token);
            return socket;
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionRefused)
        {
            socket.Dispose();
            return null;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Reads until the far side closes; a reset after some bytes is reported with what came.</summary>
    private static async Task<(byte[] Bytes, bool Reset)> ReadToEndAsync(Socket socket, CancellationToken token)
    {
        var response = new MemoryStream();
        var buffer = new byte[4096];
        try
        {
            while (true)
            {
                var read = await socket.ReceiveAsync(buffer, SocketFlags.None, token);
                if (read == 0) return (response.ToArray(), false);
                response.Write(buffer, 0, read);
            }
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionReset or SocketError.ConnectionAborted)
        {
            return (response.ToArray(), true);
        }
    }

    private static async Task<(Outcome, string?)> HttpGetAsync(int port, CancellationToken token)
    {
        using var socket = await ConnectAsync(port, token);
        if (socket is null) return (Outcome.Refused, null);
        try
        {
            await socket.SendAsync(Encoding.ASCII.GetBytes($"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"),
                SocketFlags.None, token);
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionReset or SocketError.ConnectionAborted or SocketError.Shutdown)
        {
            return (Outcome.Reset, "while sending");
        }
        var (bytes, reset) = await ReadToEndAsync(socket, token);
        var text = Encoding.UTF8.GetString(bytes);
        if (bytes.Length == 0) return (reset ? Outcome.Reset : Outcome.Empty, null);
        var complete = text.StartsWith("HTTP/1.1 200", StringComparison.Ordinal) && text.EndsWith("\r\n\r\n" + HttpServer.Body, StringComparison.Ordinal);
        if (complete) return (Outcome.Ok, null);
        return (reset ? Outcome.Reset : Outcome.Partial, $"{bytes.Length} bytes: {text[..Math.Min(40, text.Length)].ReplaceLineEndings(" ")}");
    }

    private static async Task<(Outcome, string?)> EchoAsync(int port, CancellationToken token)
    {
        using var socket = await ConnectAsync(port, token);
        if (socket is null) return (Outcome.Refused, null);
        var payload = Encoding.ASCII.GetBytes($"ping {Guid.NewGuid():N}\n");
        try
        {
            await socket.SendAsync(payload, SocketFlags.None, token);
            var received = new byte[payload.Length];
            var total = 0;
            while (total < received.Length)
            {
                var read = await socket.ReceiveAsync(received.AsMemory(total), SocketFlags.None, token);
                if (read == 0) return (total == 0 ? Outcome.Empty : Outcome.Partial, $"{total} of {payload.Length} bytes");
                total += read;
            }
            return received.AsSpan().SequenceEqual(payload) ? (Outcome.Ok, null) : (Outcome.Partial, "different bytes came back");
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionReset or SocketError.ConnectionAborted or SocketError.Shutdown)
        {
            return (Outcome.Reset, null);
        }
    }

    private static async Task<(Outcome, string?)> ConnectAndCloseAsync(int port, CancellationToken token)
    {
        using var socket = await ConnectAsync(port, token);
        return (socket is null ? Outcome.Refused : Outcome.Ok, null);
    }

    public async ValueTask DisposeAsync()
    {
        _stopStarting.Cancel();
        _abort.Cancel();
        try { await StopAsync(); }
        catch (Exception e) when (e is TimeoutException or OperationCanceledException) { }
        _stopStarting.Dispose();
        _abort.Dispose();
    }
}
