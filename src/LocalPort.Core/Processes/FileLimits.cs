using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace LocalPort.Core.Processes;

/// <summary>The process's open-file limit (RLIMIT_NOFILE): raise it, read it, count what is open, recognise running out.</summary>
public static partial class FileLimits
{
    /// <summary>macOS refuses a soft limit above OPEN_MAX (setrlimit(2), COMPATIBILITY).</summary>
    private const ulong MacOpenMax = 10240;
    private const int EnFile = 23;
    private const int EmFile = 24;

    public readonly record struct Limit(long Soft, long Hard);

    [StructLayout(LayoutKind.Sequential)]
    private struct RLimit
    {
        public ulong Current;
        public ulong Maximum;
    }

    [LibraryImport("libc", EntryPoint = "getrlimit", SetLastError = true)]
    private static partial int GetRLimit(int resource, out RLimit limit);

    [LibraryImport("libc", EntryPoint = "setrlimit", SetLastError = true)]
    private static partial int SetRLimit(int resource, in RLimit limit);

    private static int NoFile => OperatingSystem.IsMacOS() ? 8 : 7;

    /// <summary>The limit now in effect, or null where there is none to read (Windows).</summary>
    public static Limit? Current()
    {
        if (!(OperatingSystem.IsLinux() || OperatingSystem.IsMacOS())) return null;
        return GetRLimit(NoFile, out var limit) == 0 ? ToLimit(limit) : null;
    }

    /// <summary>
    /// Raises the soft limit to the hard one (on macOS at most OPEN_MAX), as Go's runtime does, and returns the
    /// limit then in effect. CoreCLR already does this at start on glibc Linux and macOS; this covers the rest.
    /// </summary>
    public static Limit? RaiseSoftLimit()
    {
        if (!(OperatingSystem.IsLinux() || OperatingSystem.IsMacOS())) return null;
        if (GetRLimit(NoFile, out var limit) != 0) return null;
        var wanted = OperatingSystem.IsMacOS() ? Math.Min(limit.Maximum, MacOpenMax) : limit.Maximum;
        if (wanted > limit.Current) SetRLimit(NoFile, new RLimit { Current = wanted, Maximum = limit.Maximum });
        return Current();
    }

    private static Limit ToLimit(RLimit limit) => new(Clamp(limit.Current), Clamp(limit.Maximum));

    private static long Clamp(ulong value) => value > long.MaxValue ? long.MaxValue : (long)value;

    /// <summary>How many descriptors the process has open (from /proc/self/fd or /dev/fd), or null where that cannot be read.</summary>
    public static int? OpenCount()
    {
        try
        {
            return FdDirectory() is { } directory ? CountOpen(directory) : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>True when at least <paramref name="count"/> more descriptors can be opened (also true where that cannot be told).</summary>
    public static bool HasRoom(int count)
    {
        if (Current() is not { } limit || FdDirectory() is not { } directory) return true;
        try
        {
            return limit.Soft - CountOpen(directory) >= count;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Not even one descriptor to list them with.
            return false;
        }
    }

    private static string? FdDirectory() =>
        Directory.Exists("/proc/self/fd") ? "/proc/self/fd" : Directory.Exists("/dev/fd") ? "/dev/fd" : null;

    // Minus the one the listing itself holds open.
    private static int CountOpen(string directory) => Directory.EnumerateFileSystemEntries(directory).Count() - 1;

    /// <summary>
    /// True when the exception (or one inside it) says the process or the system ran out of file descriptors
    /// (EMFILE, ENFILE): <see cref="SocketError.TooManyOpenSockets"/> from sockets, an IOException from files.
    /// </summary>
    public static bool IsExhaustion(Exception? exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is SocketException { SocketErrorCode: SocketError.TooManyOpenSockets }) return true;
            if (e is IOException && e.HResult is EmFile or EnFile) return true;
        }
        return false;
    }
}
