using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using LocalPort.IntegrationTests.Fixtures;

namespace LocalPort.Bench;

/// <summary>
/// Every process the bench starts goes through here, so that all of them (and anything they started,
/// even if it was re-parented) are killed when the bench ends, whatever way it ends.
/// </summary>
public static class Procs
{
    private static readonly ConcurrentDictionary<int, Process> Started = new();
    /// <summary>Processes seen as descendants at some point, identified by pid + start time.</summary>
    private static readonly ConcurrentDictionary<(int Pid, long Start), byte> Seen = new();

    public sealed record Options
    {
        public IReadOnlyDictionary<string, string?> Environment { get; init; } = new Dictionary<string, string?>();
        public Action<string>? Stdout { get; init; }
        public Action<string>? Stderr { get; init; }
        public string? WorkingDirectory { get; init; }
    }

    public static Process Start(string fileName, IEnumerable<string> arguments, Options? options = null)
    {
        options ??= new Options();
        var info = new ProcessStartInfo(fileName)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = options.WorkingDirectory ?? Environment.CurrentDirectory,
        };
        foreach (var argument in arguments) info.ArgumentList.Add(argument);
        foreach (var (key, value) in options.Environment)
        {
            if (value is null) info.Environment.Remove(key);
            else info.Environment[key] = value;
        }
        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) options.Stdout?.Invoke(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) options.Stderr?.Invoke(e.Data); };
        process.Start();
        Started[process.Id] = process;
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    /// <summary>Remembers the current descendants of <paramref name="pid"/> so they are killed at the end too.</summary>
    public static IReadOnlyList<(int Pid, long Start)> Snapshot(int pid)
    {
        var list = new List<(int, long)>();
        foreach (var child in Native.Descendants(pid))
        {
            if (StartTime(child) is not { } start) continue;
            list.Add((child, start));
            Seen[(child, start)] = 0;
        }
        return list;
    }

    /// <summary>True when the process with this pid and start time still runs (zombies count as gone).</summary>
    public static bool Alive((int Pid, long Start) id) => StartTime(id.Pid) == id.Start && Native.IsAlive(id.Pid);

    /// <summary>Field 22 of /proc/PID/stat: start time in clock ticks since boot.</summary>
    public static long? StartTime(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return long.Parse(fields[19], CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return null;
        }
    }

    /// <summary>Kills a process and all its descendants now (SIGKILL also ends a stopped process).</summary>
    public static void KillTree(Process? process)
    {
        if (process is null) return;
        try
        {
            if (!process.HasExited)
            {
                Snapshot(process.Id);
                process.Kill(entireProcessTree: true);
                process.WaitForExit(5000);
            }
        }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception) { }
        KillSeen();
    }

    private static void KillSeen()
    {
        foreach (var id in Seen.Keys)
        {
            if (Alive(id)) Native.Signal(id.Pid, Native.SIGKILL);
            else Seen.TryRemove(id, out _);
        }
    }

    /// <summary>The end of the bench: nothing it started may outlive it.</summary>
    public static void KillAll()
    {
        foreach (var process in Started.Values)
        {
            try
            {
                if (!process.HasExited)
                {
                    Snapshot(process.Id);
                    process.Kill(entireProcessTree: true);
                }
            }
            catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception) { }
        }
        KillSeen();
        foreach (var process in Started.Values)
        {
            try { process.WaitForExit(2000); } catch (InvalidOperationException) { }
        }
    }

    public static int StillRunning => Started.Values.Count(p => { try { return !p.HasExited; } catch (InvalidOperationException) { return false; } });

    /// <summary>Value of an environment variable of a running process (/proc/PID/environ), or null.</summary>
    public static string? EnvironmentOf(int pid, string variable)
    {
        try
        {
            var prefix = variable + "=";
            foreach (var entry in File.ReadAllText($"/proc/{pid}/environ").Split('\0'))
                if (entry.StartsWith(prefix, StringComparison.Ordinal)) return entry[prefix.Length..];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        return null;
    }

    /// <summary>Live processes anywhere on the machine whose environment carries VARIABLE=VALUE.</summary>
    public static IReadOnlyList<int> Tagged(string variable, string value)
    {
        var found = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid)) continue;
            if (EnvironmentOf(pid, variable) == value && Native.IsAlive(pid)) found.Add(pid);
        }
        return found;
    }
}
