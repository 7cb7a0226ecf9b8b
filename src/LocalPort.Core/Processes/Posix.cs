using System.Runtime.InteropServices;

namespace LocalPort.Core.Processes;

/// <summary>The few libc calls .NET does not expose: signals other than SIGKILL, access(2), and /proc reading.</summary>
public static partial class Posix
{
    public const int SIGTERM = 15;
    public const int SIGKILL = 9;
    public const int SIGSTOP = 19;
    public const int SIGCONT = 18;

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int SysKill(int pid, int signal);

    public static bool Signal(int pid, int signal) => !OperatingSystem.IsWindows() && SysKill(pid, signal) == 0;

    [LibraryImport("libc", EntryPoint = "access", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int SysAccess(string path, int mode);

    /// <summary>A regular file this process may execute (access(2) with X_OK; a directory is not a program).</summary>
    public static bool IsExecutable(string path) => File.Exists(path) && SysAccess(path, 1 /* X_OK */) == 0;

    [LibraryImport("libc", EntryPoint = "geteuid")]
    private static partial uint SysGeteuid();

    /// <summary>The user this process acts as (what owns the files it creates); 0 is root.</summary>
    public static uint EffectiveUserId => OperatingSystem.IsWindows() ? 0 : SysGeteuid();

    [LibraryImport("libc", EntryPoint = "malloc_trim")]
    private static partial int SysMallocTrim(nuint pad);

    /// <summary>
    /// Hands the native heap's free pages back to the kernel (glibc malloc_trim(3)); false where there is no such call
    /// (macOS, musl). Start-up grows malloc arenas that an idle supervisor never uses again.
    /// </summary>
    public static bool TrimNativeHeap()
    {
        if (!OperatingSystem.IsLinux()) return false;
        try
        {
            return SysMallocTrim(0) == 1;
        }
        catch (EntryPointNotFoundException)
        {
            return false;
        }
    }

    [LibraryImport("libc", EntryPoint = "setsid", SetLastError = true)]
    private static partial int SysSetsid();

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int SysOpen(string path, int flags);

    [LibraryImport("libc", EntryPoint = "dup2", SetLastError = true)]
    private static partial int SysDup2(int oldFd, int newFd);

    [LibraryImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    private static partial int SysFcntl(Microsoft.Win32.SafeHandles.SafeFileHandle fd, int command, int argument);

    /// <summary>
    /// Sets O_APPEND on an open file (Linux): every write lands at the end of the file, whatever offset it was given.
    /// .NET opens FileMode.Append without it and writes at its own idea of the end. Elsewhere a no-op: fcntl takes
    /// variable arguments, which the Apple arm64 calling convention passes where a P/Invoke does not put them.
    /// </summary>
    public static void SetAppendMode(Microsoft.Win32.SafeHandles.SafeFileHandle file)
    {
        if (!OperatingSystem.IsLinux()) return;
        const int F_GETFL = 3, F_SETFL = 4, O_APPEND = 0x400;
        var flags = SysFcntl(file, F_GETFL, 0);
        if (flags < 0 || SysFcntl(file, F_SETFL, flags | O_APPEND) < 0)
            throw new IOException($"cannot open the log for appending: {Marshal.GetLastPInvokeErrorMessage()}");
    }

    /// <summary>Detach from the terminal: a new session, and stdin/stdout/stderr on /dev/null.</summary>
    public static void Daemonize()
    {
        if (OperatingSystem.IsWindows()) return;
        SysSetsid();
        var devNull = SysOpen("/dev/null", 2 /* O_RDWR */);
        if (devNull < 0) return;
        for (var fd = 0; fd <= 2; fd++) SysDup2(devNull, fd);
    }

    /// <summary>True when /proc/PID/environ carries NAME=VALUE (our tag on children; never command-line matching).</summary>
    public static bool HasEnvironment(int pid, string name, string value)
    {
        try
        {
            var environ = File.ReadAllBytes($"/proc/{pid}/environ");
            var needle = System.Text.Encoding.UTF8.GetBytes($"{name}={value}\0");
            return environ.AsSpan().IndexOf(needle) >= 0;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>Start time of a process in clock ticks since boot (field 22 of /proc/PID/stat), or null if gone.</summary>
    public static long? StartTicks(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var afterComm = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return long.Parse(afterComm[19]);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return null;
        }
    }

    /// <summary>Process state letter from /proc/PID/stat: R, S, T (stopped), Z (zombie)...; null if gone.</summary>
    public static char? State(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[stat.LastIndexOf(')') + 2];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or IndexOutOfRangeException)
        {
            return null;
        }
    }

    /// <summary>
    /// True while the pid still runs the process that had <paramref name="startTicks"/>: a different start time means
    /// the pid was reused, and a zombie has exited (its parent just has not reaped it yet) once its last thread has.
    /// A multi-threaded process shows its leader as a zombie while exit_group is still ending the other threads, which
    /// hold its descriptors and locks until they have gone.
    /// </summary>
    public static bool IsAlive(int pid, long? startTicks) =>
        startTicks is not null && StartTicks(pid) == startTicks && State(pid) switch
        {
            null or 'X' => false,
            'Z' => Threads(pid) > 1,
            _ => true,
        };

    /// <summary>Number of threads (field 20 of /proc/PID/stat), or null if gone.</summary>
    public static int? Threads(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[17]);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return null;
        }
    }

    /// <summary>Direct children of a process, from /proc (for killing whole trees, SIGTERM first).</summary>
    public static IReadOnlyList<int> Children(int pid)
    {
        var result = new List<int>();
        try
        {
            foreach (var task in Directory.EnumerateDirectories($"/proc/{pid}/task"))
            {
                var file = Path.Combine(task, "children");
                if (!File.Exists(file)) continue;
                foreach (var part in File.ReadAllText(file).Split(' ', StringSplitOptions.RemoveEmptyEntries))
                    if (int.TryParse(part, out var child)) result.Add(child);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
        return result;
    }

    /// <summary>The process and all its descendants, children first so parents can't respawn them.</summary>
    public static IReadOnlyList<int> Tree(int pid)
    {
        var all = new List<int>();
        void Walk(int p)
        {
            foreach (var c in Children(p)) Walk(c);
            all.Add(p);
        }
        Walk(pid);
        return all;
    }
}
