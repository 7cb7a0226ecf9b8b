using System.Diagnostics;
using System.Net.Sockets;
using System.Text;

namespace LocalPort.IntegrationTests.Fixtures;

/// <summary>One sd_notify datagram: its KEY=VALUE lines, and when it arrived (since the listener started).</summary>
public sealed record Notification(string Raw, TimeSpan At)
{
    public IReadOnlyDictionary<string, string> Fields { get; } = Raw.Split('\n', StringSplitOptions.RemoveEmptyEntries)
        .Select(line => line.Split('=', 2)).ToDictionary(kv => kv[0], kv => kv.Length > 1 ? kv[1] : "");

    public bool Has(string key, string value = "1") => Fields.TryGetValue(key, out var actual) && actual == value;
}

/// <summary>
/// What systemd is to a Type=notify service: a datagram Unix socket bound at a path (the NOTIFY_SOCKET a test passes
/// on), keeping every notification in order. <paramref name="onArrival"/> runs as each one arrives, before the next
/// is read, e.g. to connect to a port the moment READY=1 comes.
/// </summary>
public sealed class NotifyListener : IDisposable
{
    private readonly Socket _socket = new(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Notification> _received = [];
    private readonly object _gate = new();
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly Thread _loop;

    public string Path { get; }

    public NotifyListener(string path, Func<Notification, Task>? onArrival = null)
    {
        Path = path;
        _socket.Bind(new UnixDomainSocketEndPoint(path));
        // Its own thread, blocked in receive: each arrival is stamped the moment it comes. Stamped from a thread-pool
        // continuation, arrivals waited behind the test host's own busy pool, and pings 500 ms apart were recorded
        // 1,400 ms and then 0 ms apart.
        _socket.ReceiveTimeout = 200;
        _loop = new Thread(() => Receive(onArrival)) { IsBackground = true, Name = "notify-listener" };
        _loop.Start();
    }

    private void Receive(Func<Notification, Task>? onArrival)
    {
        var buffer = new byte[8192];
        while (!_stop.IsCancellationRequested)
        {
            int length;
            try { length = _socket.Receive(buffer); }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.TimedOut or SocketError.WouldBlock) { continue; }
            catch (Exception e) when (e is ObjectDisposedException or SocketException) { return; }
            var notification = new Notification(Encoding.UTF8.GetString(buffer, 0, length), _clock.Elapsed);
            if (onArrival is not null) onArrival(notification).GetAwaiter().GetResult();
            lock (_gate)
            {
                _received.Add(notification);
                Monitor.PulseAll(_gate);
            }
        }
    }

    public IReadOnlyList<Notification> Received { get { lock (_gate) return _received.ToList(); } }

    /// <summary>Waits for a notification at index ≥ <paramref name="from"/> that matches; fails the test with all received so far.</summary>
    public Notification WaitFor(Func<Notification, bool> predicate, TimeSpan timeout, string what, int from = 0)
    {
        var deadline = Stopwatch.StartNew();
        lock (_gate)
        {
            for (var next = from; ; )
            {
                for (; next < _received.Count; next++)
                    if (predicate(_received[next])) return _received[next];
                var left = timeout - deadline.Elapsed;
                if (left <= TimeSpan.Zero)
                    throw new Xunit.Sdk.XunitException($"no {what} within {timeout.TotalSeconds:0.#}s; received: {Describe()}");
                Monitor.Wait(_gate, left);
            }
        }
    }

    public int IndexOf(Notification notification) { lock (_gate) return _received.IndexOf(notification); }

    public string Describe() => string.Join(" | ", Received.Select(n => $"{n.At.TotalSeconds:0.000}s {n.Raw.ReplaceLineEndings("\\n")}"));

    public void Dispose()
    {
        _stop.Cancel();
        _loop.Join(TimeSpan.FromSeconds(5));
        _socket.Dispose();
    }
}
