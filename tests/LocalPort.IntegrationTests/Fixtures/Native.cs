using System.Runtime.InteropServices;

namespace LocalPort.IntegrationTests.Fixtures;

/// <summary>Signals and /proc: what the tests use to hurt and inspect processes.</summary>
public static class Native
{
    public const int SIGHUP = 1;
    public const int SIGINT = 2;
    public const int SIGKILL = 9;
    public const int SIGTERM = 15;
    public const int SIGCONT = 18;
    public const int SIGSTOP = 19;

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int SysKill(int pid, int signal);

    /// <summary>Sends a signal; false when the process does not exist (or is not ours).</summary>
    public static bool Signal(int pid, int signal) => pid > 0 && SysKill(pid, signal) == 0;

    /// <summary>
    /// Sends a signal to every process in group <paramref name="processGroup"/>, as a terminal does on Ctrl-C.
    /// Refuses the test's own group, so a test can never signal itself.
    /// </summary>
    public static bool SignalGroup(int processGroup, int signal) =>
        processGroup > 1 && processGroup != ProcessGroup(Environment.ProcessId) && SysKill(-processGroup, signal) == 0;

    /// <summary>The process group id (field 5 of /proc/PID/stat), or null when there is no such process.</summary>
    public static int? ProcessGroup(int pid) => StatField(pid, 2);

    /// <summary>The session id (field 6 of /proc/PID/stat), or null when there is no such process.</summary>
    public static int? Session(int pid) => StatField(pid, 3);

    /// <summary>Live processes whose process group is <paramref name="processGroup"/>.</summary>
    public static IReadOnlyList<int> GroupMembers(int processGroup) =>
        Directory.EnumerateDirectories("/proc")
            .Select(dir => int.TryParse(Path.GetFileName(dir), out var pid) ? pid : 0)
            .Where(pid => pid > 0 && ProcessGroup(pid) == processGroup && IsAlive(pid))
            .ToList();

    /// <summary>A numeric field after the command name in /proc/PID/stat (0 = state, 1 = ppid, 2 = pgrp, 3 = session, 17 = threads).</summary>
    private static int? StatField(int pid, int index)
    {
        var stat = ReadStat(pid);
        if (stat is null) return null;
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return fields.Length > index && int.TryParse(fields[index], out var value) ? value : null;
    }

    /// <summary>True while the pid names a process that has not exited (zombies count as gone).</summary>
    public static bool IsAlive(int pid)
    {
        var state = State(pid);
        return state is not null && state != 'Z' && state != 'X';
    }

    /// <summary>
    /// True once the whole process has gone: no such pid, or a zombie whose last thread has exited too. A zombie leader
    /// with threads left is a process still in exit_group, holding its descriptors and locks.
    /// </summary>
    public static bool HasExited(int pid) => State(pid) switch
    {
        null or 'X' => true,
        'Z' => StatField(pid, 17) is null or <= 1,
        _ => false,
    };

    /// <summary>How many inotify watches the process holds, over all its inotify descriptors (from /proc/PID/fdinfo).</summary>
    public static int InotifyWatches(int pid)
    {
        var watches = 0;
        foreach (var fd in Directory.EnumerateFileSystemEntries($"/proc/{pid}/fd"))
        {
            try
            {
                if (new FileInfo(fd).LinkTarget != "anon_inode:inotify") continue;
                watches += File.ReadLines($"/proc/{pid}/fdinfo/{Path.GetFileName(fd)}").Count(line => line.StartsWith("inotify ", StringComparison.Ordinal));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // The descriptor closed meanwhile.
            }
        }
        return watches;
    }

    /// <summary>The one-letter state from /proc/PID/stat (R, S, T, Z…), or null when there is no such process.</summary>
    public static char? State(int pid)
    {
        var stat = ReadStat(pid);
        if (stat is null) return null;
        var afterName = stat.LastIndexOf(')');
        return afterName < 0 || afterName + 2 >= stat.Length ? null : stat[afterName + 2];
    }

    /// <summary>The executable's short name (comm), or null.</summary>
    public static string? Command(int pid)
    {
        try { return File.ReadAllText($"/proc/{pid}/comm").Trim(); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
    }

    /// <summary>Direct children of <paramref name="pid"/> from /proc/PID/task/*/children: cheap enough to sample often.</summary>
    public static IReadOnlyList<int> Children(int pid)
    {
        var result = new List<int>();
        try
        {
            foreach (var task in Directory.EnumerateDirectories($"/proc/{pid}/task"))
                foreach (var part in File.ReadAllText(Path.Combine(task, "children")).Split(' ', StringSplitOptions.RemoveEmptyEntries))
                    if (int.TryParse(part, out var child)) result.Add(child);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
        return result;
    }

    /// <summary>Every live descendant of <paramref name="pid"/> (children, grandchildren…).</summary>
    public static IReadOnlyList<int> Descendants(int pid)
    {
        var parents = new Dictionary<int, int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var candidate)) continue;
            var stat = ReadStat(candidate);
            if (stat is null) continue;
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            if (fields.Length > 1 && int.TryParse(fields[1], out var parent)) parents[candidate] = parent;
        }
        var result = new List<int>();
        var frontier = new Queue<int>([pid]);
        while (frontier.Count > 0)
        {
            var current = frontier.Dequeue();
            foreach (var (child, parent) in parents)
            {
                if (parent != current || result.Contains(child)) continue;
                result.Add(child);
                frontier.Enqueue(child);
            }
        }
        return result;
    }

    private static string? ReadStat(int pid)
    {
        try { return File.ReadAllText($"/proc/{pid}/stat"); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
    }
}
