using System.Diagnostics;
using System.Globalization;
using LocalPort.IntegrationTests.Fixtures;

namespace LocalPort.Bench;

public sealed record BenchOptions
{
    public required string Launcher { get; init; }
    public int RecoveryRuns { get; init; } = 10;
    public int HungRuns { get; init; } = 5;
    /// <summary>autossh's hung runs stop after this many consecutive "not recovered" (each costs the whole window).</summary>
    public int HungPeerGiveUp { get; init; } = 2;
    public TimeSpan HungWindow { get; init; } = TimeSpan.FromSeconds(15);
    public int[] ShutdownSizes { get; init; } = [10, 50, 100];
    public int ShutdownRuns { get; init; } = 3;
    public int StartupRuns { get; init; } = 5;
    public int RelayRuns { get; init; } = 5;
    public long SingleStreamBytes { get; init; } = 256L << 20;
    public long MultiStreamBytes { get; init; } = 32L << 20;
    public int Streams { get; init; } = 16;
    public int PingPongs { get; init; } = 2000;
    /// <summary>
    /// Figure 5's window, in <see cref="IdleWindows"/> parts of whole check rounds (15 s: three rounds of 5 s checks). CPU time
    /// comes from /proc in 10 ms ticks: over a 5 s part one tick is 0.2 % of a core, coarser than the figure itself.
    /// </summary>
    public TimeSpan IdleWindow { get; init; } = TimeSpan.FromSeconds(60);
    /// <summary>
    /// Figure 5: how long the three idle after all serve, before the window. Long enough for the heap to reach its
    /// working size (several gen0 collections at 20 checks a second): RSS read earlier flatters a growing heap.
    /// </summary>
    public TimeSpan IdleSettle { get; init; } = TimeSpan.FromSeconds(60);
    /// <summary>Figure 6 (opt-in): how long both run, how much of the start is left out of the slope, how often RSS is read.</summary>
    public TimeSpan LongRunWindow { get; init; } = TimeSpan.FromMinutes(10);
    public TimeSpan LongRunSkip { get; init; } = TimeSpan.FromMinutes(1);
    public TimeSpan LongRunSample { get; init; } = TimeSpan.FromSeconds(5);
    /// <summary>Figure 8: connections held open, new connections a second, how long, from when memory must be flat, rounds.</summary>
    public int HighLoadHeld { get; init; } = 1000;
    public int HighLoadRate { get; init; } = 2000;
    public TimeSpan HighLoadWindow { get; init; } = TimeSpan.FromSeconds(30);
    public TimeSpan HighLoadFlatFrom { get; init; } = TimeSpan.FromSeconds(5);
    public TimeSpan HighLoadCalibration { get; init; } = TimeSpan.FromSeconds(3);
    public int HighLoadRuns { get; init; } = 1;
    public HashSet<int> Figures { get; init; } = [1, 2, 3, 4, 5];
}

/// <summary>The five figures. Every process is started through <see cref="Procs"/> and killed in a finally.</summary>
public sealed class Figures(BenchOptions options, SshServer ssh, Report report, Action<string> log)
{
    private static readonly TimeSpan Settle = TimeSpan.FromMilliseconds(1200);

    // ---------------------------------------------------------------- 1. recovery

    public async Task RecoveryAsync()
    {
        using var echo = new Upstream(Upstream.Mode.Echo);
        var lpKill = new Samples("ms");
        var peerKill = new Samples("ms");
        var lpHung = new Samples("ms");
        var peerHung = new Samples("ms");
        report.Notes.Add($"Recovery: LocalPort runs one ssh service (`localport run`: an ssh master of its own, the service's forward added onto a private " +
                         "Unix socket with `ssh -O forward`, relay on local_port; figure 7 has shared masters and the standby) " +
                         $"with an http check through the tunnel every 500 ms (timeout 500 ms, failure_threshold 2) and " +
                         $"the default restart policy. Peer: {Setups.AutosshSettings} -L port:127.0.0.1:echo. " +
                         $"Both reach the same loopback sshd (ed25519 keys, default cipher). Clock: from kill(2) to the first echo round trip " +
                         $"through local_port that succeeds; an attempt starts every 10 ms (50 ms when hung) and may wait for the tunnel.");
        report.Notes.Add($"Hung tunnel: SIGSTOP the ssh child instead of killing it; autossh gets a {options.HungWindow.TotalSeconds:0} s window " +
                         $"and stops being retried after {options.HungPeerGiveUp} runs in a row without recovery (after each miss the bench SIGKILLs " +
                         "the stopped ssh so the next run starts from a working tunnel). Besides `-M 0`, autossh runs a second time with its own " +
                         "connection test, `-M PORT:ECHO` (a line through the tunnel to the echo upstream every AUTOSSH_POLL=1 s).");

        var port = BenchPorts.Next();
        var peerPort = BenchPorts.Next();
        using var lp = LocalPortRun.Start(options.Launcher, Setups.LocalPortYaml(
            [new Setups.Service("tunnel", "ssh", port, echo.Port)], ssh, Setups.FastHttpCheck(port)));
        var peer = Procs.Start("autossh", Setups.Autossh(ssh, peerPort, echo.Port),
            new Procs.Options { Environment = Setups.AutosshEnvironment });
        // autossh's own connection test: -M PORT:ECHO sends a line through the tunnel every AUTOSSH_POLL seconds.
        var monitorPort = BenchPorts.Next();
        var monitoredPort = BenchPorts.Next();
        var monitored = Procs.Start("autossh", Setups.Autossh(ssh, monitoredPort, echo.Port, $"{monitorPort}:{echo.Port}"),
            new Procs.Options { Environment = Setups.AutosshEnvironment });
        var monitoredHung = new Samples("ms");
        try
        {
            var lpUp = lp.WaitAllRunning(["tunnel"], TimeSpan.FromSeconds(30)) && await Client.EchoAsync(port, TimeSpan.FromSeconds(10));
            var peerUp = await Poll.UntilAsync(() => Client.EchoAsync(peerPort, TimeSpan.FromSeconds(2)), TimeSpan.FromSeconds(30));
            var monitoredUp = await Poll.UntilAsync(() => Client.EchoAsync(monitoredPort, TimeSpan.FromSeconds(2)), TimeSpan.FromSeconds(30));
            if (!monitoredUp) report.Problems.Add("recovery: autossh with a monitor port did not bring its tunnel up within 30 s");
            if (!lpUp) report.Problems.Add($"recovery: localport did not bring its ssh service up within 30 s:\n```\n{lp.Tail}\n```");
            if (!peerUp) report.Problems.Add("recovery: autossh did not bring its tunnel up within 30 s");

            for (var i = 0; i < options.RecoveryRuns; i++)
            {
                if (lpUp) await Once(lpKill, "kill", Native.SIGKILL, () => LocalPortSshPid(lp), port, TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(10),
                    LocalPortTunnelBack(lp));
                if (peerUp) await Once(peerKill, "kill", Native.SIGKILL, () => AutosshChild(peer), peerPort, TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(10),
                    AutosshTunnelBack(peer, peerPort));
                log($"  recovery after kill -9, run {i + 1}/{options.RecoveryRuns}: LocalPort {Last(lpKill)}, autossh {Last(peerKill)}");
            }
            // autossh's hung runs cost the whole window each: both variants share it, and stop after HungPeerGiveUp misses in a row.
            var misses = new Dictionary<Samples, int> { [peerHung] = 0, [monitoredHung] = 0 };
            for (var i = 0; i < options.HungRuns; i++)
            {
                if (lpUp) await Once(lpHung, "SIGSTOP", Native.SIGSTOP, () => LocalPortSshPid(lp), port, options.HungWindow, TimeSpan.FromMilliseconds(50),
                    LocalPortTunnelBack(lp));
                var peers = new List<(Samples Samples, Process Process, int Port)>();
                if (peerUp && misses[peerHung] < options.HungPeerGiveUp) peers.Add((peerHung, peer, peerPort));
                if (monitoredUp && misses[monitoredHung] < options.HungPeerGiveUp) peers.Add((monitoredHung, monitored, monitoredPort));
                var before = peers.Select(p => p.Samples.Values.Count).ToList();
                await Task.WhenAll(peers.Select(p => Once(p.Samples, "SIGSTOP", Native.SIGSTOP, () => AutosshChild(p.Process), p.Port,
                    options.HungWindow, TimeSpan.FromMilliseconds(50), AutosshTunnelBack(p.Process, p.Port))));
                for (var k = 0; k < peers.Count; k++)
                    misses[peers[k].Samples] = peers[k].Samples.Values.Count > before[k] ? 0 : misses[peers[k].Samples] + 1;
                log($"  recovery after SIGSTOP, run {i + 1}/{options.HungRuns}: LocalPort {Last(lpHung)}, autossh -M 0 {Last(peerHung)}, " +
                    $"autossh -M port {Last(monitoredHung)}");
            }
        }
        finally
        {
            foreach (var process in new[] { peer, monitored })
            {
                Procs.KillTree(process);
                process.Dispose();
            }
        }

        report.Rows.Add(new Row("1", "recovery after `kill -9` of the ssh tunnel (kill → first echo through local_port)",
            lpKill, "autossh -M 0", peerKill, Better.Lower,
            LossReason: "both start a fresh ssh (new process, full key exchange); LocalPort adds the exit notification through .NET " +
                        "(SIGCHLD thread → Process.Exited → actor mailbox), a 5 ms poll for the master's control socket, one `ssh -O forward` and its relay hop, " +
                        "while autossh's ssh binds local_port itself"));
        report.Rows.Add(new Row("1", "recovery of a hung (SIGSTOPped) ssh tunnel (stop → first echo)",
            lpHung, "autossh -M 0", peerHung, Better.Lower,
            LossReason: "LocalPort needs failure_threshold (2) failed checks at the 500 ms interval before it kills the stopped ssh",
            PeerNone: $"not recovered within {options.HungWindow.TotalSeconds:0} s in {peerHung.Runs} of {peerHung.Runs} runs (autossh -M 0 only watches ssh's exit; a stopped ssh never exits)"));
        report.Rows.Add(new Row("1", "recovery of a hung (SIGSTOPped) ssh tunnel (stop → first echo)",
            lpHung, "autossh -M PORT:ECHO, AUTOSSH_POLL=1", monitoredHung, Better.Lower,
            LossReason: "LocalPort needs failure_threshold (2) failed checks at the 500 ms interval before it kills the stopped ssh",
            PeerNone: $"not recovered within {options.HungWindow.TotalSeconds:0} s in {monitoredHung.Runs} of {monitoredHung.Runs} runs (autossh's " +
                      "connection test notices the hang, but it stops ssh with SIGTERM, which a stopped process never acts on, and then waits for it forever)"));
    }

    private static string Last(Samples samples) =>
        samples.Runs == 0 ? "-" : samples.Values.Count > 0 && samples.Failed == 0 ? $"{samples.Values[^1]:0} ms"
            : $"{(samples.Values.Count > 0 ? $"{samples.Values[^1]:0} ms, " : "")}{samples.Failed} failed ({samples.FailureNotes[^1]})";

    private static int? LocalPortSshPid(LocalPortRun lp) =>
        lp.Latest("tunnel") is { IsRunning: true, Pid: { } pid } && Native.Command(pid) == "ssh" ? pid : null;

    private static int? AutosshChild(Process autossh) =>
        Native.Descendants(autossh.Id).Where(p => Native.Command(p) == "ssh" && Native.IsAlive(p)).Cast<int?>().FirstOrDefault();

    /// <summary>The tunnel is running again with a new ssh.</summary>
    private static Func<int, Task<bool>> LocalPortTunnelBack(LocalPortRun lp) => old => Task.FromResult(
        lp.WaitUntil(l => l.TryGetValue("tunnel", out var s) && s.IsRunning && s.Pid is { } p && p != old, TimeSpan.FromSeconds(15)));

    private static Func<int, Task<bool>> AutosshTunnelBack(Process autossh, int port) => old => Poll.UntilAsync(async () =>
        AutosshChild(autossh) is { } pid && pid != old && await Client.EchoAsync(port, TimeSpan.FromSeconds(1)), TimeSpan.FromSeconds(15));

    /// <summary>One disruption: wait for a steady tunnel, signal its ssh, time the first echo that gets through.</summary>
    private async Task Once(Samples samples, string what, int signal, Func<int?> findPid, int port, TimeSpan window, TimeSpan spacing,
        Func<int, Task<bool>> back)
    {
        await Task.Delay(Settle);
        int? found = null;
        if (!Poll.Until(() => (found = findPid()) is not null, TimeSpan.FromSeconds(15)) || found is not { } pid)
        {
            samples.Fail($"no running ssh to {what}");
            return;
        }
        var start = Procs.StartTime(pid);
        var clock = Stopwatch.StartNew();
        Native.Signal(pid, signal);
        var first = await Client.FirstEchoAsync(port, clock, window, spacing);
        if (first is { } t) samples.Add(t.TotalMilliseconds);
        else samples.Fail($"not recovered within {window.TotalSeconds:0} s of {what}");

        // Whoever supervises it must have got rid of the old ssh; if not, we do, so the next run starts clean.
        if (Procs.StartTime(pid) == start && Native.IsAlive(pid))
        {
            if (first is not null) lock (report) report.Problems.Add($"{what}: the disrupted ssh {pid} was still alive after recovery");
            Native.Signal(pid, Native.SIGKILL);
        }
        if (!await back(pid)) samples.Fail($"the tunnel did not come back within 15 s after {what}");
    }

    // ---------------------------------------------------------------- 2 + 3. shutdown and start-up

    private sealed record Lifecycle(double? StartupMs, double? StopMs, int Leftovers, int OpenPorts, int? ExitCode, string? Error)
    {
        public double? FirstStatusMs { get; init; }
        /// <summary>LocalPort's own shutdown report (last-shutdown.json): phase → ms, plus "total".</summary>
        public Dictionary<string, double> Phases { get; init; } = [];
    }

    /// <summary>Where LocalPort's time goes, per case: launch → first status line, and its own shutdown report.</summary>
    private readonly Dictionary<string, Dictionary<string, Samples>> _breakdown = [];

    private void Breakdown(string key, Lifecycle lp)
    {
        if (!_breakdown.TryGetValue(key, out var parts)) _breakdown[key] = parts = [];
        void Add(string part, double value)
        {
            if (!parts.TryGetValue(part, out var samples)) parts[part] = samples = new Samples("ms");
            samples.Add(value);
        }
        if (lp.FirstStatusMs is { } first) Add("launch → first status line", first);
        foreach (var (phase, ms) in lp.Phases) Add(phase, ms);
        if (lp.StopMs is { } stop && lp.Phases.TryGetValue("report total", out var total)) Add("SIGTERM → exit minus report total", stop - total);
    }

    private void BreakdownNotes()
    {
        foreach (var (key, parts) in _breakdown)
            report.Notes.Add($"LocalPort's time, {key} (medians): " + string.Join("; ", parts.Select(p => $"{p.Key} {p.Value.Number(p.Value.Median)} ms")) +
                             " (phases from its own report, last-shutdown.json).");
    }

    public async Task ShutdownAndStartupAsync()
    {
        using var echo = new Upstream(Upstream.Mode.Echo);
        report.Notes.Add("Shutdown: N services, half ssh (to the loopback sshd) and half tcp, all forwarding to one echo upstream, tcp checks every 5 s. " +
                         "Clock: SIGTERM to the supervisor → its exit. Leftovers: processes from the supervisor's descendant snapshot taken just before " +
                         "SIGTERM (pid + start time) still alive after it exits, plus for LocalPort any process tagged with its LOCALPORT_INSTANCE " +
                         "(/proc/PID/environ); open ports: local ports still accepting a connection afterwards. " +
                         $"Peer: a bash script running one autossh (settings as in figure 1) per ssh service and one {Setups.SocatSettings} per tcp service, " +
                         "with `trap 'kill $(jobs -p); wait' TERM`.");
        report.Notes.Add("Start-up: from launching the supervisor until every local port has carried one echo round trip " +
                         "(4 sequential sweeps in parallel; a refused port is retried every 10 ms). The start-up of the mixed runs is also reported.");

        var sizes = options.ShutdownSizes;
        var stop = sizes.ToDictionary(s => s, _ => (Lp: new Samples("ms"), Peer: new Samples("ms")));
        var left = sizes.ToDictionary(s => s, _ => (Lp: new Samples("processes"), Peer: new Samples("processes")));
        var ports = sizes.ToDictionary(s => s, _ => (Lp: new Samples("ports"), Peer: new Samples("ports")));
        var mixedStart = sizes.ToDictionary(s => s, _ => (Lp: new Samples("ms"), Peer: new Samples("ms")));

        foreach (var size in sizes)
        {
            for (var run = 0; run < options.ShutdownRuns; run++)
            {
                var lp = await LocalPortLifecycle(size / 2, size - size / 2, echo, Setups.IdleCheck);
                var peer = await PeerLifecycle(size / 2, size - size / 2, echo);
                Record(lp, stop[size].Lp, left[size].Lp, ports[size].Lp, mixedStart[size].Lp);
                Breakdown($"{size} services ({size / 2} ssh + {size - size / 2} tcp)", lp);
                Record(peer, stop[size].Peer, left[size].Peer, ports[size].Peer, mixedStart[size].Peer);
                log($"  {size} services ({size / 2} ssh + {size - size / 2} tcp), run {run + 1}/{options.ShutdownRuns}: " +
                    $"LocalPort {Describe(lp)}; peer {Describe(peer)}");
            }
        }

        // All-tcp 100: figure 3's own runs; their shutdowns are a further row of figure 2.
        var tcpStart = (Lp: new Samples("ms"), Peer: new Samples("ms"));
        var tcpStop = (Lp: new Samples("ms"), Peer: new Samples("ms"));
        var tcpLeft = (Lp: new Samples("processes"), Peer: new Samples("processes"));
        var tcpPorts = (Lp: new Samples("ports"), Peer: new Samples("ports"));
        if (options.Figures.Contains(3))
        {
            for (var run = 0; run < options.StartupRuns; run++)
            {
                var lp = await LocalPortLifecycle(0, 100, echo, Setups.IdleCheck);
                var peer = await PeerLifecycle(0, 100, echo);
                Record(lp, tcpStop.Lp, tcpLeft.Lp, tcpPorts.Lp, tcpStart.Lp);
                Breakdown("100 tcp services", lp);
                Record(peer, tcpStop.Peer, tcpLeft.Peer, tcpPorts.Peer, tcpStart.Peer);
                log($"  100 tcp services, run {run + 1}/{options.StartupRuns}: LocalPort {Describe(lp)}; peer {Describe(peer)}");
            }
        }

        BreakdownNotes();
        string StopLoss(string key, bool ssh)
        {
            if (!_breakdown.TryGetValue(key, out var parts)) return "LocalPort runs four CoordinatedShutdown phases; the script only forwards SIGTERM and waits";
            double M(string part) => parts.TryGetValue(part, out var p) ? p.Median ?? 0 : 0;
            return $"by LocalPort's own report (medians, its clock starts at the signal: {M("report total"):0} ms), complete-current waits only for relayed " +
                   $"exchanges in flight ({M("complete-current"):0} ms; open but idle connections and health checks do not count), every service stops at once in " +
                   $"cancel-tasks ({M("cancel-tasks"):0} ms{(ssh ? ": SIGTERM to each ssh process, a shared master at once, and each exit awaited" : "")}), the other two " +
                   $"phases and the signal's way to the first take the rest, and {M("SIGTERM → exit minus report total"):0} ms pass between the report and process exit " +
                   "(log flush and the runtime's own exit; the CLI no longer waits for the actor system's termination); the bash script only forwards SIGTERM and waits";
        }
        const string leftLoss = "LocalPort left something behind: see \"Failed runs and problems seen\"";
        if (options.Figures.Contains(2))
        {
            foreach (var size in sizes)
            {
                var peerName = $"bash + {size / 2}× autossh + {size - size / 2}× socat";
                report.Rows.Add(new Row("2", $"shutdown, {size} services ({size / 2} ssh + {size - size / 2} tcp): SIGTERM → exit",
                    stop[size].Lp, peerName, stop[size].Peer, Better.Lower, StopLoss($"{size} services ({size / 2} ssh + {size - size / 2} tcp)", true)));
                report.Rows.Add(new Row("2", $"leftovers after shutdown, {size} services: processes / open ports",
                    left[size].Lp, peerName, left[size].Peer, Better.Lower, leftLoss,
                    Comment: $"(open ports: LocalPort {ports[size].Lp.Describe()}, peer {ports[size].Peer.Describe()})"));
            }
            if (options.Figures.Contains(3))
            {
                report.Rows.Add(new Row("2", "shutdown, 100 tcp services: SIGTERM → exit", tcpStop.Lp, "bash + 100× socat", tcpStop.Peer, Better.Lower, StopLoss("100 tcp services", false),
                    Comment: $"(leftover processes: LocalPort {tcpLeft.Lp.Describe()}, peer {tcpLeft.Peer.Describe()}; open ports: LocalPort {tcpPorts.Lp.Describe()}, peer {tcpPorts.Peer.Describe()})"));
            }
        }
        const string startLoss = "LocalPort starts its control API's web host and an Akka actor system (a native program, compiled ahead of " +
                                 "time) before it binds a port; socat is a small C program that binds in its first milliseconds";
        const string startSshLoss = "LocalPort starts the .NET runtime and an Akka actor system before the first ssh is spawned; " +
                                    "the ssh handshakes themselves cost both sides the same";
        if (options.Figures.Contains(3))
        {
            report.Rows.Add(new Row("3", "start-up, 100 tcp services: launch → all 100 serve an echo", tcpStart.Lp, "bash + 100× socat", tcpStart.Peer, Better.Lower, startLoss));
            foreach (var size in sizes.Where(s => s == 100 || s == sizes.Max()).Distinct())
                report.Rows.Add(new Row("3", $"start-up, {size} services ({size / 2} ssh + {size - size / 2} tcp): launch → all serve",
                    mixedStart[size].Lp, $"bash + {size / 2}× autossh + {size - size / 2}× socat", mixedStart[size].Peer, Better.Lower, startSshLoss));
        }
    }

    private static void Record(Lifecycle result, Samples stop, Samples left, Samples ports, Samples start)
    {
        if (result.StartupMs is { } s) start.Add(s); else start.Fail(result.Error ?? "did not start");
        if (result.StopMs is { } t)
        {
            stop.Add(t);
            left.Add(result.Leftovers);
            ports.Add(result.OpenPorts);
        }
        else
        {
            stop.Fail(result.Error ?? "did not stop");
            left.Fail(result.Error ?? "did not stop");
            ports.Fail(result.Error ?? "did not stop");
        }
    }

    private static string Describe(Lifecycle l) =>
        l.Error is not null && l.StopMs is null ? $"FAILED ({l.Error})" :
        $"start {l.StartupMs:0} ms, stop {l.StopMs:0} ms, {l.Leftovers} left, {l.OpenPorts} ports open{(l.ExitCode is { } c && c != 0 ? $", exit {c}" : "")}";

    private static List<Setups.Service> Services(int sshCount, int tcpCount, Upstream echo)
    {
        var ports = BenchPorts.Next(sshCount + tcpCount);
        return Enumerable.Range(0, sshCount).Select(i => new Setups.Service($"ssh-{i}", "ssh", ports[i], echo.Port))
            .Concat(Enumerable.Range(0, tcpCount).Select(i => new Setups.Service($"tcp-{i}", "tcp", ports[sshCount + i], echo.Port)))
            .ToList();
    }

    private async Task<Lifecycle> LocalPortLifecycle(int sshCount, int tcpCount, Upstream echo, string check)
    {
        var services = Services(sshCount, tcpCount, echo);
        var yaml = Setups.LocalPortYaml(services, ssh, check);
        var clock = Stopwatch.StartNew();
        using var lp = LocalPortRun.Start(options.Launcher, yaml);
        var served = await Client.AllServeAsync(services.Select(s => s.LocalPort).ToList(), TimeSpan.FromSeconds(90));
        double? startup = served ? clock.Elapsed.TotalMilliseconds : null;
        if (!served) return new Lifecycle(null, null, 0, 0, null, $"not all ports served within 90 s: {Tail(lp.Tail)}");
        if (startup > 10_000)
            report.Problems.Add($"{sshCount} ssh + {tcpCount} tcp: LocalPort took {startup:0} ms to serve every port; its last output:\n```\n{lp.Tail}\n```");
        if (!lp.WaitAllRunning(services.Select(s => s.Name), TimeSpan.FromSeconds(30)))
            return new Lifecycle(startup, null, 0, 0, null, $"not all services reported running: {Tail(lp.Tail)}");
        var children = Procs.Snapshot(lp.Process.Id);
        var instance = children.Select(c => Procs.EnvironmentOf(c.Pid, "LOCALPORT_INSTANCE")).FirstOrDefault(v => v is not null);
        var result = await StopAndCount(lp, children, services, instance);
        return result with { StartupMs = startup, FirstStatusMs = lp.FirstStatus?.TotalMilliseconds, Phases = ShutdownPhases(lp.Home) };
    }

    private async Task<Lifecycle> PeerLifecycle(int sshCount, int tcpCount, Upstream echo)
    {
        var services = Services(sshCount, tcpCount, echo);
        var lines = services.Select(s => s.Technology == "ssh"
            ? Setups.Shell("autossh", Setups.Autossh(ssh, s.LocalPort, s.UpstreamPort))
            : Setups.Shell("socat", Setups.Socat(s.LocalPort, s.UpstreamPort)));
        var clock = Stopwatch.StartNew();
        using var peer = new PeerScript(lines, Setups.AutosshEnvironment);
        var served = await Client.AllServeAsync(services.Select(s => s.LocalPort).ToList(), TimeSpan.FromSeconds(90));
        double? startup = served ? clock.Elapsed.TotalMilliseconds : null;
        if (!served) return new Lifecycle(null, null, 0, 0, null, $"not all ports served within 90 s: {Tail(peer.Tail)}");
        var children = Procs.Snapshot(peer.Process.Id);
        var result = await StopAndCount(peer, children, services, null);
        return result with { StartupMs = startup };
    }

    internal static Dictionary<string, double> ShutdownPhases(string home)
    {
        var phases = new Dictionary<string, double>();
        try
        {
            using var json = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(home, "state", "last-shutdown.json")));
            foreach (var phase in json.RootElement.GetProperty("phases").EnumerateArray())
                phases[phase.GetProperty("phase").GetString()!.Replace("localport-", "")] = phase.GetProperty("duration").GetDouble();
            phases["report total"] = json.RootElement.GetProperty("total").GetDouble();
        }
        catch (Exception e) when (e is IOException or System.Text.Json.JsonException or KeyNotFoundException or InvalidOperationException) { }
        return phases;
    }

    private static string Tail(string text) => string.Join(" | ", text.Split('\n').TakeLast(3));

    private static async Task<Lifecycle> StopAndCount(ISupervised supervisor, IReadOnlyList<(int Pid, long Start)> children,
        IReadOnlyList<Setups.Service> services, string? instance)
    {
        var process = supervisor.Process;
        var clock = Stopwatch.StartNew();
        Native.Signal(process.Id, Native.SIGTERM);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try { await process.WaitForExitAsync(timeout.Token); }
        catch (OperationCanceledException)
        {
            return new Lifecycle(null, null, 0, 0, null, $"still running 30 s after SIGTERM: {Tail(supervisor.Tail)}");
        }
        var stopped = clock.Elapsed.TotalMilliseconds;
        var alive = children.Where(Procs.Alive).Select(c => c.Pid).ToHashSet();
        if (instance is not null) alive.UnionWith(Procs.Tagged("LOCALPORT_INSTANCE", instance));
        var open = 0;
        foreach (var service in services)
            if (await Traffic.ConnectAsync(service.LocalPort, TimeSpan.FromSeconds(1)) == ConnectOutcome.Accepted) open++;
        return new Lifecycle(null, stopped, alive.Count, open, process.ExitCode, process.ExitCode == 0 ? null : $"exit code {process.ExitCode}");
    }

    // ---------------------------------------------------------------- 4. relay

    public async Task RelayAsync()
    {
        using var sink = new Upstream(Upstream.Mode.Sink);
        using var echo = new Upstream(Upstream.Mode.Echo);
        report.Notes.Add($"Relay: one stream sends {options.SingleStreamBytes >> 20} MiB, then {options.Streams} concurrent streams send " +
                         $"{options.MultiStreamBytes >> 20} MiB each, in 1 MiB writes, to a sink that confirms the byte count " +
                         "(time: connected → every count confirmed). RTT: 32-byte ping-pong on one connection per path, 200 warm-up + " +
                         $"{options.PingPongs} round trips per path and run, taken in {RttSlices} slices with the paths taking turns; " +
                         "median per run; added RTT = path − direct in the same run. " +
                         $"Paths: direct; LocalPort tcp technology (`localport run`, in-process relay: bulk streams spliced socket → pipe → socket on Linux, small exchanges through 128 KiB pooled buffers); {Setups.SocatSettings}; " +
                         "`ssh -N -L` to the loopback sshd (default cipher). Client, sink and echo run in the bench process; the order of paths rotates every run.");

        var lpSink = BenchPorts.Next();
        var lpEcho = BenchPorts.Next();
        var socatSink = BenchPorts.Next();
        var socatEcho = BenchPorts.Next();
        var sshSink = BenchPorts.Next();
        var sshEcho = BenchPorts.Next();
        using var lp = LocalPortRun.Start(options.Launcher, Setups.LocalPortYaml(
            [new Setups.Service("sink", "tcp", lpSink, sink.Port), new Setups.Service("echo", "tcp", lpEcho, echo.Port)], ssh, Setups.QuietCheck));
        var socats = new[] { Procs.Start("socat", Setups.Socat(socatSink, sink.Port)), Procs.Start("socat", Setups.Socat(socatEcho, echo.Port)) };
        var sshL = Procs.Start("ssh", Setups.SshForward(ssh, [(sshSink, sink.Port), (sshEcho, echo.Port)]));
        try
        {
            var paths = new List<(string Name, int Sink, int Echo)>
            {
                ("direct", sink.Port, echo.Port), ("LocalPort", lpSink, lpEcho), ("socat", socatSink, socatEcho), ("ssh -L", sshSink, sshEcho),
            };
            foreach (var path in paths)
            {
                if (!await Poll.UntilAsync(() => Client.EchoAsync(path.Echo, TimeSpan.FromSeconds(2)), TimeSpan.FromSeconds(30)))
                    report.Problems.Add($"relay: {path.Name} did not serve within 30 s{(path.Name == "LocalPort" ? ": " + Tail(lp.Tail) : "")}");
            }
            var single = paths.ToDictionary(p => p.Name, _ => new Samples("MiB/s"));
            var multi = paths.ToDictionary(p => p.Name, _ => new Samples("MiB/s"));
            var rtt = paths.ToDictionary(p => p.Name, _ => new Samples("µs", 1));
            var added = paths.ToDictionary(p => p.Name, _ => new Samples("µs", 1));
            var cpu = paths.ToDictionary(p => p.Name, _ => new Samples("ms CPU/GiB"));
            for (var run = 0; run < options.RelayRuns; run++)
            {
                var order = paths.Skip(run % paths.Count).Concat(paths.Take(run % paths.Count)).ToList();
                foreach (var path in order)
                {
                    await Measure(single[path.Name], async () =>
                        (options.SingleStreamBytes >> 20) / (await Client.BulkAsync(path.Sink, 1, options.SingleStreamBytes, TimeSpan.FromSeconds(60))).TotalSeconds);
                    // CPU per byte moved: what the relay itself spends, unlike wall throughput hardly moved by other load on a shared machine.
                    int[] relayPids = path.Name == "LocalPort" ? [lp.Process.Id] : path.Name == "socat" ? [socats[0].Id] : [];
                    var cpuBefore = TicksWithChildren(relayPids);
                    await Measure(multi[path.Name], async () =>
                        options.Streams * (options.MultiStreamBytes >> 20) / (await Client.BulkAsync(path.Sink, options.Streams, options.MultiStreamBytes, TimeSpan.FromSeconds(60))).TotalSeconds);
                    if (relayPids.Length > 0)
                    {
                        // socat's per-connection children count once it has reaped them.
                        await Poll.UntilAsync(() => Task.FromResult(Procs.Snapshot(relayPids[0]).Count == 0), TimeSpan.FromSeconds(2));
                        cpu[path.Name].Add((TicksWithChildren(relayPids) - cpuBefore) / ClockTicks * 1000 /
                                           (options.Streams * options.MultiStreamBytes / (double)(1L << 30)));
                    }
                }
                // RTT: the paths take turns in short slices, so a burst of load from elsewhere hits them all alike.
                var round = await RttRound(order);
                foreach (var path in paths)
                {
                    if (round.TryGetValue(path.Name, out var median)) rtt[path.Name].Add(median);
                    else rtt[path.Name].Fail("no RTT this round");
                    if (path.Name == "direct") continue;
                    if (round.TryGetValue(path.Name, out var value) && round.TryGetValue("direct", out var direct)) added[path.Name].Add(value - direct);
                    else added[path.Name].Fail("no RTT this round");
                }
                log($"  relay run {run + 1}/{options.RelayRuns}: " + string.Join("; ", paths.Select(p =>
                    $"{p.Name} {Latest(single[p.Name])}/{Latest(multi[p.Name])} MiB/s, {Latest(rtt[p.Name], "0.0")} µs")));
            }

            const string throughputLoss = "the relay splices bulk bytes in the kernel (no user-space copy; less CPU per byte than socat's " +
                                          "read/write), but runs every stream on .NET's two socket threads, while socat forks a process per " +
                                          "connection: on a busy shared CPU 16 runnable processes get a larger share than two threads";
            const string rttLoss = "each chunk goes through .NET's socket engine (epoll → the relay's continuation, run inline → send) " +
                                   "in a process that also runs the supervisor; socat runs a blocking read/write loop in a process of its own";
            report.Rows.Add(new Row("4", "relay throughput, 1 stream", single["LocalPort"], "socat -b 131072", single["socat"], Better.Higher, throughputLoss));
            report.Rows.Add(new Row("4", "relay throughput, 1 stream", single["LocalPort"], "ssh -L", single["ssh -L"], Better.Higher, throughputLoss));
            report.Rows.Add(new Row("4", "relay throughput, 1 stream", single["LocalPort"], "direct (reference)", single["direct"], Better.Higher,
                Reference: true));
            report.Rows.Add(new Row("4", $"relay throughput, {options.Streams} streams (aggregate)", multi["LocalPort"], "socat -b 131072", multi["socat"], Better.Higher, throughputLoss));
            report.Rows.Add(new Row("4", $"relay throughput, {options.Streams} streams (aggregate)", multi["LocalPort"], "ssh -L", multi["ssh -L"], Better.Higher, throughputLoss));
            report.Rows.Add(new Row("4", $"relay throughput, {options.Streams} streams (aggregate)", multi["LocalPort"], "direct (reference)", multi["direct"], Better.Higher,
                Reference: true));
            report.Rows.Add(new Row("4", $"relay CPU per GiB moved, {options.Streams} streams (utime+stime of the relay; socat with its children)", cpu["LocalPort"],
                "socat -b 131072", cpu["socat"], Better.Lower, "the relay's .NET socket engine and supervisor run in the same process"));
            report.Rows.Add(new Row("4", "added round-trip time over direct (32-byte ping-pong)", added["LocalPort"], "socat -b 131072", added["socat"], Better.Lower, rttLoss,
                Comment: $"(direct RTT itself: {rtt["direct"].Describe()})"));
            report.Rows.Add(new Row("4", "added round-trip time over direct (32-byte ping-pong)", added["LocalPort"], "ssh -L", added["ssh -L"], Better.Lower, rttLoss));
        }
        finally
        {
            foreach (var process in socats.Append(sshL))
            {
                Procs.KillTree(process);
                process.Dispose();
            }
        }
    }

    private const int RttSlices = 10;

    /// <summary>Median round trip per path over one round: RttSlices turns of PingPongs/RttSlices each, after a warm-up.</summary>
    private async Task<Dictionary<string, double>> RttRound(IReadOnlyList<(string Name, int Sink, int Echo)> paths)
    {
        var sockets = new Dictionary<string, System.Net.Sockets.Socket>();
        var samples = paths.ToDictionary(p => p.Name, _ => new List<double>());
        var result = new Dictionary<string, double>();
        try
        {
            foreach (var path in paths)
            {
                try
                {
                    sockets[path.Name] = await Client.ConnectAsync(path.Echo, TimeSpan.FromSeconds(10));
                    await Client.PingPongAsync(sockets[path.Name], 200, [], TimeSpan.FromSeconds(30));
                }
                catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or OperationCanceledException)
                {
                    report.Problems.Add($"relay RTT: {path.Name}: {e.Message}");
                    sockets.Remove(path.Name);
                }
            }
            for (var slice = 0; slice < RttSlices; slice++)
            {
                foreach (var path in paths.Where(p => sockets.ContainsKey(p.Name)))
                {
                    try { await Client.PingPongAsync(sockets[path.Name], options.PingPongs / RttSlices, samples[path.Name], TimeSpan.FromSeconds(30)); }
                    catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or OperationCanceledException)
                    {
                        report.Problems.Add($"relay RTT: {path.Name}: {e.Message}");
                        sockets.Remove(path.Name, out var broken);
                        broken?.Dispose();
                    }
                }
            }
            foreach (var (name, list) in samples)
            {
                if (!sockets.ContainsKey(name) || list.Count == 0) continue;
                list.Sort();
                result[name] = list[list.Count / 2];
            }
            return result;
        }
        finally
        {
            foreach (var socket in sockets.Values) socket.Dispose();
        }
    }

    private static string Latest(Samples samples, string format = "0") =>
        samples.Values.Count == 0 ? "–" : samples.Values[^1].ToString(format, CultureInfo.InvariantCulture);

    private static async Task Measure(Samples samples, Func<Task<double>> measure)
    {
        try { samples.Add(await measure()); }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or OperationCanceledException)
        {
            samples.Fail(e.Message);
        }
    }

    // ---------------------------------------------------------------- 5. idle memory and CPU

    public async Task IdleAsync()
    {
        using var echo = new Upstream(Upstream.Mode.Echo);
        report.Notes.Add($"Idle: `localport run` with 100 tcp services and tcp checks every 5 s, against a bash script running 100 socat " +
                         $"(no health checks at all); both measured over the same {options.IdleWindow.TotalSeconds:0} s window after " +
                         $"{options.IdleSettle.TotalSeconds:0} s of settling (the heap at its working size: several gen0 collections). RSS: VmRSS from /proc/PID/status sampled every second " +
                         "(the peer: summed over the script and every socat; PSS from /proc/PID/smaps_rollup splits shared pages fairly). " +
                         $"CPU: every thread's time on a CPU (/proc/PID/task/TID/schedstat, in ns; /proc/PID/stat's utime+stime, in 10 ms ticks, for a window where threads that ended took more than a tick with them), " +
                         $"as % of one core, over {IdleWindows} windows of {options.IdleWindow.TotalSeconds / IdleWindows:0} s. " +
                         "A third process, the same LocalPort build with its own 100 services whose checks run hourly (none in the window), " +
                         "idles in the same window as a diagnostic: the supervisor's cost without the checks.");
        var lpServices = Services(0, 100, echo);
        var peerServices = Services(0, 100, echo);
        var spinServices = Services(0, 100, echo);
        var lpRss = new Samples("MiB", 1);
        var peerRss = new Samples("MiB", 1);
        var lpPss = new Samples("MiB", 1);
        var peerPss = new Samples("MiB", 1);
        var lpCpu = new Samples("% of a core", 2);
        var peerCpu = new Samples("% of a core", 2);
        var spinRss = new Samples("MiB", 1);
        var spinCpu = new Samples("% of a core", 2);
        // One at a time: three supervisors starting together on two shared cores is a start-up test, not an idle one.
        using var lp = LocalPortRun.Start(options.Launcher, Setups.LocalPortYaml(lpServices, ssh, Setups.IdleCheck));
        var lpUp = lp.WaitAllRunning(lpServices.Select(s => s.Name), TimeSpan.FromSeconds(60))
                   && await Client.AllServeAsync(lpServices.Select(s => s.LocalPort).ToList(), TimeSpan.FromSeconds(30));
        if (!lpUp) report.Problems.Add($"idle: localport did not run all 100 services: {Tail(lp.Tail)}");
        // Diagnostic: the same build with no check in the window, to tell the supervisor's own cost from the checks'.
        using var spin = LocalPortRun.Start(options.Launcher, Setups.LocalPortYaml(spinServices, ssh, Setups.RareCheck));
        var spinUp = spin.WaitAllRunning(spinServices.Select(s => s.Name), TimeSpan.FromSeconds(60));
        if (!spinUp) report.Problems.Add($"idle: the diagnostic localport did not run all 100 services: {Tail(spin.Tail)}");
        using var peer = new PeerScript(peerServices.Select(s => Setups.Shell("socat", Setups.Socat(s.LocalPort, s.UpstreamPort))));
        var peerUp = await Client.AllServeAsync(peerServices.Select(s => s.LocalPort).ToList(), TimeSpan.FromSeconds(60));
        if (!peerUp) report.Problems.Add("idle: the socat script did not serve all 100 ports");
        if (lpUp || peerUp)
        {
            await Task.Delay(options.IdleSettle);
            var lpPids = () => new[] { lp.Process.Id };
            var peerPids = () => Native.Descendants(peer.Process.Id).Append(peer.Process.Id).ToArray();
            var window = options.IdleWindow / IdleWindows;
            var spinClock = new CpuClock(() => [spin.Process.Id]);
            var lpClock = new CpuClock(lpPids);
            var peerClock = new CpuClock(peerPids);
            for (var w = 0; w < IdleWindows; w++)
            {
                var clock = Stopwatch.StartNew();
                var next = TimeSpan.Zero;
                while (clock.Elapsed < window)
                {
                    if (lpUp) { lpRss.Add(Kb(lpPids(), "/status", "VmRSS:") / 1024.0); lpPss.Add(Kb(lpPids(), "/smaps_rollup", "Pss:") / 1024.0); }
                    if (peerUp) { peerRss.Add(Kb(peerPids(), "/status", "VmRSS:") / 1024.0); peerPss.Add(Kb(peerPids(), "/smaps_rollup", "Pss:") / 1024.0); }
                    if (spinUp) spinRss.Add(Kb([spin.Process.Id], "/status", "VmRSS:") / 1024.0);
                    next += TimeSpan.FromSeconds(1);
                    var wait = next - clock.Elapsed;
                    var rest = window - clock.Elapsed;
                    if (wait > rest) wait = rest;
                    if (wait > TimeSpan.Zero) await Task.Delay(wait);
                }
                var elapsed = clock.Elapsed.TotalSeconds;
                var lpNow = lpClock.Next();
                var peerNow = peerClock.Next();
                var spinNow = spinClock.Next();
                if (spinUp) spinCpu.Add(spinNow / elapsed * 100);
                if (lpUp) lpCpu.Add(lpNow / elapsed * 100);
                if (peerUp) peerCpu.Add(peerNow / elapsed * 100);
            }
            log($"  idle: LocalPort RSS {lpRss.Describe()}, CPU {lpCpu.Describe()}; socat×100 RSS {peerRss.Describe()}, CPU {peerCpu.Describe()}");
        }
        report.Rows.Add(new Row("5", "idle RSS, 100 tcp services, 5 s checks", lpRss, "bash + 100× socat (RSS summed)", peerRss, Better.Lower,
            "one native .NET program with its code, the GC heap, a web host and an actor system is one large process; each socat is a 2 MiB C process"));
        report.Rows.Add(new Row("5", "idle PSS (shared pages split), 100 tcp services", lpPss, "bash + 100× socat (PSS summed)", peerPss, Better.Lower,
            "one native .NET program with its code, the GC heap, a web host and an actor system; socat processes share their libraries"));
        report.Rows.Add(new Row("5", "idle CPU, 100 tcp services, 5 s checks", lpCpu, "bash + 100× socat", peerCpu, Better.Lower,
            "20 health checks a second (each the relay's dial to the upstream, watched for a hang-up) " +
            "cost nearly all of it, most of that in the kernel (a TCP connection set up and torn down per check); socat sleeps in accept() and checks nothing"));
        report.Rows.Add(new Row("5", "diagnostic: idle CPU, the same 100 services with no check due in the window", spinCpu,
            "bash + 100× socat", peerCpu, Better.Lower,
            "what is left is the web host's 1 s heartbeat and the runtime's own timers (the actor system's scheduler sleeps until something is due)",
            Comment: $"(its RSS: {spinRss.Describe()})"));
    }

    // ---------------------------------------------------------------- 6. memory over time (opt-in)

    public async Task LongRunAsync()
    {
        using var echo = new Upstream(Upstream.Mode.Echo);
        var window = options.LongRunWindow;
        var skip = options.LongRunSkip;
        report.Notes.Add($"Memory over time (figure 6, opt-in): `localport run` with 50 tcp services, a tcp check every 1 s on each " +
                         $"(timeout 1 s; no restart_policy, the defaults), against a bash script running 50 {Setups.SocatSettings} that the bench " +
                         "sends the same traffic: every second a connection to each port, held silent for 300 ms (a tcp check's watch) and closed. " +
                         $"Both forward to one in-process echo upstream and run side by side for {window.TotalMinutes:0.#} min; VmRSS every " +
                         $"{options.LongRunSample.TotalSeconds:0} s (the peer: summed over the script and its 50 listening socats; the forks that carry each connection come and go and are left out). " +
                         $"Slope: least squares over the samples after the first {skip.TotalMinutes:0.#} min, in MiB per minute. " +
                         "Run it with `./build.sh bench --only 6` (or `--only 1,2,3,4,5,6` for every figure).");
        var lpServices = Services(0, 50, echo);
        var peerServices = Services(0, 50, echo);
        using var lp = LocalPortRun.Start(options.Launcher, Setups.LocalPortYaml(lpServices, ssh, Setups.SecondCheck));
        var lpUp = lp.WaitAllRunning(lpServices.Select(s => s.Name), TimeSpan.FromSeconds(60))
                   && await Client.AllServeAsync(lpServices.Select(s => s.LocalPort).ToList(), TimeSpan.FromSeconds(30));
        if (!lpUp) report.Problems.Add($"memory over time: localport did not run all 50 services: {Tail(lp.Tail)}");
        using var peer = new PeerScript(peerServices.Select(s => Setups.Shell("socat", Setups.Socat(s.LocalPort, s.UpstreamPort))));
        var peerPorts = peerServices.Select(s => s.LocalPort).ToList();
        var peerUp = await Client.AllServeAsync(peerPorts, TimeSpan.FromSeconds(60));
        if (!peerUp) report.Problems.Add("memory over time: the socat script did not serve all 50 ports");

        var lpSeries = new List<(double Minutes, double MiB)>();
        var peerSeries = new List<(double Minutes, double MiB)>();
        int? lpFdsAfterSkip = null, lpFdsAtEnd = null;
        using (var stopTraffic = new CancellationTokenSource())
        {
            var traffic = peerUp ? CheckLikeTrafficAsync(peerPorts, stopTraffic.Token) : Task.CompletedTask;
            // The script and its 50 listening socats: the per-connection forks come and go and would only add noise.
            var peerPids = () => Native.Descendants(peer.Process.Id).Where(p => Parent(p) == peer.Process.Id).Append(peer.Process.Id).ToArray();
            var clock = Stopwatch.StartNew();
            var next = TimeSpan.Zero;
            var lastLog = TimeSpan.Zero;
            while (clock.Elapsed < window && (lpUp || peerUp))
            {
                var minutes = clock.Elapsed.TotalMinutes;
                if (lpUp && !lp.Process.HasExited)
                {
                    lpSeries.Add((minutes, Kb([lp.Process.Id], "/status", "VmRSS:") / 1024.0));
                    if (clock.Elapsed >= skip) lpFdsAfterSkip ??= OpenFiles(lp.Process.Id);
                    lpFdsAtEnd = OpenFiles(lp.Process.Id);
                }
                if (peerUp) peerSeries.Add((minutes, Kb(peerPids(), "/status", "VmRSS:") / 1024.0));
                if (clock.Elapsed - lastLog >= TimeSpan.FromMinutes(1))
                {
                    lastLog = clock.Elapsed;
                    log($"  memory over time, {minutes:0.0} min: LocalPort {Last(lpSeries)} MiB, socat×50 {Last(peerSeries)} MiB");
                }
                next += options.LongRunSample;
                var wait = next - clock.Elapsed;
                if (wait > TimeSpan.Zero) await Task.Delay(wait);
            }
            stopTraffic.Cancel();
            await traffic;
        }
        if (lpUp && lp.Process.HasExited) report.Problems.Add($"memory over time: localport exited during the run: {Tail(lp.Tail)}");
        var unhealthy = lpServices.Where(s => lp.Latest(s.Name) is not { IsRunning: true, Healthy: true }).Select(s => s.Name).ToList();
        if (lpUp && unhealthy.Count > 0)
            report.Problems.Add($"memory over time: {unhealthy.Count} of 50 LocalPort services were not running and healthy at the end ({string.Join(", ", unhealthy.Take(5))}…)");

        var lpSlope = new Samples("MiB/min", 2);
        var peerSlope = new Samples("MiB/min", 2);
        AddSlope(lpSlope, lpSeries, skip, "localport");
        AddSlope(peerSlope, peerSeries, skip, "socat script");
        log($"  memory over time: LocalPort {lpSlope.Describe()} ({Series(lpSeries)}), socat×50 {peerSlope.Describe()} ({Series(peerSeries)})");
        report.Rows.Add(new Row("6", $"memory over time: RSS slope after the first {skip.TotalMinutes:0.#} min, 50 tcp services with 1 s checks, " +
                                     $"{window.TotalMinutes:0.#} min", lpSlope, "bash + 50× socat, same connections (RSS of the script and the listeners summed)", peerSlope, Better.Lower,
            "LocalPort's RSS moves in steps of a few MiB as the GC commits heap regions while it sizes its generations (see the samples; " +
            "the managed heap itself stays at a few MiB and the open fds stay flat); socat's processes allocate nothing as they go",
            Comment: $"(LocalPort RSS {Series(lpSeries)}; open fds {lpFdsAfterSkip?.ToString() ?? "–"} after {skip.TotalMinutes:0.#} min, " +
                     $"{lpFdsAtEnd?.ToString() ?? "–"} at the end; socat×50 RSS {Series(peerSeries)})",
            EvenWithin: 0.5));
    }

    /// <summary>What a tcp check does, to every port each second: connect, watch 300 ms for a hang-up, close.</summary>
    private static async Task CheckLikeTrafficAsync(IReadOnlyList<int> ports, CancellationToken stop)
    {
        using var tick = new PeriodicTimer(TimeSpan.FromSeconds(1));
        try
        {
            do
            {
                await Task.WhenAll(ports.Select(port => Task.Run(async () =>
                {
                    try
                    {
                        using var socket = await Client.ConnectAsync(port, TimeSpan.FromSeconds(1));
                        using var watch = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
                        await socket.ReceiveAsync(new byte[1], System.Net.Sockets.SocketFlags.None, watch.Token);
                    }
                    catch (Exception e) when (e is System.Net.Sockets.SocketException or OperationCanceledException or ObjectDisposedException) { }
                })));
            }
            while (await tick.WaitForNextTickAsync(stop));
        }
        catch (OperationCanceledException) { }
    }

    private static void AddSlope(Samples samples, List<(double Minutes, double MiB)> series, TimeSpan skip, string who)
    {
        var points = series.Where(p => p.Minutes >= skip.TotalMinutes).ToList();
        if (points.Count < 3) { samples.Fail($"{who}: {points.Count} RSS samples after the first {skip.TotalMinutes:0.#} min"); return; }
        // Least squares: the trend, not the last sample's luck.
        var mx = points.Average(p => p.Minutes);
        var my = points.Average(p => p.MiB);
        var sxx = points.Sum(p => (p.Minutes - mx) * (p.Minutes - mx));
        samples.Add(sxx == 0 ? 0 : points.Sum(p => (p.Minutes - mx) * (p.MiB - my)) / sxx);
    }

    private static string Last(List<(double Minutes, double MiB)> series) => series.Count == 0 ? "–" : series[^1].MiB.ToString("0.0", CultureInfo.InvariantCulture);

    /// <summary>"108.4 → 115.2 → 116.0 MiB (start, 1 min, …, end)": one reading per minute.</summary>
    private static string Series(List<(double Minutes, double MiB)> series)
    {
        if (series.Count == 0) return "no samples";
        var perMinute = series.GroupBy(p => (int)Math.Floor(p.Minutes)).Select(g => g.First().MiB).Append(series[^1].MiB);
        return string.Join(" → ", perMinute.Select(v => v.ToString("0.0", CultureInfo.InvariantCulture))) + " MiB, one a minute and the last";
    }

    private static int? Parent(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[1], CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or FormatException or IndexOutOfRangeException) { return null; }
    }

    private static int? OpenFiles(int pid)
    {
        try { return Directory.GetFileSystemEntries($"/proc/{pid}/fd").Length; }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
    }

    private const int IdleWindows = 4;
    private static readonly double ClockTicks = SysConf(2) is var t and > 0 ? t : 100; // sysconf(_SC_CLK_TCK)

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "sysconf")]
    private static extern long SysConf(int name);

    /// <summary>utime+stime plus the reaped children's cutime+cstime, in clock ticks.</summary>
    private static double TicksWithChildren(IEnumerable<int> pids)
    {
        double total = 0;
        foreach (var pid in pids)
        {
            try
            {
                var stat = File.ReadAllText($"/proc/{pid}/stat");
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                for (var i = 11; i <= 14; i++) total += double.Parse(fields[i], CultureInfo.InvariantCulture);
            }
            catch (Exception e) when (e is IOException or FormatException or IndexOutOfRangeException) { }
        }
        return total;
    }

    /// <summary>
    /// CPU time used by a set of processes between readings, in seconds, to the nanosecond: each thread's time on a CPU
    /// (/proc/PID/task/TID/schedstat) since the last reading, summed (a new thread counts from its start). /proc/PID/stat
    /// counts in clock ticks (10 ms: 0.07 % of a core over a 15 s window, coarser than the idle figure it decides). A
    /// thread that ends takes its last moments with it (a thread-pool worker retires after 20 s with nothing to do, so
    /// they are idle ones), and the ticks, which keep every thread's time, tell if that was more: when the nanosecond
    /// reading falls more than a tick short of them, the window is read in ticks instead.
    /// </summary>
    private sealed class CpuClock(Func<int[]> pids)
    {
        private Dictionary<int, long> _threads = Threads(pids());
        private double _ticks = Ticks(pids());

        public double Next()
        {
            var ids = pids();
            var threads = Threads(ids);
            var ticks = Ticks(ids);
            var nanos = threads.Sum(t => t.Value - _threads.GetValueOrDefault(t.Key));
            var coarse = (ticks - _ticks) / ClockTicks;
            (_threads, _ticks) = (threads, ticks);
            return nanos / 1e9 >= coarse - 1 / ClockTicks ? nanos / 1e9 : coarse;
        }

        /// <summary>Each live thread's time on a CPU so far, in ns.</summary>
        private static Dictionary<int, long> Threads(int[] pids)
        {
            var threads = new Dictionary<int, long>();
            foreach (var pid in pids)
            {
                try
                {
                    foreach (var task in Directory.EnumerateDirectories($"/proc/{pid}/task"))
                    {
                        try
                        {
                            var onCpu = long.Parse(File.ReadAllText(Path.Combine(task, "schedstat")).Split(' ')[0], CultureInfo.InvariantCulture);
                            threads[int.Parse(Path.GetFileName(task), CultureInfo.InvariantCulture)] = onCpu;
                        }
                        catch (Exception e) when (e is IOException or FormatException) { }
                    }
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
            }
            return threads;
        }
    }

    private static double Ticks(IEnumerable<int> pids)
    {
        double total = 0;
        foreach (var pid in pids)
        {
            try
            {
                var stat = File.ReadAllText($"/proc/{pid}/stat");
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                total += double.Parse(fields[11], CultureInfo.InvariantCulture) + double.Parse(fields[12], CultureInfo.InvariantCulture);
            }
            catch (Exception e) when (e is IOException or FormatException or IndexOutOfRangeException) { }
        }
        return total;
    }

    private static double Kb(IEnumerable<int> pids, string file, string key)
    {
        double total = 0;
        foreach (var pid in pids)
        {
            try
            {
                var line = File.ReadLines($"/proc/{pid}{file}").FirstOrDefault(l => l.StartsWith(key, StringComparison.Ordinal));
                if (line is not null) total += double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException) { }
        }
        return total;
    }
}
