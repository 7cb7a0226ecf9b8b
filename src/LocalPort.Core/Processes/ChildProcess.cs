using System.Collections.Concurrent;
using System.Diagnostics;

namespace LocalPort.Core.Processes;

/// <summary>What to run: an argument list (never a shell), extra environment, and where its output goes.</summary>
public sealed record ProcessSpec(string FileName, IReadOnlyList<string> Arguments)
{
    public IReadOnlyDictionary<string, string> Environment { get; init; } = new Dictionary<string, string>();
    /// <summary>Output of the child is appended here (with a header per start); null discards it.</summary>
    public string? LogPath { get; init; }
    /// <summary>Called for every stdout/stderr line, on a thread-pool thread.</summary>
    public Action<string>? OnLine { get; init; }
    /// <summary>Where the child is accounted for until it has exited.</summary>
    public ResourceLedger? Ledger { get; init; }
}

/// <summary>
/// A child process we started, in a session of its own (see <see cref="OwnSession"/>): pid + start time identify
/// it for life, its exit is a Task, and it stays in the resource ledger until it has exited, so nothing we started
/// can outlive us.
/// </summary>
public sealed class ChildProcess : IDisposable
{
    /// <summary>Tags every child so a later run can recognise its own orphans (never by command line).</summary>
    public const string InstanceVariable = "LOCALPORT_INSTANCE";
    public static string InstanceId { get; } = Guid.NewGuid().ToString("N");

    private readonly Process _process;
    private readonly ResourceLedger? _ledger;
    private readonly TaskCompletionSource<int> _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ServiceLog.Writer? _log;
    private readonly ConcurrentQueue<string> _tail = new();
    private int _exitSeen;

    public int Pid { get; }
    public long? StartTicks { get; }
    public Task<int> Exited => _exited.Task;
    public string Description { get; }

    private ChildProcess(Process process, ServiceLog.Writer? log, string description, ResourceLedger? ledger)
    {
        _process = process;
        _ledger = ledger;
        _log = log;
        Description = description;
        Pid = process.Id;
        StartTicks = Posix.StartTicks(Pid);
    }

    /// <summary>The .NET switch that runs socket continuations on the epoll thread.</summary>
    public const string InlineSocketCompletions = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";

    /// <summary>The .NET switch for the number of epoll threads.</summary>
    public const string SocketThreadCount = "DOTNET_SYSTEM_NET_SOCKETS_THREAD_COUNT";

    public static ChildProcess Start(ProcessSpec spec)
    {
        var info = new ProcessStartInfo(spec.FileName)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            CreateNoWindow = true,
        };
        foreach (var arg in spec.Arguments) info.ArgumentList.Add(arg);
        // Our own socket tuning (see the CLI's Program.cs) is not a child's business.
        info.Environment.Remove(InlineSocketCompletions);
        info.Environment.Remove(SocketThreadCount);
        foreach (var (key, value) in spec.Environment) info.Environment[key] = value;
        info.Environment[InstanceVariable] = InstanceId;
        // Out of the terminal's process group: Ctrl-C is ours to act on, and we stop children in cancel-tasks.
        OwnSession.Apply(info);

        // Shared with the service's other children (a restart overlaps old and new): one writer per log file.
        var log = spec.LogPath is null ? null : ServiceLog.Open(spec.LogPath);

        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var description = $"{Path.GetFileName(spec.FileName)} {string.Join(' ', spec.Arguments)}";
        try
        {
            process.Start();
        }
        catch
        {
            log?.Dispose();
            process.Dispose();
            throw;
        }
        process.StandardInput.Close();

        var child = new ChildProcess(process, log, description, spec.Ledger);
        spec.Ledger?.Track(child);
        // Before its output is read, so the header comes first.
        log?.Started(child.Pid, description);
        void OnData(object? _, DataReceivedEventArgs e)
        {
            if (e.Data is null) return;
            // Stripped once, here: the tail, last_error, status and the log all get the same terminal-safe text.
            var line = ControlCharacters.Strip(e.Data);
            child.Remember(line);
            spec.OnLine?.Invoke(line);
        }
        process.OutputDataReceived += OnData;
        process.ErrorDataReceived += OnData;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        // Only now: an exit seen before the readers started would be reported without waiting for them to drain,
        // and a child that printed its error and exited at once would leave an empty tail behind last_error.
        process.Exited += (_, _) => child.OnExited();
        if (process.HasExited) child.OnExited();
        return child;
    }

    /// <summary>The last few lines the child printed (for a clear last_error).</summary>
    public string Tail => string.Join(" | ", _tail);

    /// <summary>The same last lines, one by one.</summary>
    public IReadOnlyList<string> TailLines { get { lock (_tail) return _tail.ToList(); } }

    private void Remember(string line)
    {
        lock (_tail)
        {
            _log?.Output(Pid, line);
            _tail.Enqueue(line);
            while (_tail.Count > 3) _tail.TryDequeue(out _);
        }
    }

    private void OnExited()
    {
        // Both the Exited event and Start's own check can see one exit.
        if (Interlocked.Exchange(ref _exitSeen, 1) == 1) return;
        // WaitForExitAsync also drains the redirected output before we report the exit; never block a
        // pool thread here: with dozens of children exiting at once that starves the pool for seconds.
        Task.Run(async () =>
        {
            try { await _process.WaitForExitAsync(); } catch (InvalidOperationException) { }
            int code;
            try { code = _process.ExitCode; } catch (InvalidOperationException) { code = -1; }
            _ledger?.Forget(this);
            lock (_tail)
            {
                _log?.Exited(Pid, code);
                _log?.Dispose();
            }
            _exited.TrySetResult(code);
        });
    }

    /// <summary>SIGTERM to the whole tree; SIGKILL what is left after <paramref name="grace"/> unless told not to.</summary>
    public async Task StopAsync(TimeSpan grace, bool killAfterGrace = true)
    {
        if (Exited.IsCompleted) return;
        if (!IsStillOurs()) return;
        foreach (var pid in Posix.Tree(Pid)) Posix.Signal(pid, Posix.SIGTERM);
        // A stopped process cannot act on SIGTERM until it continues.
        Posix.Signal(Pid, Posix.SIGCONT);
        if (await Task.WhenAny(Exited, Task.Delay(grace)) == Exited || !killAfterGrace) return;
        Kill();
        await Task.WhenAny(Exited, Task.Delay(TimeSpan.FromSeconds(2)));
    }

    /// <summary>SIGKILL the whole tree at once.</summary>
    public void Kill()
    {
        if (Exited.IsCompleted || !IsStillOurs()) return;
        if (!OperatingSystem.IsLinux())
        {
            // No /proc to walk (macOS): .NET finds the tree itself.
            try { _process.Kill(entireProcessTree: true); }
            catch (InvalidOperationException) { }
            catch (System.ComponentModel.Win32Exception) { }
            return;
        }
        // Each process is stopped before its children are listed, so none can fork a replacement meanwhile. Not
        // Process.Kill(entireProcessTree), which reads every process on the machine (~0.3 s per child under load).
        var tree = new List<int>();
        void StopTree(int pid)
        {
            Posix.Signal(pid, Posix.SIGSTOP);
            tree.Add(pid);
            foreach (var child in Posix.Children(pid)) StopTree(child);
        }
        StopTree(Pid);
        foreach (var pid in tree) Posix.Signal(pid, Posix.SIGKILL);
    }

    /// <summary>Guards against PID reuse: the pid must still carry the start time we recorded.</summary>
    private bool IsStillOurs() => StartTicks is null || Posix.StartTicks(Pid) == StartTicks;

    public void Dispose()
    {
        Kill();
        Exited.ContinueWith(_ => _process.Dispose(), TaskScheduler.Default);
    }
}
