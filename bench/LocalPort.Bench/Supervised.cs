using System.Diagnostics;
using LocalPort.IntegrationTests.Fixtures;

namespace LocalPort.Bench;

/// <summary>A supervisor under test: `localport run` or a peer (a shell script running autossh/socat).</summary>
public interface ISupervised : IDisposable
{
    Process Process { get; }
    int Pid => Process.Id;
    /// <summary>The last lines it wrote, for failure messages.</summary>
    string Tail { get; }
}

/// <summary>`localport run -o json` via the repo's launcher, with a private LOCALPORT_HOME and HOME.</summary>
public sealed class LocalPortRun : ISupervised
{
    private readonly object _gate = new();
    private readonly Dictionary<string, StatusLine> _latest = new(StringComparer.Ordinal);
    private readonly Queue<string> _tail = new();
    private readonly TempDirectory _home;

    public Process Process { get; }
    public string Home => _home.Path;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    /// <summary>Time from launch to the first status line: the runtime, the actor system and the services' actors are up.</summary>
    public TimeSpan? FirstStatus { get; private set; }

    private LocalPortRun(string launcher, string yaml, IReadOnlyDictionary<string, string?>? extra, bool ownSession)
    {
        _home = new TempDirectory("lp-bench-home");
        var config = _home.Write("localport.yaml", yaml);
        var environment = new Dictionary<string, string?>
        {
            ["LOCALPORT_HOME"] = Path.Combine(_home.Path, "state"),
            ["HOME"] = _home.Path,
            ["LOCALPORT_CONFIG"] = null, ["XDG_STATE_HOME"] = null, ["XDG_RUNTIME_DIR"] = null,
            ["XDG_CONFIG_HOME"] = null, ["NO_COLOR"] = null, ["LOCALPORT_DEBUG"] = null,
        };
        foreach (var (key, value) in extra ?? new Dictionary<string, string?>()) environment[key] = value;
        string[] arguments = ["run", "-c", config, "-o", "json"];
        Process = Procs.Start(ownSession ? OwnSession.Program : launcher, ownSession ? [launcher, .. arguments] : arguments, new Procs.Options
        {
            Environment = environment,
            WorkingDirectory = _home.Path,
            Stdout = OnStdout,
            Stderr = line => Remember("stderr: " + line),
        });
    }

    /// <param name="ownSession">In a session of its own (see <see cref="OwnSession"/>).</param>
    public static LocalPortRun Start(string launcher, string yaml, IReadOnlyDictionary<string, string?>? environment = null, bool ownSession = false) =>
        new(launcher, yaml, environment, ownSession);

    private void OnStdout(string line)
    {
        var status = StatusLine.TryParseJson(line);
        lock (_gate)
        {
            if (status is not null)
            {
                _latest[status.Name] = status;
                FirstStatus ??= _clock.Elapsed;
            }
            else Remember("stdout: " + line);
            Monitor.PulseAll(_gate);
        }
    }

    private void Remember(string line)
    {
        lock (_gate)
        {
            _tail.Enqueue(line);
            while (_tail.Count > 40) _tail.Dequeue();
        }
    }

    public string Tail { get { lock (_gate) return string.Join('\n', _tail); } }

    public StatusLine? Latest(string name) { lock (_gate) return _latest.GetValueOrDefault(name); }

    /// <summary>Waits (event-driven) until the latest statuses satisfy <paramref name="condition"/>.</summary>
    public bool WaitUntil(Func<IReadOnlyDictionary<string, StatusLine>, bool> condition, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        lock (_gate)
        {
            while (true)
            {
                if (condition(_latest)) return true;
                var left = timeout - clock.Elapsed;
                if (left <= TimeSpan.Zero || Process.HasExited) return condition(_latest);
                Monitor.Wait(_gate, left < TimeSpan.FromMilliseconds(200) ? left : TimeSpan.FromMilliseconds(200));
            }
        }
    }

    public bool WaitAllRunning(IEnumerable<string> names, TimeSpan timeout)
    {
        var wanted = names.ToList();
        return WaitUntil(latest => wanted.All(n => latest.TryGetValue(n, out var s) && s.IsRunning), timeout);
    }

    public void Dispose()
    {
        Procs.KillTree(Process);
        Process.Dispose();
        _home.Dispose();
    }
}

/// <summary>A peer: a bash script that starts the peer tools in the background and stops them on SIGTERM.</summary>
public sealed class PeerScript : ISupervised
{
    private readonly Queue<string> _tail = new();
    private readonly TempDirectory _directory = new("lp-bench-peer");

    public Process Process { get; }
    public string Tail { get { lock (_tail) return string.Join('\n', _tail); } }

    /// <param name="lines">One background command per line (without the trailing &amp;).</param>
    public PeerScript(IEnumerable<string> lines, IReadOnlyDictionary<string, string?>? environment = null, bool ownSession = false)
    {
        var script = _directory.Write("peer.sh",
            "#!/usr/bin/env bash\n" +
            "# The do-it-yourself supervisor: every forward in the background, all of them stopped on SIGTERM/SIGINT.\n" +
            "trap 'kill $(jobs -p) 2>/dev/null; wait; exit 0' TERM INT\n" +
            string.Concat(lines.Select(l => l + " &\n")) +
            "wait\n");
        Process = Procs.Start(ownSession ? OwnSession.Program : "bash", ownSession ? ["bash", script] : [script], new Procs.Options
        {
            Environment = environment ?? new Dictionary<string, string?>(),
            Stdout = Remember,
            Stderr = Remember,
        });
    }

    private void Remember(string line)
    {
        lock (_tail)
        {
            _tail.Enqueue(line);
            while (_tail.Count > 40) _tail.Dequeue();
        }
    }

    public void Dispose()
    {
        Procs.KillTree(Process);
        Process.Dispose();
        _directory.Dispose();
    }
}

/// <summary>
/// `setsid PROGRAM …`: the process (same pid: setsid execs, as a child is no group leader) leads a session of its own,
/// so with the kernel's autogroup scheduling it gets a CPU share as one group, like the bench itself, however many
/// threads or forks it runs.
/// </summary>
public static class OwnSession
{
    public const string Program = "/usr/bin/setsid";
}
