using System.ComponentModel;
using System.Diagnostics;

namespace LocalPort.Core.Processes;

/// <summary>
/// Starts a child in a session (and so a process group) of its own: a terminal's Ctrl-C, which is SIGINT to the
/// whole foreground process group, then reaches LocalPort only, and LocalPort alone decides when its children stop.
/// .NET 10 cannot do this (ProcessStartInfo.CreateNewProcessGroup throws PlatformNotSupportedException on Unix), so
/// the program runs through setsid(1), which calls setsid() and execs it in place: same pid, same start time, same
/// environment and pipes. Where there is no setsid(1) (macOS), the child stays in our group and Ctrl-C reaches it too.
/// </summary>
public static class OwnSession
{
    private const int ENOENT = 2;
    private const int EACCES = 13;

    /// <summary>setsid(1), by absolute path only (never PATH or the working directory); null where there is none.</summary>
    public static string? Setsid { get; } =
        OperatingSystem.IsWindows() ? null : new[] { "/usr/bin/setsid", "/bin/setsid" }.FirstOrDefault(Posix.IsExecutable);

    /// <summary>
    /// Rewrites <paramref name="info"/> to run its program, resolved to an absolute path, through setsid(1). setsid(1)
    /// forks only when it leads its process group, and a freshly forked child never does (it is in its parent's
    /// group), so the pid .NET reports is the program's. A program that cannot be found still fails the start.
    /// </summary>
    /// <exception cref="Win32Exception">The program does not exist or is not executable.</exception>
    public static void Apply(ProcessStartInfo info)
    {
        if (OperatingSystem.IsWindows()) return;
        if (!string.IsNullOrEmpty(info.Arguments))
            throw new ArgumentException("use ArgumentList: the program's arguments must stay separate", nameof(info));
        var program = Resolve(info.FileName);
        if (Setsid is null)
        {
            info.FileName = program;
            return;
        }
        info.ArgumentList.Insert(0, program);
        info.FileName = Setsid;
    }

    /// <summary>
    /// The program's absolute path: a name with a slash is taken as given (relative to the working directory, as execve
    /// does); a bare name is looked up on PATH's absolute entries only, never in the working directory.
    /// </summary>
    /// <param name="searchPath">A PATH-style list to search instead of our PATH.</param>
    /// <exception cref="Win32Exception">Not found, or not executable.</exception>
    public static string Resolve(string fileName, string? searchPath = null)
    {
        if (fileName.Contains('/'))
        {
            var full = Path.GetFullPath(fileName);
            if (Posix.IsExecutable(full)) return full;
            throw File.Exists(full)
                ? new Win32Exception(EACCES, $"{full}: Permission denied")
                : new Win32Exception(ENOENT, $"{full}: No such file or directory");
        }
        var path = searchPath ?? Environment.GetEnvironmentVariable("PATH") ?? "";
        foreach (var directory in path.Split(':'))
        {
            // An empty or relative entry would mean the working directory.
            if (!Path.IsPathRooted(directory)) continue;
            var candidate = Path.Combine(directory, fileName);
            if (Posix.IsExecutable(candidate)) return candidate;
        }
        throw new Win32Exception(ENOENT,
            $"program '{fileName}' not found in PATH's absolute entries (PATH={path}); install it or configure its absolute path");
    }
}
