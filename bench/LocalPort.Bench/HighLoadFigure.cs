using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace LocalPort.Bench;

/// <summary>
/// Figure 8 (issue 14, "production simulation"): 50 tcp services under load — 1,000 connections held open across them
/// while ~2,000 new connections a second each carry one short request/response — through `localport run` (default
/// settings and checks) and through a bash script of 50 socat (a process per connection), one after the other in the
/// same run. Latency is compared with the same exchange straight to the upstream, measured alongside.
/// </summary>
public sealed class HighLoadFigure(BenchOptions options, Report report, Action<string> log)
{
    private const int ServiceCount = 50;
    /// <summary>One connection in DirectEvery also goes straight to the upstream: the baseline the added latency is taken from.</summary>
    private const int DirectEvery = 10;
    private static readonly TimeSpan ExchangeTimeout = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan SamplePeriod = TimeSpan.FromSeconds(1);

    private sealed record Phase(string Name, Load Load, List<(double Seconds, double MiB)> Rss, double PeakRssMiB, double? PeakPssMiB,
        double CpuPercent, double BenchCpuPercent, string? Limits, string Kernel);

    public async Task RunAsync()
    {
        var held = options.HighLoadHeld;
        var limit = RaiseFileLimit(4 * held + 4 * Load.MaxInFlight + 2048);
        using var responder = new Responder(ServiceCount);

        // What the generator and the responder can do by themselves, straight to the responder, as fast as they go.
        var capacity = await Load.ClosedLoopAsync(responder.Ports, concurrency: 32, options.HighLoadCalibration);
        var target = options.HighLoadRate;
        // The forwarded rate plus the direct baseline must stay well inside what the generator can do alone, since the
        // system under test takes its share of the same two cores: at most 60 % of the generator's own ceiling.
        // Both systems get this same rate: one that cannot keep up shows it in its achieved rate, errors and latency.
        var rate = Math.Max(100, Math.Min(target, (int)(capacity * 0.6 / (1 + 1.0 / DirectEvery) / 100) * 100));
        log($"  high load: generator alone, direct and closed-loop (32 at a time): {capacity:0} connections/s; at most {rate}/s " +
            $"(target {target}/s) + {rate / DirectEvery}/s direct; {held} held; RLIMIT_NOFILE {limit}");

        // Both side by side from here (one idles while the other is loaded), each in a session of its own.
        var lpPorts = BenchPorts.Next(ServiceCount);
        var peerPorts = BenchPorts.Next(ServiceCount);
        using var lp = LocalPortRun.Start(options.Launcher, Yaml(lpPorts, responder.Ports), ownSession: true);
        if (!lp.WaitAllRunning(Enumerable.Range(0, ServiceCount).Select(i => $"svc-{i}"), TimeSpan.FromSeconds(60)) ||
            !await Client.AllServeAsync(lpPorts, TimeSpan.FromSeconds(60)))
        {
            report.Problems.Add($"high load: localport did not serve all {ServiceCount} services: {Tail(lp.Tail)}");
            return;
        }
        using var peer = new PeerScript(peerPorts.Select((p, i) => Setups.Shell("socat", Setups.Socat(p, responder.Ports[i]))), ownSession: true);
        if (!await Client.AllServeAsync(peerPorts, TimeSpan.FromSeconds(60)))
        {
            report.Problems.Add($"high load: the socat script did not serve all {ServiceCount} ports: {Tail(peer.Tail)}");
            return;
        }

        var phases = new List<Phase>();
        for (var run = 0; run < options.HighLoadRuns; run++)
        {
            // Alternate which goes first, so neither always inherits the other's TIME_WAIT sockets.
            var lpFirst = run % 2 == 0;
            foreach (var isLp in new[] { lpFirst, !lpFirst })
            {
                if (isLp && lp.Process.HasExited) { report.Problems.Add($"high load: localport exited: {Tail(lp.Tail)}"); continue; }
                phases.Add(isLp
                    ? await MeasureAsync("LocalPort", lp.Process, lpPorts, responder, rate)
                    : await MeasureAsync("socat", peer.Process, peerPorts, responder, rate));
            }
        }
        AddRows(phases, capacity, target, rate, limit);
    }

    /// <summary>Opens the held connections, runs the load for the window while sampling the supervisor, checks the held ones, closes them.</summary>
    private async Task<Phase> MeasureAsync(string name, Process supervisor, int[] ports, Responder responder, int rate)
    {
        var window = options.HighLoadWindow;
        var load = new Load();
        await load.OpenHeldAsync(ports, options.HighLoadHeld);
        var rss = new List<(double Seconds, double MiB)>();
        double peakRss = 0, peakPss = 0;
        var pssRead = false;
        var threads = new List<long>();
        var before = ProcTree.Read(supervisor.Id);
        var benchBefore = ProcTree.SelfTicks();
        var netBefore = NetStat.Read();
        var clock = Stopwatch.StartNew();
        var running = load.RunAsync(ports, responder.Ports, rate, DirectEvery, window);
        var next = TimeSpan.Zero;
        var nextPss = options.HighLoadFlatFrom;
        while (clock.Elapsed < window)
        {
            var tree = ProcTree.Read(supervisor.Id);
            var mib = tree.RssKb / 1024.0;
            rss.Add((clock.Elapsed.TotalSeconds, mib));
            peakRss = Math.Max(peakRss, mib);
            if (ProcTree.StatusKb(supervisor.Id, "Threads:") is { } count) threads.Add(count);
            if (clock.Elapsed >= nextPss)
            {
                // PSS costs a page-table walk per process (a thousand socat forks): read once the load is in, and at the end.
                peakPss = Math.Max(peakPss, tree.PssKb() / 1024.0);
                pssRead = true;
                nextPss = TimeSpan.MaxValue;
            }
            next += SamplePeriod;
            var wait = next - clock.Elapsed;
            if (wait > window - clock.Elapsed) wait = window - clock.Elapsed;
            if (wait > TimeSpan.Zero) await Task.Delay(wait);
        }
        var after = ProcTree.Read(supervisor.Id);
        peakPss = Math.Max(peakPss, after.PssKb() / 1024.0);
        pssRead = true;
        var benchAfter = ProcTree.SelfTicks();
        var kernel = NetStat.Delta(netBefore, NetStat.Read());
        var elapsed = clock.Elapsed.TotalSeconds;
        rss.Add((elapsed, after.RssKb / 1024.0));
        peakRss = Math.Max(peakRss, after.RssKb / 1024.0);
        if (name == "LocalPort" && ProcTree.StatusKb(supervisor.Id, "VmHWM:") is { } hwm) peakRss = Math.Max(peakRss, hwm / 1024.0);
        await running;
        await load.CheckHeldAsync();
        // For socat, a listener's limit (the script's child): that is what each fork inherits.
        var limits = ProcTree.OpenFileLimit(name == "socat" && after.Pids.Count > 1 ? after.Pids[1] : supervisor.Id);
        load.CloseHeld();
        var cpu = after.Ticks(before) / ProcTree.ClockTicks / elapsed * 100;
        var benchCpu = (benchAfter - benchBefore) / ProcTree.ClockTicks / elapsed * 100;
        var phase = new Phase(name, load, rss, peakRss, pssRead ? peakPss : null, cpu, benchCpu, limits, kernel);
        log($"  high load, {name}: {load.Summary(window)}; kernel (whole machine) {kernel}; peak RSS {peakRss:0} MiB{(pssRead ? $", peak PSS {peakPss:0} MiB" : "")}, " +
            $"CPU {cpu:0} % of a core (bench {benchCpu:0} %), RSS {Flatness(rss).Text}; threads of the supervisor {string.Join(" ", threads)}");
        return phase;
    }

    private void AddRows(List<Phase> phases, double capacity, int target, int rate, string limit)
    {
        var window = options.HighLoadWindow;
        var skip = options.HighLoadFlatFrom;
        report.Notes.Add($"High load (figure 8, issue 14's production simulation): {ServiceCount} tcp services, each to its own port of a responder in the " +
                         $"bench process. LocalPort: `localport run` with the {ServiceCount} services and no health_check or restart_policy (the defaults: " +
                         $"a tcp check every 5 s). Peer: a bash script running {ServiceCount} {Setups.SocatSettings} (a process per connection). " +
                         $"Each runs in a session of its own (`setsid`), so with the kernel's autogroup scheduling it gets one " +
                         "group's CPU share like the bench, and neither LocalPort's threads nor socat's thousand forks compete thread by thread with the generator. " +
                         $"One after the other in the same run: {options.HighLoadHeld} connections opened and held across the services (an exchange on " +
                         $"each when opened and again at the end), then for {window.TotalSeconds:0} s new connections at a fixed schedule of {rate}/s " +
                         $"round-robin over the services, each connect → 32-byte request → 32-byte reply → the responder closes, plus one in " +
                         $"{DirectEvery} more straight to the responder (the direct baseline, same load, same moment). Latency: connect → last reply " +
                         $"byte; added = percentile through the forward − the same percentile direct. Errors by kind: refused, reset, timeout " +
                         $"(no reply within {ExchangeTimeout.TotalSeconds:0} s), short (closed before the full reply), and held connections lost. " +
                         $"RSS: /proc/PID/stat every {SamplePeriod.TotalSeconds:0} s, for socat summed over the script, its listeners and every live fork " +
                         $"(LocalPort's peak also from VmHWM); PSS (shared pages split) from smaps_rollup at {skip.TotalSeconds:0} s and at the end. CPU: utime+stime (for socat also " +
                         "the reaped forks' cutime+cstime) over the window, % of one core. Memory flat: RSS at the end against RSS at " +
                         $"{skip.TotalSeconds:0} s (once the held connections and the load are in); flat when it grew by less than 5 % " +
                         $"(a leak of 100 bytes per connection would add ~{rate * window.TotalSeconds * 100 / 1048576.0:0.#} MiB), with the least-squares " +
                         "slope after that point in MiB/min alongside. The bench raises its own RLIMIT_NOFILE, which its children inherit " +
                         $"({limit}).");
        report.Notes.Add($"High load, the generator: it and the responder share the 2 cores with the system under test. Alone, straight to the " +
                         $"responder, closed-loop with 32 connections at a time for {options.HighLoadCalibration.TotalSeconds:0} s, they managed " +
                         $"{capacity:0} connections/s; the rate offered is the target ({target}/s) capped at 60 % of that (with the direct share), " +
                         $"here {rate}/s, the same for both: one that cannot keep up shows it in its achieved rate, errors and latency. " +
                         "The achieved rate counts successful exchanges through the forward per second of the window.");
        var lp = phases.Where(p => p.Name == "LocalPort").ToList();
        var peer = phases.Where(p => p.Name == "socat").ToList();
        const string peerName = "bash + 50× socat (fork per connection)";
        Samples Of(List<Phase> list, string unit, int decimals, Func<Phase, double?> value)
        {
            var samples = new Samples(unit, decimals);
            foreach (var phase in list)
            {
                if (value(phase) is { } v) samples.Add(v); else samples.Fail("no value");
            }
            if (list.Count == 0) samples.Fail("did not run");
            return samples;
        }
        var lpDirect50 = Of(lp, "ms", 2, p => p.Load.DirectPercentile(50));
        report.Rows.Add(new Row("8", $"high load: achieved rate through the forward ({rate}/s offered, {options.HighLoadHeld} held)",
            Of(lp, "exchanges/s", 0, p => p.Load.Achieved(window)), peerName, Of(peer, "exchanges/s", 0, p => p.Load.Achieved(window)), Better.Higher,
            "see the latency and CPU rows: the supervisor could not keep up with the schedule on the shared cores"));
        report.Rows.Add(new Row("8", "high load: added latency p50 (connect + exchange, through the forward − direct)",
            Of(lp, "ms", 2, p => p.Load.Added(50)), peerName, Of(peer, "ms", 2, p => p.Load.Added(50)), Better.Lower,
            "every connection is accepted by an async accept loop, dialled and relayed through .NET's socket engine on the thread pool, in one " +
            "process that shares the 2 cores with the generator; socat's forked child does a blocking connect and read/write loop of its own",
            Comment: $"(direct p50 itself: LocalPort run {lpDirect50.Describe()}, socat run {Of(peer, "ms", 2, p => p.Load.DirectPercentile(50)).Describe()})",
            EvenWithin: 0.05));
        report.Rows.Add(new Row("8", "high load: added latency p99 (connect + exchange, through the forward − direct)",
            Of(lp, "ms", 2, p => p.Load.Added(99)), peerName, Of(peer, "ms", 2, p => p.Load.Added(99)), Better.Lower,
            "the tail is where the thread pool and the GC show: a burst of completions queues behind the relay's other work in one process",
            Comment: $"(direct p99 itself: LocalPort run {Of(lp, "ms", 2, p => p.Load.DirectPercentile(99)).Describe()}, socat run " +
                     $"{Of(peer, "ms", 2, p => p.Load.DirectPercentile(99)).Describe()})",
            EvenWithin: 0.1));
        report.Rows.Add(new Row("8", "high load: errors through the forward (refused, reset, timeout, short reply, held lost)",
            Of(lp, "errors", 0, p => p.Load.Forward.Total + p.Load.HeldLost + p.Load.HeldFailed), peerName,
            Of(peer, "errors", 0, p => p.Load.Forward.Total + p.Load.HeldLost + p.Load.HeldFailed), Better.Lower,
            "see the error kinds in the comment and in \"Failed runs and problems seen\"",
            Comment: $"(LocalPort: {string.Join("; ", lp.Select(p => p.Load.ErrorText))}; socat: {string.Join("; ", peer.Select(p => p.Load.ErrorText))})",
            EvenWithin: 0));
        report.Rows.Add(new Row("8", "high load: peak RSS", Of(lp, "MiB", 0, p => p.PeakRssMiB), peerName + ", summed over every process",
            Of(peer, "MiB", 0, p => p.PeakRssMiB), Better.Lower,
            "one native .NET program (compiled ahead of time) with the GC heap and 128 KiB relay buffers per connection direction, in one process",
            Comment: $"(peak PSS: LocalPort {Of(lp, "MiB", 0, p => p.PeakPssMiB).Describe()}, socat {Of(peer, "MiB", 0, p => p.PeakPssMiB).Describe()})"));
        report.Rows.Add(new Row("8", "high load: CPU over the window", Of(lp, "% of a core", 0, p => p.CpuPercent), peerName,
            Of(peer, "% of a core", 0, p => p.CpuPercent), Better.Lower,
            "per connection LocalPort runs an accept, a dial and two async relay pumps through .NET's socket engine and the thread pool",
            Comment: $"(the bench itself, generator and responder: {Of(lp, "%", 0, p => p.BenchCpuPercent).Describe()} in the LocalPort phase, " +
                     $"{Of(peer, "%", 0, p => p.BenchCpuPercent).Describe()} in socat's)"));
        report.Rows.Add(new Row("8", $"high load: RSS growth from {skip.TotalSeconds:0} s to the end of the window (memory flat when < 5 %)",
            Of(lp, "%", 1, p => Flatness(p.Rss).GrowthPercent), peerName, Of(peer, "%", 1, p => Flatness(p.Rss).GrowthPercent), Better.Lower,
            "LocalPort's RSS climbs in 4 MiB steps (GC regions: the objects of connections in flight when a young collection runs are " +
            "promoted) until its first full collection — in a 90 s diagnostic run at 2,000/s it peaked at 160 MiB ~40 s in and then held at " +
            "141 MiB — and when the supervisor gets less CPU than the offered load needs, accepted connections queue and memory grows with the queue",
            Comment: $"(LocalPort: {string.Join("; ", lp.Select(p => Flatness(p.Rss).Text))}; socat: {string.Join("; ", peer.Select(p => Flatness(p.Rss).Text))})",
            EvenWithin: 5, GoodEnough: 5));
        foreach (var phase in phases.Where(p => p.Load.Forward.Total + p.Load.HeldLost + p.Load.HeldFailed > 0))
            report.Problems.Add($"high load, {phase.Name}: {phase.Load.ErrorText}{(phase.Load.FirstError is { } e ? $" (first: {e})" : "")}");
        foreach (var phase in phases.Where(p => p.Load.Direct.Total > 0))
            report.Problems.Add($"high load, {phase.Name} phase: {phase.Load.Direct.Total} direct exchanges failed too ({phase.Load.Direct.Text}): the generator or the machine, not the forward");
        foreach (var phase in phases)
            report.Notes.Add($"High load, {phase.Name}: {phase.Load.Summary(window)}; open-file limit of the relaying process: {phase.Limits ?? "?"}; " +
                             $"kernel counters over the window (the whole machine, other load included): {phase.Kernel}.");
    }

    private (double? GrowthPercent, string Text) Flatness(List<(double Seconds, double MiB)> rss)
    {
        var skip = options.HighLoadFlatFrom.TotalSeconds;
        var after = rss.Where(p => p.Seconds >= skip).ToList();
        // Under a fork storm a sample of socat's process tree can take seconds: the first and the last still tell the growth.
        if (after.Count < 2) return (null, "too few samples");
        var first = after[0].MiB;
        var last = after[^1].MiB;
        var mx = after.Average(p => p.Seconds);
        var my = after.Average(p => p.MiB);
        var sxx = after.Sum(p => (p.Seconds - mx) * (p.Seconds - mx));
        var slope = sxx == 0 ? 0 : after.Sum(p => (p.Seconds - mx) * (p.MiB - my)) / sxx * 60;
        var growth = first == 0 ? 0 : (last - first) / first * 100;
        var series = string.Join(" → ", rss.Where((_, i) => i % 5 == 0 || i == rss.Count - 1).Select(p => p.MiB.ToString("0", CultureInfo.InvariantCulture)));
        var text = $"{first:0} MiB at {after[0].Seconds:0} s → {last:0} MiB at {after[^1].Seconds:0} s, {growth:+0.0;-0.0} %, slope {slope:+0.0;-0.0} MiB/min, " +
                   $"{(growth < 5 ? "flat" : "NOT flat")} (every 5 s: {series})";
        return (growth, text);
    }

    private static string Yaml(int[] ports, int[] upstreams) =>
        // No defaults section, no health_check, no restart_policy: what a user gets out of the box.
        "version: \"1.0\"\nservices:\n" + string.Concat(ports.Select((port, i) =>
            $"  - name: svc-{i}\n    technology: tcp\n    local_port: {port}\n    remote_port: {upstreams[i]}\n" +
            "    connection: { host: 127.0.0.1 }\n"));

    private static string Tail(string text) => string.Join(" | ", text.Split('\n').TakeLast(3));

    // ---------------------------------------------------------------- the bench's own descriptor limit

    [StructLayout(LayoutKind.Sequential)]
    private struct RLimit
    {
        public ulong Current;
        public ulong Maximum;
    }

    [DllImport("libc", EntryPoint = "getrlimit", SetLastError = true)]
    private static extern int GetRLimit(int resource, out RLimit limit);

    [DllImport("libc", EntryPoint = "setrlimit", SetLastError = true)]
    private static extern int SetRLimit(int resource, ref RLimit limit);

    /// <summary>Soft RLIMIT_NOFILE up to <paramref name="wanted"/> (and the hard one too where we may); returns "soft/hard" after.</summary>
    private static string RaiseFileLimit(int wanted)
    {
        const int noFile = 7;
        if (GetRLimit(noFile, out var limit) != 0) return "unreadable";
        if (limit.Current < (ulong)wanted)
        {
            var raised = new RLimit { Current = (ulong)wanted, Maximum = Math.Max(limit.Maximum, (ulong)wanted) };
            // Raising the hard limit needs CAP_SYS_RESOURCE; without it, go as far as the hard limit allows.
            if (SetRLimit(noFile, ref raised) != 0)
            {
                raised = new RLimit { Current = Math.Min((ulong)wanted, limit.Maximum), Maximum = limit.Maximum };
                SetRLimit(noFile, ref raised);
            }
        }
        GetRLimit(noFile, out limit);
        return $"soft {limit.Current}, hard {limit.Maximum}; wanted at least {wanted}";
    }
}

/// <summary>
/// The far end of the services: one listening port per service. Each 32-byte message is echoed; a message starting
/// with 'S' (a short exchange) is answered and then the responder closes, so TIME_WAIT stays on the server side.
/// </summary>
internal sealed class Responder : IDisposable
{
    private readonly List<Socket> _listeners = [];
    private readonly CancellationTokenSource _stop = new();

    public int[] Ports { get; }

    public Responder(int count)
    {
        Ports = new int[count];
        for (var i = 0; i < count; i++)
        {
            var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            listener.Listen(4096);
            _listeners.Add(listener);
            Ports[i] = ((IPEndPoint)listener.LocalEndPoint!).Port;
            _ = AcceptLoop(listener);
        }
    }

    private async Task AcceptLoop(Socket listener)
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try { client = await listener.AcceptAsync(_stop.Token); }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                if (_stop.IsCancellationRequested) return;
                continue;
            }
            _ = Serve(client);
        }
    }

    private async Task Serve(Socket client)
    {
        var message = new byte[Load.MessageSize];
        try
        {
            client.NoDelay = true;
            while (true)
            {
                var got = 0;
                while (got < message.Length)
                {
                    var read = await client.ReceiveAsync(message.AsMemory(got), SocketFlags.None, _stop.Token);
                    if (read == 0) return;
                    got += read;
                }
                await client.SendAsync(message, SocketFlags.None, _stop.Token);
                if (message[0] == (byte)'S') return;
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException) { }
        finally
        {
            client.Dispose();
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        foreach (var listener in _listeners) listener.Dispose();
    }
}

/// <summary>The load generator: held connections, and short exchanges started on a fixed schedule (open loop), bounded in time and count.</summary>
internal sealed class Load
{
    public const int MessageSize = 32;
    /// <summary>The generator never has more short connections in flight than this; past it, it falls behind its schedule.</summary>
    public const int MaxInFlight = 1000;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);
    private static readonly byte[] Short = "S-localport-bench-high-load-0123"u8.ToArray();
    private static readonly byte[] Hold = "H-localport-bench-high-load-0123"u8.ToArray();

    public sealed class Errors
    {
        public int Refused, Reset, Timeout, ShortReply, Other;
        public int Total => Refused + Reset + Timeout + ShortReply + Other;
        public string Text => $"{Refused} refused, {Reset} reset, {Timeout} timeouts, {ShortReply} short replies, {Other} other";
    }

    public Errors Forward { get; } = new();
    public Errors Direct { get; } = new();
    private double[] _forwardMs = [];
    private double[] _directMs = [];
    private int _forwardCount, _directCount, _inFlight;
    public int Offered { get; private set; }
    public int Started { get; private set; }
    public double MaxBehindMs { get; private set; }
    public int HeldOpened { get; private set; }
    public int HeldFailed { get; private set; }
    public int HeldLost { get; private set; }
    public string? FirstError => _firstError;
    private readonly List<Socket> _held = [];

    /// <summary>Opens <paramref name="count"/> connections round-robin over the ports, 100 at a time, each with one exchange.</summary>
    public async Task OpenHeldAsync(int[] ports, int count)
    {
        using var gate = new SemaphoreSlim(100);
        var sockets = new Socket?[count];
        await Task.WhenAll(Enumerable.Range(0, count).Select(async i =>
        {
            await gate.WaitAsync();
            try { sockets[i] = await OpenOneAsync(ports[i % ports.Length]); }
            finally { gate.Release(); }
        }));
        foreach (var socket in sockets)
        {
            if (socket is null) HeldFailed++;
            else _held.Add(socket);
        }
        HeldOpened = _held.Count;
    }

    private async Task<Socket?> OpenOneAsync(int port)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            using var cts = new CancellationTokenSource(Timeout);
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), cts.Token);
            if (await ExchangeAsync(socket, Hold, cts.Token)) return socket;
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException)
        {
            Note($"held connection to {port}: {e.GetType().Name} {(e as SocketException)?.SocketErrorCode}");
        }
        socket.Dispose();
        return null;
    }

    /// <summary>One more exchange on every held connection: those that fail were lost during the load.</summary>
    public async Task CheckHeldAsync()
    {
        using var gate = new SemaphoreSlim(100);
        var lost = 0;
        await Task.WhenAll(_held.Select(async socket =>
        {
            await gate.WaitAsync();
            try
            {
                using var cts = new CancellationTokenSource(Timeout);
                if (!await ExchangeAsync(socket, Hold, cts.Token)) Interlocked.Increment(ref lost);
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException)
            {
                Interlocked.Increment(ref lost);
                Note($"held connection lost: {e.GetType().Name} {(e as SocketException)?.SocketErrorCode}");
            }
            finally { gate.Release(); }
        }));
        HeldLost = lost;
    }

    public void CloseHeld()
    {
        foreach (var socket in _held) socket.Dispose();
        _held.Clear();
    }

    private static async Task<bool> ExchangeAsync(Socket socket, byte[] message, CancellationToken cancel)
    {
        await socket.SendAsync(message, SocketFlags.None, cancel);
        var reply = new byte[MessageSize];
        var got = 0;
        while (got < reply.Length)
        {
            var read = await socket.ReceiveAsync(reply.AsMemory(got), SocketFlags.None, cancel);
            if (read == 0) return false;
            got += read;
        }
        return reply.AsSpan().SequenceEqual(message);
    }

    /// <summary>
    /// Starts exchanges at <paramref name="rate"/> a second for <paramref name="window"/> (round-robin over the ports,
    /// one in <paramref name="directEvery"/> also straight to the upstream), then waits for the last ones (bounded).
    /// The schedule runs on a thread of its own; never more than MaxInFlight at once.
    /// </summary>
    public async Task RunAsync(int[] ports, int[] upstreams, int rate, int directEvery, TimeSpan window)
    {
        var total = (int)(rate * window.TotalSeconds);
        _forwardMs = new double[total];
        _directMs = new double[total / directEvery + 1];
        Offered = total;
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            var clock = Stopwatch.StartNew();
            var issued = 0;
            while (issued < total && clock.Elapsed < window + TimeSpan.FromSeconds(1))
            {
                var due = Math.Min(total, (int)(clock.Elapsed.TotalSeconds * rate) + 1);
                while (issued < due && Volatile.Read(ref _inFlight) < MaxInFlight)
                {
                    var behind = clock.Elapsed.TotalMilliseconds - issued * 1000.0 / rate;
                    if (behind > MaxBehindMs) MaxBehindMs = behind;
                    var service = issued % ports.Length;
                    Interlocked.Increment(ref _inFlight);
                    _ = ShortAsync(ports[service], forward: true);
                    if (issued % directEvery == 0)
                    {
                        Interlocked.Increment(ref _inFlight);
                        _ = ShortAsync(upstreams[service], forward: false);
                    }
                    issued++;
                }
                Thread.Sleep(1);
            }
            Started = issued;
            done.SetResult();
        }) { IsBackground = true, Name = "high-load schedule" };
        thread.Start();
        await done.Task;
        var drain = Stopwatch.StartNew();
        while (Volatile.Read(ref _inFlight) > 0 && drain.Elapsed < Timeout + TimeSpan.FromSeconds(2)) await Task.Delay(20);
    }

    private async Task ShortAsync(int port, bool forward)
    {
        var errors = forward ? Forward : Direct;
        var start = Stopwatch.GetTimestamp();
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        using var cts = new CancellationTokenSource(Timeout);
        try
        {
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), cts.Token);
            await socket.SendAsync(Short, SocketFlags.None, cts.Token);
            var reply = new byte[MessageSize + 1];
            var got = 0;
            while (got < MessageSize)
            {
                var read = await socket.ReceiveAsync(reply.AsMemory(got), SocketFlags.None, cts.Token);
                if (read == 0) break;
                got += read;
            }
            if (got < MessageSize)
            {
                Interlocked.Increment(ref errors.ShortReply);
                Note($"{(forward ? "forward" : "direct")} {port}: short reply ({got} bytes)");
                return;
            }
            var ms = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            // The responder closes after its reply: the close must come through too (and nothing more).
            var after = await socket.ReceiveAsync(reply.AsMemory(0, 1), SocketFlags.None, cts.Token);
            if (after != 0)
            {
                Interlocked.Increment(ref errors.Other);
                Note($"{(forward ? "forward" : "direct")} {port}: bytes after the reply");
                return;
            }
            if (forward) _forwardMs[Interlocked.Increment(ref _forwardCount) - 1] = ms;
            else _directMs[Interlocked.Increment(ref _directCount) - 1] = ms;
        }
        catch (OperationCanceledException)
        {
            Interlocked.Increment(ref errors.Timeout);
            Note($"{(forward ? "forward" : "direct")} {port}: timeout");
        }
        catch (SocketException e)
        {
            switch (e.SocketErrorCode)
            {
                case SocketError.ConnectionRefused: Interlocked.Increment(ref errors.Refused); break;
                case SocketError.ConnectionReset or SocketError.ConnectionAborted or SocketError.Shutdown: Interlocked.Increment(ref errors.Reset); break;
                case SocketError.TimedOut: Interlocked.Increment(ref errors.Timeout); break;
                default: Interlocked.Increment(ref errors.Other); break;
            }
            Note($"{(forward ? "forward" : "direct")} {port}: {e.SocketErrorCode}");
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }

    private void Note(string error) => Interlocked.CompareExchange(ref _firstError, error, null);
    private string? _firstError;

    public int ForwardOk => _forwardCount;
    public double Achieved(TimeSpan window) => _forwardCount / window.TotalSeconds;

    public double? ForwardPercentile(double p) => Percentile(_forwardMs, _forwardCount, p);
    public double? DirectPercentile(double p) => Percentile(_directMs, _directCount, p);
    public double? Added(double p) => ForwardPercentile(p) is { } f && DirectPercentile(p) is { } d ? f - d : null;

    private static int Over(double[] values, int count, double ms) => values.Take(count).Count(v => v > ms);

    private static double? Percentile(double[] values, int count, double p)
    {
        if (count == 0) return null;
        var sorted = values.AsSpan(0, Math.Min(count, values.Length)).ToArray();
        Array.Sort(sorted);
        var rank = p / 100 * (sorted.Length - 1);
        var lo = (int)Math.Floor(rank);
        var hi = (int)Math.Ceiling(rank);
        return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo);
    }

    public string ErrorText => $"{Forward.Text}, {HeldFailed} held not opened, {HeldLost} held lost";

    public string Summary(TimeSpan window) =>
        $"{ForwardOk} of {Offered} exchanges through the forward ({Achieved(window):0}/s), started {Started}, generator at most " +
        $"{MaxBehindMs:0} ms behind its schedule; forward p50 {ForwardPercentile(50):0.00} ms, p99 {ForwardPercentile(99):0.00} ms, " +
        $"p90 {ForwardPercentile(90):0.00} ms, p99.9 {ForwardPercentile(99.9):0.00} ms, {Over(_forwardMs, _forwardCount, 900)} over 900 ms (a SYN " +
        $"retransmit waits 1 s); direct p50 {DirectPercentile(50):0.00} ms, p99 {DirectPercentile(99):0.00} ms, {Over(_directMs, _directCount, 900)} " +
        $"over 900 ms ({_directCount} direct); errors: {ErrorText}; " +
        $"direct errors: {Direct.Text}; held {HeldOpened} opened";

    /// <summary>Closed loop, straight to the ports: how many exchanges a second the generator and the responder manage alone.</summary>
    public static async Task<double> ClosedLoopAsync(int[] ports, int concurrency, TimeSpan duration)
    {
        var count = 0;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async lane =>
        {
            var i = lane;
            while (clock.Elapsed < duration)
            {
                try
                {
                    using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                    using var cts = new CancellationTokenSource(Timeout);
                    await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, ports[i++ % ports.Length]), cts.Token);
                    if (await ExchangeAsync(socket, Short, cts.Token)) Interlocked.Increment(ref count);
                }
                catch (Exception e) when (e is SocketException or OperationCanceledException) { }
            }
        }));
        return count / clock.Elapsed.TotalSeconds;
    }
}

/// <summary>A process and its descendants from one pass over /proc: RSS, CPU ticks, and (on demand) PSS.</summary>
internal sealed class ProcTree
{
    public static readonly double ClockTicks = SysConf(2) is var t and > 0 ? t : 100; // sysconf(_SC_CLK_TCK)
    private static readonly long PageKb = Environment.SystemPageSize / 1024;

    [DllImport("libc", EntryPoint = "sysconf")]
    private static extern long SysConf(int name);

    /// <summary>pid → utime+stime, and cutime+cstime (forks already reaped by their parent).</summary>
    private readonly Dictionary<int, (double Own, double Reaped)> _ticks = [];
    public List<int> Pids { get; } = [];
    public long RssKb { get; private set; }

    public static ProcTree Read(int root)
    {
        var parents = new Dictionary<int, List<int>>();
        var stats = new Dictionary<int, string[]>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid)) continue;
            string stat;
            try { stat = File.ReadAllText($"/proc/{pid}/stat"); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { continue; }
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            if (fields.Length < 22 || !int.TryParse(fields[1], out var parent)) continue;
            stats[pid] = fields;
            if (!parents.TryGetValue(parent, out var children)) parents[parent] = children = [];
            children.Add(pid);
        }
        var tree = new ProcTree();
        var frontier = new Queue<int>([root]);
        while (frontier.Count > 0)
        {
            var pid = frontier.Dequeue();
            if (!stats.TryGetValue(pid, out var f)) continue;
            tree.Pids.Add(pid);
            // Fields after the command: state=0 … utime=11 stime=12 cutime=13 cstime=14 … rss=21 (pages).
            tree._ticks[pid] = (double.Parse(f[11], CultureInfo.InvariantCulture) + double.Parse(f[12], CultureInfo.InvariantCulture),
                double.Parse(f[13], CultureInfo.InvariantCulture) + double.Parse(f[14], CultureInfo.InvariantCulture));
            tree.RssKb += long.Parse(f[21], CultureInfo.InvariantCulture) * PageKb;
            if (parents.TryGetValue(pid, out var children)) foreach (var child in children) frontier.Enqueue(child);
        }
        return tree;
    }

    /// <summary>
    /// CPU ticks spent between <paramref name="earlier"/> and now, by the tree: its processes' own time, plus what the
    /// forks that ended meanwhile spent (their parents' reaped-children time), minus what was spent before.
    /// </summary>
    public double Ticks(ProcTree earlier)
    {
        static double Sum(ProcTree t) => t._ticks.Values.Sum(v => v.Own) + t._ticks.Values.Sum(v => v.Reaped);
        return Sum(this) - Sum(earlier);
    }

    public long PssKb()
    {
        long total = 0;
        foreach (var pid in Pids) total += StatusKb(pid, "Pss:", "smaps_rollup") ?? 0;
        return total;
    }

    public static long? StatusKb(int pid, string key, string file = "status")
    {
        try
        {
            var line = File.ReadLines($"/proc/{pid}/{file}").FirstOrDefault(l => l.StartsWith(key, StringComparison.Ordinal));
            return line is null ? null : long.Parse(line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException) { return null; }
    }

    public static double SelfTicks()
    {
        var f = File.ReadAllText("/proc/self/stat");
        var fields = f[(f.LastIndexOf(')') + 2)..].Split(' ');
        return double.Parse(fields[11], CultureInfo.InvariantCulture) + double.Parse(fields[12], CultureInfo.InvariantCulture);
    }

    public static string? OpenFileLimit(int pid)
    {
        try
        {
            var line = File.ReadLines($"/proc/{pid}/limits").FirstOrDefault(l => l.StartsWith("Max open files", StringComparison.Ordinal));
            if (line is null) return null;
            var parts = line["Max open files".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            return $"soft {parts[0]}, hard {parts[1]}";
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
    }
}

/// <summary>The kernel's TCP listen counters (/proc/net/netstat, TcpExt): a full accept queue drops SYNs, the client retries after 1 s.</summary>
internal static class NetStat
{
    private static readonly string[] Keys = ["ListenOverflows", "ListenDrops", "TCPReqQFullDoCookies", "TCPSynRetrans"];

    public static Dictionary<string, long> Read()
    {
        var result = new Dictionary<string, long>();
        try
        {
            var lines = File.ReadAllLines("/proc/net/netstat").Where(l => l.StartsWith("TcpExt:", StringComparison.Ordinal)).ToArray();
            if (lines.Length < 2) return result;
            var names = lines[0].Split(' ');
            var values = lines[1].Split(' ');
            for (var i = 1; i < names.Length && i < values.Length; i++)
                if (Keys.Contains(names[i])) result[names[i]] = long.Parse(values[i], CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or FormatException) { }
        return result;
    }

    public static string Delta(Dictionary<string, long> before, Dictionary<string, long> after) =>
        string.Join(", ", Keys.Where(after.ContainsKey).Select(k => $"{k} +{after[k] - before.GetValueOrDefault(k)}"));
}
