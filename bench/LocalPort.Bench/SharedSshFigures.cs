using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using LocalPort.IntegrationTests.Fixtures;

namespace LocalPort.Bench;

/// <summary>
/// Figure 7 (issue 14): ssh services to one host sharing one OpenSSH master, with and without a warm standby, side by
/// side with LocalPort's own per-service ssh (<c>multiplex: false</c>) and with a script of autossh/socat, in the same run.
/// </summary>
public sealed class SharedSshFigures(BenchOptions options, SshServer ssh, Report report, Action<string> log)
{
    private const int Ssh = 30, Tcp = 30;
    private static readonly TimeSpan Settle = TimeSpan.FromMilliseconds(1200);

    public async Task RunAsync()
    {
        using var echo = new Upstream(Upstream.Mode.Echo);
        report.Notes.Add($"Shared ssh (figure 7): {Ssh} ssh services to the loopback sshd plus {Tcp} tcp services, all to one echo upstream, tcp checks " +
                         "every 5 s, default restart policy. \"shared\" is the default (one master, each forward added with `ssh -O forward`); " +
                         "\"standby\" adds `standby: true` (a second authenticated master); \"per-service ssh\" is `multiplex: false` (an `ssh -L` each). " +
                         "Start-up: launch → every port has carried an echo. ssh processes: the supervisor's ssh children once all serve and the " +
                         "standby (if any) is up, not counting short-lived `ssh -O` clients. Stop: SIGTERM → exit; left: ssh processes still alive and ports still accepting.");
        report.Notes.Add("Failover (figure 7): three ssh services sharing a master; kill -9 of the process `status` shows for them (the carrier) → " +
                         "the first echo through one service's port (an attempt every 5 ms). Refused: connections to the three ports refused " +
                         "(ECONNREFUSED) from the kill until all three serve again; failed: exchanges through them that ended without their echo. " +
                         $"Peer: one `autossh -M 0` per service (settings as in figure 1), kill -9 of its ssh.");
        await StartUpAsync(echo);
        await FailoverAsync(echo);
    }

    private sealed record Setup(string Name, string? Connection);

    private async Task StartUpAsync(Upstream echo)
    {
        Setup[] setups = [new("shared", null), new("shared + standby", "standby: true"), new("per-service ssh", "multiplex: false")];
        var start = setups.ToDictionary(s => s.Name, _ => new Samples("ms"));
        var processes = setups.ToDictionary(s => s.Name, _ => new Samples("processes"));
        var stop = setups.ToDictionary(s => s.Name, _ => new Samples("ms"));
        // LocalPort's own shutdown report (last-shutdown.json) per setup: phase → ms.
        var phases = setups.ToDictionary(s => s.Name, _ => new Dictionary<string, Samples>());
        var left = setups.ToDictionary(s => s.Name, _ => new Samples("left"));
        var peerStart = new Samples("ms");
        var runs = Math.Max(1, options.StartupRuns / 2);
        for (var run = 0; run < runs; run++)
        {
            foreach (var setup in setups)
            {
                var (started, count, stopped, leftovers, error, report) = await LocalPortOnce(echo, setup.Connection);
                foreach (var (phase, ms) in report)
                {
                    if (!phases[setup.Name].TryGetValue(phase, out var samples)) phases[setup.Name][phase] = samples = new Samples("ms");
                    samples.Add(ms);
                }
                if (stopped is { } end && report.TryGetValue("report total", out var total))
                {
                    if (!phases[setup.Name].TryGetValue("SIGTERM → exit minus report total", out var rest)) phases[setup.Name]["SIGTERM → exit minus report total"] = rest = new Samples("ms");
                    rest.Add(end - total);
                }
                if (started is { } s) start[setup.Name].Add(s); else start[setup.Name].Fail(error ?? "did not serve");
                if (count is { } c) processes[setup.Name].Add(c); else processes[setup.Name].Fail(error ?? "-");
                if (stopped is { } t) stop[setup.Name].Add(t); else stop[setup.Name].Fail(error ?? "did not stop");
                if (leftovers is { } l) left[setup.Name].Add(l); else left[setup.Name].Fail(error ?? "-");
                log($"  {Ssh} ssh + {Tcp} tcp, {setup.Name}, run {run + 1}/{runs}: serve {started:0} ms over {count} ssh, stop {stopped:0} ms, {leftovers} left{(error is null ? "" : $" ({error})")}");
            }
            var peer = await PeerOnce(echo);
            if (peer is { } p) peerStart.Add(p); else peerStart.Fail("did not serve");
            log($"  {Ssh} ssh + {Tcp} tcp, bash + autossh/socat, run {run + 1}/{runs}: serve {peer:0} ms");
        }
        foreach (var setup in setups)
        {
            var why = setup.Connection == "multiplex: false"
                ? $"every service pays its own ssh handshake ({Ssh} at once on the same cores), as with autossh, after LocalPort's own runtime start"
                : "LocalPort starts the .NET runtime and an actor system before its first ssh; its one shared handshake replaces 30";
            report.Rows.Add(new Row("7", $"start-up, {Ssh} ssh ({setup.Name}) + {Tcp} tcp: launch → all serve", start[setup.Name],
                $"bash + {Ssh}× autossh + {Tcp}× socat", peerStart, Better.Lower, why,
                Comment: $"(ssh processes: {processes[setup.Name].Describe()})"));
            report.Rows.Add(new Row("7", $"shutdown, {Ssh} ssh ({setup.Name}) + {Tcp} tcp: SIGTERM → exit", stop[setup.Name], "–", null, Better.Lower,
                Comment: $"(ssh processes and ports left: {left[setup.Name].Describe()})"));
            if (phases[setup.Name].Count > 0)
                report.Notes.Add($"LocalPort's shutdown, {Ssh} ssh ({setup.Name}) + {Tcp} tcp (medians): " +
                                 string.Join("; ", phases[setup.Name].Select(p => $"{p.Key} {p.Value.Number(p.Value.Median)} ms")) +
                                 " (phases from its own report, last-shutdown.json).");
        }
    }

    /// <summary>One `localport run`: launch → all serve, its ssh processes, then SIGTERM → exit and what is left.</summary>
    private async Task<(double? Start, int? Ssh, double? Stop, int? Left, string? Error, Dictionary<string, double> Report)> LocalPortOnce(
        Upstream echo, string? connection)
    {
        var services = Services(echo);
        var clock = Stopwatch.StartNew();
        using var lp = LocalPortRun.Start(options.Launcher, Yaml(services, connection));
        if (!await Client.AllServeAsync(services.Select(s => s.LocalPort).ToList(), TimeSpan.FromSeconds(90)))
            return (null, null, null, null, $"not all ports served: {lp.Tail.Split('\n').LastOrDefault()}", []);
        var started = clock.Elapsed.TotalMilliseconds;
        var expected = connection is "standby: true" ? 2 : connection is null ? 1 : Ssh;
        Poll.Until(() => SshChildren(lp.Process.Id).Count == expected, TimeSpan.FromSeconds(20));
        var ssh = SshChildren(lp.Process.Id);
        var stopClock = Stopwatch.StartNew();
        Native.Signal(lp.Process.Id, Native.SIGTERM);
        if (!lp.Process.WaitForExit(30_000)) return (started, ssh.Count, null, null, "did not exit within 30 s", []);
        var stopped = stopClock.Elapsed.TotalMilliseconds;
        var left = ssh.Count(Native.IsAlive) + services.Count(s => !Refuses(s.LocalPort));
        return (started, ssh.Count, stopped, left, null, Figures.ShutdownPhases(lp.Home));
    }

    private async Task<double?> PeerOnce(Upstream echo)
    {
        var services = Services(echo);
        var lines = services.Select(s => s.Technology == "ssh"
            ? Setups.Shell("autossh", Setups.Autossh(ssh, s.LocalPort, s.UpstreamPort))
            : Setups.Shell("socat", Setups.Socat(s.LocalPort, s.UpstreamPort)));
        var clock = Stopwatch.StartNew();
        using var peer = new PeerScript(lines, Setups.AutosshEnvironment);
        var served = await Client.AllServeAsync(services.Select(s => s.LocalPort).ToList(), TimeSpan.FromSeconds(90));
        return served ? clock.Elapsed.TotalMilliseconds : null;
    }

    private async Task FailoverAsync(Upstream echo)
    {
        Setup[] setups = [new("shared + standby", "standby: true"), new("shared", null)];
        var kill = setups.ToDictionary(s => s.Name, _ => new Samples("ms"));
        var refused = setups.ToDictionary(s => s.Name, _ => new Samples("refused"));
        var failed = setups.ToDictionary(s => s.Name, _ => new Samples("failed"));
        foreach (var setup in setups)
        {
            var ports = BenchPorts.Next(3);
            var services = ports.Select((port, i) => new Setups.Service($"ssh-{i}", "ssh", port, echo.Port)).ToList();
            using var lp = LocalPortRun.Start(options.Launcher, Yaml(services, setup.Connection));
            if (!lp.WaitAllRunning(services.Select(s => s.Name), TimeSpan.FromSeconds(30)) || !await Client.AllServeAsync(ports, TimeSpan.FromSeconds(30)))
            {
                kill[setup.Name].Fail("did not start");
                continue;
            }
            for (var run = 0; run < options.RecoveryRuns; run++)
            {
                await Task.Delay(Settle);
                if (setup.Connection is not null && !Poll.Until(() => StandbyReady(lp), TimeSpan.FromSeconds(20)))
                {
                    kill[setup.Name].Fail("no authenticated standby");
                    continue;
                }
                if (lp.Latest("ssh-0") is not { IsRunning: true, Pid: { } carrier })
                {
                    kill[setup.Name].Fail("not running");
                    continue;
                }
                using var watch = new PortWatch(ports);
                var clock = Stopwatch.StartNew();
                Native.Signal(carrier, Native.SIGKILL);
                var first = await Client.FirstEchoAsync(ports[0], clock, TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(5));
                var back = lp.WaitUntil(l => services.All(s => l.TryGetValue(s.Name, out var st) && st.IsRunning && st.Pid is { } p && p != carrier),
                               TimeSpan.FromSeconds(15))
                           && await Client.AllServeAsync(ports, TimeSpan.FromSeconds(10));
                var (refusals, failures) = await watch.StopAsync();
                if (first is { } t) kill[setup.Name].Add(t.TotalMilliseconds); else kill[setup.Name].Fail("no echo within 10 s");
                refused[setup.Name].Add(refusals);
                failed[setup.Name].Add(failures);
                if (!back) report.Problems.Add($"failover ({setup.Name}): the three services were not all back on a new carrier within 15 s");
                log($"  kill -9 of the carrier ({setup.Name}), run {run + 1}/{options.RecoveryRuns}: first echo {first?.TotalMilliseconds:0} ms, " +
                    $"{refusals} refused, {failures} failed exchanges");
            }
        }

        var peer = new Samples("ms");
        var peerPort = BenchPorts.Next();
        var autossh = Procs.Start("autossh", Setups.Autossh(ssh, peerPort, echo.Port), new Procs.Options { Environment = Setups.AutosshEnvironment });
        try
        {
            if (await Poll.UntilAsync(() => Client.EchoAsync(peerPort, TimeSpan.FromSeconds(2)), TimeSpan.FromSeconds(30)))
            {
                for (var run = 0; run < options.RecoveryRuns; run++)
                {
                    await Task.Delay(Settle);
                    if (Native.Descendants(autossh.Id).FirstOrDefault(p => Native.Command(p) == "ssh" && Native.IsAlive(p)) is not (> 0 and var child)) continue;
                    var clock = Stopwatch.StartNew();
                    Native.Signal(child, Native.SIGKILL);
                    if (await Client.FirstEchoAsync(peerPort, clock, TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(5)) is { } t) peer.Add(t.TotalMilliseconds);
                    else peer.Fail("no echo within 10 s");
                }
            }
            else peer.Fail("autossh did not come up");
        }
        finally
        {
            Procs.KillTree(autossh);
            autossh.Dispose();
        }

        foreach (var setup in setups)
        {
            report.Rows.Add(new Row("7", $"kill -9 of the carrier of 3 shared ssh services ({setup.Name}) → first echo", kill[setup.Name],
                "autossh -M 0", peer, Better.Lower,
                LossReason: setup.Connection is null ? "without a standby both pay a new ssh handshake; LocalPort adds one `ssh -O forward` for all three"
                    : "the standby was already authenticated: one `ssh -O forward` for the three services",
                Comment: $"(refused: {refused[setup.Name].Describe()}; failed exchanges: {failed[setup.Name].Describe()})"));
        }
    }

    /// <summary>An active master and a standby whose control socket exists (ssh makes it only after authentication).</summary>
    private static bool StandbyReady(LocalPortRun lp)
    {
        var carrier = lp.Latest("ssh-0")?.Pid;
        var others = SshChildren(lp.Process.Id).Where(p => p != carrier).ToList();
        return others is [var standby] && CommandLine(standby).FirstOrDefault(a => a.StartsWith("ControlPath=", StringComparison.Ordinal)) is { } path
                                       && File.Exists(path["ControlPath=".Length..]);
    }

    /// <summary>The supervisor's ssh children that carry tunnels (short-lived `ssh -O` clients are not counted).</summary>
    private static List<int> SshChildren(int pid) =>
        Native.Children(pid).Where(p => Native.Command(p) == "ssh" && Native.IsAlive(p) && !CommandLine(p).Contains("-O")).ToList();

    private static IReadOnlyList<string> CommandLine(int pid)
    {
        try { return File.ReadAllText($"/proc/{pid}/cmdline").Split('\0', StringSplitOptions.RemoveEmptyEntries); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return []; }
    }

    private static List<Setups.Service> Services(Upstream echo)
    {
        var ports = BenchPorts.Next(Ssh + Tcp);
        return Enumerable.Range(0, Ssh).Select(i => new Setups.Service($"ssh-{i}", "ssh", ports[i], echo.Port))
            .Concat(Enumerable.Range(0, Tcp).Select(i => new Setups.Service($"tcp-{i}", "tcp", ports[Ssh + i], echo.Port)))
            .ToList();
    }

    private string Yaml(IEnumerable<Setups.Service> services, string? connection) =>
        Setups.LocalPortYaml(services, ssh, Setups.IdleCheck, connection);

    private static bool Refuses(int port)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.Connect(new IPEndPoint(IPAddress.Loopback, port));
            return false;
        }
        catch (SocketException)
        {
            return true;
        }
    }

    /// <summary>Echo exchanges through some ports every 5 ms while it runs: how many were refused, how many failed otherwise.</summary>
    private sealed class PortWatch : IDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _loop;
        private int _refused;
        private int _failed;

        public PortWatch(IReadOnlyList<int> ports)
        {
            _loop = Task.Run(async () =>
            {
                var exchanges = new List<Task>();
                while (!_stop.IsCancellationRequested)
                {
                    foreach (var port in ports) exchanges.Add(Exchange(port));
                    try { await Task.Delay(5, _stop.Token); } catch (OperationCanceledException) { }
                }
                await Task.WhenAll(exchanges);
            });
        }

        private static readonly byte[] Line = "figure 7 watch\n"u8.ToArray();

        /// <summary>One echo exchange on one connection: refused, failed (cut, or not the same bytes back), or fine.</summary>
        private async Task Exchange(int port)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), timeout.Token);
                await socket.SendAsync(Line, SocketFlags.None, timeout.Token);
                var back = new byte[Line.Length];
                for (var total = 0; total < back.Length;)
                {
                    var read = await socket.ReceiveAsync(back.AsMemory(total), SocketFlags.None, timeout.Token);
                    if (read == 0) break;
                    total += read;
                }
                if (!back.AsSpan().SequenceEqual(Line)) Interlocked.Increment(ref _failed);
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionRefused)
            {
                Interlocked.Increment(ref _refused);
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException or IOException)
            {
                Interlocked.Increment(ref _failed);
            }
        }

        public async Task<(int Refused, int Failed)> StopAsync()
        {
            _stop.Cancel();
            await _loop;
            return (_refused, _failed);
        }

        public void Dispose() => _stop.Cancel();
    }
}
