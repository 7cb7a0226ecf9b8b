using System.Diagnostics;
using System.Text;

namespace LocalPort.IntegrationTests.Fixtures;

/// <summary>
/// The real `localport` CLI (built next to this assembly through the project reference) as a child
/// process: private LOCALPORT_HOME and HOME, stdout and stderr collected line by line, signals by pid.
/// Dispose kills it and everything it started if it is still running.
/// </summary>
public sealed class LocalPortProcess : IDisposable
{
    private readonly Process _process;
    private readonly List<string> _stdout = [];
    private readonly List<string> _stderr = [];
    private readonly object _gate = new();
    private readonly TaskCompletionSource _outputClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _errorClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Stopwatch _clock = Stopwatch.StartNew();

    public int Pid { get; }
    public IReadOnlyList<string> Arguments { get; }

    private LocalPortProcess(ProcessStartInfo info)
    {
        Arguments = info.ArgumentList.ToList();
        WithDefaultSignals(info);
        _process = new Process { StartInfo = info, EnableRaisingEvents = true };
        _process.OutputDataReceived += (_, e) => Add(_stdout, e.Data, _outputClosed);
        _process.ErrorDataReceived += (_, e) => Add(_stderr, e.Data, _errorClosed);
        _process.Start();
        Pid = _process.Id;
        _process.StandardInput.Close();
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    /// <summary>Starts `localport ARGS` with LOCALPORT_HOME=<paramref name="home"/>/state and HOME=<paramref name="home"/>.</summary>
    public static LocalPortProcess Start(string home, string workingDirectory, params string[] arguments) =>
        Start(home, workingDirectory, null, arguments);

    /// <param name="environment">Overrides on top of the isolated defaults; a null value removes the variable.</param>
    public static LocalPortProcess Start(string home, string workingDirectory, IReadOnlyDictionary<string, string?>? environment, params string[] arguments) =>
        new(StartInfo(home, workingDirectory, environment, arguments));

    /// <summary>
    /// Starts it the way a shell starts a foreground job: leading a process group (and session) of its own, through
    /// util-linux setsid(1), which execs in place, so <see cref="Pid"/> is localport's pid and its process group.
    /// Signalling that group (<see cref="Native.SignalGroup"/>) is then what Ctrl-C does, and never reaches the test.
    /// </summary>
    public static LocalPortProcess StartAsProcessGroupLeader(string home, string workingDirectory, params string[] arguments)
    {
        var info = StartInfo(home, workingDirectory, null, arguments);
        RunThrough(info, "/usr/bin/setsid");
        return new LocalPortProcess(info);
    }

    /// <summary>
    /// Starts it under the given umask, as a shell with that umask would: /bin/sh sets it and execs localport in place,
    /// so <see cref="Pid"/> is localport's pid.
    /// </summary>
    public static LocalPortProcess StartUnderUmask(string umask, string home, string workingDirectory, params string[] arguments) =>
        StartAfter($"umask {umask}", home, workingDirectory, arguments);

    /// <summary>Starts it as a shell would after <paramref name="prelude"/> (e.g. `ulimit -n 256`): /bin/sh runs it, then execs localport in place.</summary>
    public static LocalPortProcess StartAfter(string prelude, string home, string workingDirectory, params string[] arguments)
    {
        var info = StartInfo(home, workingDirectory, null, arguments);
        RunThrough(info, "/bin/sh", "-c", $"{prelude}; exec \"$0\" \"$@\"");
        return new LocalPortProcess(info);
    }

    /// <summary>
    /// Starts it as <see cref="OtherUser"/> (through setpriv, which execs in place, so <see cref="Pid"/> is localport's), from
    /// "/", since the test's working directory is private. The CLI's own directory must be readable by that user.
    /// </summary>
    public static LocalPortProcess StartAsOtherUser(string home, IReadOnlyDictionary<string, string?>? environment, params string[] arguments)
    {
        var info = StartInfo(home, "/", environment, arguments);
        RunThrough(info, OtherUser.Prefix);
        return new LocalPortProcess(info);
    }

    /// <summary>
    /// Runs it through coreutils env(1), which execs in place (so <see cref="Pid"/> stays localport's), with SIGHUP,
    /// SIGINT, SIGQUIT and SIGTERM at their default disposition, as a terminal's foreground job has them. A test run
    /// started in the background or under nohup inherits them ignored, and an ignored SIGINT or SIGHUP is kept ignored
    /// across exec: the tests of what those signals do would then fail for a reason that is the runner's, not ours.
    /// </summary>
    private static void WithDefaultSignals(ProcessStartInfo info) =>
        RunThrough(info, "/usr/bin/env", "--default-signal=HUP,INT,QUIT,TERM", "--");

    /// <summary>Makes <paramref name="info"/> run `COMMAND... PROGRAM ARGS`: a wrapper (given by absolute path) that ends by exec'ing the program.</summary>
    private static void RunThrough(ProcessStartInfo info, params string[] command)
    {
        info.ArgumentList.Insert(0, info.FileName);
        for (var i = command.Length - 1; i >= 1; i--) info.ArgumentList.Insert(0, command[i]);
        info.FileName = command[0];
    }

    private static ProcessStartInfo StartInfo(string home, string workingDirectory, IReadOnlyDictionary<string, string?>? environment, string[] arguments)
    {
        var (fileName, prefix) = Executable();
        var info = new ProcessStartInfo(fileName)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            WorkingDirectory = workingDirectory,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        foreach (var argument in prefix.Concat(arguments)) info.ArgumentList.Add(argument);
        info.Environment["LOCALPORT_HOME"] = Path.Combine(home, "state");
        info.Environment["HOME"] = home;
        // Nothing from the developer's environment may choose another file or directory.
        // Nor may a service manager the tests run under (NOTIFY_SOCKET) hear from them; tests that want one pass their own.
        foreach (var variable in new[] { "LOCALPORT_CONFIG", "LOCALPORT_CONFIG_FILE", "LOCALPORT_RUNTIME_DIR", "LOCALPORT_LOG_LEVEL", "LOCALPORT_NO_COLOR",
                     "XDG_STATE_HOME", "XDG_RUNTIME_DIR", "XDG_CONFIG_HOME", "NO_COLOR", "LOCALPORT_DEBUG", "NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID" })
            info.Environment.Remove(variable);
        foreach (var (key, value) in environment ?? new Dictionary<string, string?>())
        {
            if (value is null) info.Environment.Remove(key);
            else info.Environment[key] = value;
        }
        return info;
    }

    /// <summary>Runs a short command to completion (config …, bad usage), bounded.</summary>
    public static Run.Result Invoke(string home, string workingDirectory, params string[] arguments) =>
        Invoke(home, workingDirectory, null, arguments);

    public static Run.Result Invoke(string home, string workingDirectory, IReadOnlyDictionary<string, string?>? environment, params string[] arguments) =>
        Invoke(home, workingDirectory, environment, TimeSpan.FromSeconds(30), arguments);

    /// <param name="bound">How long the command may run (30 s unless it is long by design, like a soak).</param>
    public static Run.Result Invoke(string home, string workingDirectory, IReadOnlyDictionary<string, string?>? environment, TimeSpan bound,
        params string[] arguments)
    {
        using var process = Start(home, workingDirectory, environment, arguments);
        var code = process.WaitForExit(bound);
        return new Run.Result(code, string.Join('\n', process.Stdout), string.Join('\n', process.Stderr));
    }

    /// <summary>
    /// Runs `localport ARGS` on a terminal, as a user at a shell would: util-linux script(1) gives it a pseudo-terminal
    /// (so tables and colours are what a person sees), 200 columns wide so nothing wraps.
    /// </summary>
    public static Run.Result InvokeOnTerminal(string home, string workingDirectory, params string[] arguments)
    {
        var info = StartInfo(home, workingDirectory, new Dictionary<string, string?> { ["TERM"] = "xterm" }, arguments);
        var command = string.Join(' ', new[] { info.FileName }.Concat(info.ArgumentList).Select(a => "'" + a.Replace("'", "'\\''") + "'"));
        info.ArgumentList.Clear();
        foreach (var argument in new[] { "-qec", $"stty cols 200 rows 50; exec {command}", "/dev/null" }) info.ArgumentList.Add(argument);
        info.FileName = "/usr/bin/script";
        using var process = new LocalPortProcess(info);
        var code = process.WaitForExit(TimeSpan.FromSeconds(30));
        return new Run.Result(code, string.Join('\n', process.Stdout), string.Join('\n', process.Stderr));
    }

    /// <summary>
    /// The localport the tests drive: LOCALPORT_TEST_CLI (an absolute path; `./build.sh test` sets it to the native
    /// program the launcher runs), else the apphost `localport` next to this assembly, else `dotnet localport.dll`.
    /// </summary>
    public static (string FileName, string[] Prefix) Executable()
    {
        if (Environment.GetEnvironmentVariable("LOCALPORT_TEST_CLI") is { Length: > 0 } shipped)
        {
            if (!Path.IsPathFullyQualified(shipped) || !File.Exists(shipped))
                throw new FileNotFoundException($"LOCALPORT_TEST_CLI={shipped} is not an absolute path to a program", shipped);
            return (shipped, []);
        }
        var directory = AppContext.BaseDirectory;
        var apphost = Path.Combine(directory, "localport");
        if (File.Exists(apphost)) return (apphost, []);
        var dll = Path.Combine(directory, "localport.dll");
        if (!File.Exists(dll)) throw new FileNotFoundException("localport.dll is not next to the test assembly; is the CLI project referenced?", dll);
        return ("dotnet", [dll]);
    }

    private void Add(List<string> lines, string? line, TaskCompletionSource closed)
    {
        if (line is null)
        {
            closed.TrySetResult();
            lock (_gate) Monitor.PulseAll(_gate);
            return;
        }
        lock (_gate)
        {
            lines.Add(line);
            Monitor.PulseAll(_gate);
        }
    }

    public IReadOnlyList<string> Stdout { get { lock (_gate) return _stdout.ToList(); } }
    public IReadOnlyList<string> Stderr { get { lock (_gate) return _stderr.ToList(); } }
    public bool HasExited => _process.HasExited;
    /// <summary>Time since start, for messages.</summary>
    public TimeSpan Uptime => _clock.Elapsed;

    /// <summary>`run` ends with a line on stderr starting "stopped" ("stopped." or "stopped in N ms; …").</summary>
    public bool SaidStopped => Stderr.Any(l => l.StartsWith("stopped", StringComparison.Ordinal));

    /// <summary>Status lines printed so far (stdout lines that parse as one).</summary>
    public IReadOnlyList<StatusLine> Statuses => Stdout.Select(StatusLine.TryParse).OfType<StatusLine>().ToList();

    /// <summary>Number of stdout lines so far: pass it as <c>from</c> to wait only for what comes next.</summary>
    public int StdoutCount { get { lock (_gate) return _stdout.Count; } }

    /// <summary>Waits (event-driven) for a stdout line at index ≥ <paramref name="from"/> that satisfies the predicate.</summary>
    public string WaitForLine(Func<string, bool> predicate, TimeSpan timeout, int from = 0) =>
        TryWaitForLine(predicate, timeout, from) ?? throw new Xunit.Sdk.XunitException(
            (_outputClosed.Task.IsCompleted ? "localport closed its stdout before printing a matching line" : $"no matching line within {timeout.TotalSeconds:0.#}s") +
            $". {Describe()}");

    public string? TryWaitForLine(Func<string, bool> predicate, TimeSpan timeout, int from = 0)
    {
        var deadline = Stopwatch.StartNew();
        lock (_gate)
        {
            var next = from;
            while (true)
            {
                for (; next < _stdout.Count; next++)
                    if (predicate(_stdout[next])) return _stdout[next];
                var left = timeout - deadline.Elapsed;
                if (left <= TimeSpan.Zero || _outputClosed.Task.IsCompleted) return null;
                Monitor.Wait(_gate, left);
            }
        }
    }

    /// <summary>Waits for a status line (index ≥ <paramref name="from"/>) for which the predicate holds.</summary>
    public StatusLine WaitForStatus(Func<StatusLine, bool> predicate, TimeSpan timeout, int from = 0)
    {
        var line = WaitForLine(l => StatusLine.TryParse(l) is { } s && predicate(s), timeout, from);
        return StatusLine.TryParse(line)!;
    }

    /// <summary>The latest status line of a service, or null.</summary>
    public StatusLine? Latest(string name) => Statuses.LastOrDefault(s => s.Name == name);

    public bool SendSignal(int signal) => Native.Signal(Pid, signal);

    /// <summary>The exit code; fails the test if the process is still running after <paramref name="timeout"/>.</summary>
    public int WaitForExit(TimeSpan timeout)
    {
        if (!_process.WaitForExit(timeout))
            throw new Xunit.Sdk.XunitException($"localport did not exit within {timeout.TotalSeconds:0.#}s. {Describe()}");
        _process.WaitForExit(); // drains the redirected output
        Task.WaitAll([_outputClosed.Task, _errorClosed.Task], TimeSpan.FromSeconds(5));
        return _process.ExitCode;
    }

    /// <summary>Everything it printed, for assertion messages.</summary>
    public string Describe() =>
        $"localport {string.Join(' ', Arguments)} (pid {Pid}, {(HasExited ? "exited" : "running")}, up {Uptime.TotalSeconds:0.0}s)\n" +
        $"--- stdout ---\n{string.Join('\n', Stdout)}\n--- stderr ---\n{string.Join('\n', Stderr)}";

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                // Everything it started goes too (ssh, kubectl, stand-ins).
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(5000);
            }
        }
        catch (InvalidOperationException) { }
        _process.Dispose();
    }
}
