using System.Diagnostics;
using System.Runtime.InteropServices;
using LocalPort.Bench;
using LocalPort.IntegrationTests.Fixtures;

// LocalPort's figures against its peers, on loopback: see bench/README.md. Run through bench/run.sh.
// Usage: LocalPort.Bench --launcher PATH [--out FILE] [--quick] [--only 1,2,3,4,5,6,7,8] [--commit TEXT]
// Figure 6 (memory over time, 10 minutes) runs only when --only names it.

var total = Stopwatch.StartNew();
string? launcher = null;
string? output = null;
var quick = false;
var only = new HashSet<int>([1, 2, 3, 4, 5, 7, 8]);
var commit = "";
for (var i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--launcher": launcher = args[++i]; break;
        case "--out": output = args[++i]; break;
        case "--quick": quick = true; break;
        case "--only": only = args[++i].Split(',').Select(int.Parse).ToHashSet(); break;
        case "--commit": commit = args[++i]; break;
        default:
            Console.Error.WriteLine($"unknown argument {args[i]}; usage: --launcher PATH [--out FILE] [--quick] [--only 1,2,3,4,5,6,7,8] [--commit TEXT]");
            return 2;
    }
}
if (launcher is null || !File.Exists(launcher))
{
    Console.Error.WriteLine($"error: the localport launcher is missing ({launcher ?? "--launcher not given"}); run ./build.sh build first");
    return 2;
}
launcher = Path.GetFullPath(launcher);
// Figure 6 alone keeps its own file, so the full table in latest.md survives a long memory run.
output ??= only.SetEquals([6]) ? "bench/results/memory-over-time.md" : "bench/results/latest.md";

var options = new BenchOptions { Launcher = launcher, Figures = only };
if (quick)
{
    options = options with
    {
        RecoveryRuns = 3, HungRuns = 2, HungPeerGiveUp = 1, HungWindow = TimeSpan.FromSeconds(5), ShutdownSizes = [10, 50], ShutdownRuns = 1,
        StartupRuns = 2, RelayRuns = 2, SingleStreamBytes = 64L << 20, MultiStreamBytes = 8L << 20, PingPongs = 500,
        IdleWindow = TimeSpan.FromSeconds(8), IdleSettle = TimeSpan.FromSeconds(2),
        LongRunWindow = TimeSpan.FromMinutes(2),
        HighLoadWindow = TimeSpan.FromSeconds(10), HighLoadFlatFrom = TimeSpan.FromSeconds(3), HighLoadCalibration = TimeSpan.FromSeconds(2),
    };
}

var ssh = new SshServer();
// Whatever ends the bench (Ctrl-C, SIGTERM, an exception), nothing it started may outlive it.
using var onInt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Abort);
using var onTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Abort);

var machine = new Machine { Commit = commit };
var report = new Report();
void Log(string line) => Console.Error.WriteLine($"[{total.Elapsed.TotalSeconds,5:0}s] {line}");
try
{
    Log($"machine: {Environment.ProcessorCount} cores; load {machine.LoadAtStart}; launcher {launcher}");
    await ssh.InitializeAsync();
    Log($"loopback sshd on 127.0.0.1:{ssh.Port}");
    var figures = new Figures(options, ssh, report, Log);
    var steps = new (int Figure, string Title, Func<Task> Run)[]
    {
        (1, "1. recovery after kill -9 and SIGSTOP of an ssh tunnel (LocalPort vs autossh)", figures.RecoveryAsync),
        (2, "2+3. shutdown and start-up (LocalPort vs a bash script of autossh/socat)", figures.ShutdownAndStartupAsync),
        (4, "4. relay throughput and added RTT (LocalPort tcp vs socat, ssh -L, direct)", figures.RelayAsync),
        (5, "5. idle memory and CPU with 100 services (LocalPort vs 100 socat)", figures.IdleAsync),
        (7, $"7. shared ssh connections: start-up, ssh processes and failover (shared, standby, per-service ssh, autossh)", new SharedSshFigures(options, ssh, report, Log).RunAsync),
        (8, $"8. high load: {options.HighLoadHeld} held + {options.HighLoadRate}/s new connections over 50 tcp services for {options.HighLoadWindow.TotalSeconds:0} s (LocalPort vs 50 socat)",
            new HighLoadFigure(options, report, Log).RunAsync),
        (6, $"6. memory over time: 50 services with 1 s checks for {options.LongRunWindow.TotalMinutes:0.#} min (LocalPort vs 50 socat)", figures.LongRunAsync),
    };
    foreach (var (figure, title, run) in steps)
    {
        if (!(only.Contains(figure) || figure == 2 && only.Contains(3))) continue;
        var clock = Stopwatch.StartNew();
        Log(title);
        try { await run(); }
        catch (Exception e)
        {
            report.Problems.Add($"figure {figure} aborted: {e.GetType().Name}: {e.Message}");
            Log($"  ABORTED: {e}");
        }
        finally
        {
            Procs.KillAll();
        }
        Log($"  done in {clock.Elapsed.TotalSeconds:0} s");
    }
}
finally
{
    Procs.KillAll();
    await ssh.DisposeAsync();
}

machine.LoadAtEnd = Machine.LoadAverage();
var command = "./build.sh bench" + (quick ? " --quick" : "") + (!only.SetEquals([1, 2, 3, 4, 5, 7, 8]) ? $" --only {string.Join(',', only.Order())}" : "");
var markdown = report.Markdown(machine, total.Elapsed, command);
Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(output))!);
File.WriteAllText(output, markdown);
Console.WriteLine(markdown);
Log($"written to {output}; total {total.Elapsed.TotalSeconds:0} s");
return 0;

void Abort(PosixSignalContext context)
{
    Console.Error.WriteLine($"{context.Signal}: killing everything the bench started");
    Procs.KillAll();
    ssh.DisposeAsync().GetAwaiter().GetResult();
    Environment.Exit(130);
}
