namespace LocalPort.IntegrationTests.Fixtures;

/// <summary>
/// Processes a test SIGSTOPs on purpose. Each is recorded with its start time, so cleanup acts only on that
/// very process (never on a later one that reuses the pid): a tunnel child is killed, a shared server resumed.
/// </summary>
public sealed class StoppedProcesses : IDisposable
{
    private readonly List<(int Pid, long StartTicks, bool Kill)> _stopped = [];

    /// <summary>Stops a process we started (a tunnel child); cleanup kills it if it is still around.</summary>
    public bool StopChild(int pid) => Stop(pid, kill: true);

    /// <summary>Stops a process shared with other tests (sshd); cleanup resumes it if it is still stopped.</summary>
    public bool StopShared(int pid) => Stop(pid, kill: false);

    private bool Stop(int pid, bool kill)
    {
        var ticks = StartTicks(pid) ?? throw new InvalidOperationException($"no process {pid} to stop");
        _stopped.Add((pid, ticks, kill));
        return Native.Signal(pid, Native.SIGSTOP);
    }

    /// <summary>Resumes a process stopped with <see cref="StopShared"/> (no-op when it is gone or another process has the pid).</summary>
    public void Resume(int pid)
    {
        foreach (var (stoppedPid, ticks, _) in _stopped)
            if (stoppedPid == pid && StartTicks(pid) == ticks) Native.Signal(pid, Native.SIGCONT);
    }

    /// <summary>Field 22 of /proc/PID/stat: when the process started, in clock ticks since boot.</summary>
    public static long? StartTicks(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return long.Parse(fields[19], System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return null;
        }
    }

    public void Dispose()
    {
        foreach (var (pid, ticks, kill) in _stopped)
        {
            if (StartTicks(pid) != ticks || !Native.IsAlive(pid)) continue;
            if (kill) Native.Signal(pid, Native.SIGKILL);
            Native.Signal(pid, Native.SIGCONT);
        }
    }
}

/// <summary>Finds the listening sshd of the shared <see cref="SshServer"/> without changing that fixture.</summary>
public static class SshServerProcess
{
    /// <summary>
    /// The sshd this test process started with the fixture's sshd_config. The listener rewrites its command line
    /// ("sshd: /usr/sbin/sshd -D -e -f CONFIG [listener] …"); per-connection children do not name the config.
    /// </summary>
    public static int ListenerPid(SshServer server)
    {
        var config = Path.Combine(Path.GetDirectoryName(server.ClientKey)!, "sshd_config");
        foreach (var pid in Native.Descendants(Environment.ProcessId))
        {
            if (Native.Command(pid) != "sshd") continue;
            string commandLine;
            try { commandLine = File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' '); }
            catch (IOException) { continue; }
            if (commandLine.Contains(" -D ", StringComparison.Ordinal) && commandLine.Contains(config, StringComparison.Ordinal)) return pid;
        }
        var seen = Native.Descendants(Environment.ProcessId).Select(pid => $"{pid} {Native.Command(pid)}");
        throw new InvalidOperationException($"no sshd child running with -f {config}; descendants: {string.Join(", ", seen)}");
    }
}
