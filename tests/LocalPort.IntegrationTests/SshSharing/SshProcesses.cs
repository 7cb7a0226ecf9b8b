using LocalPort.IntegrationTests.Fixtures;

namespace LocalPort.IntegrationTests.SshSharing;

/// <summary>The ssh processes of one `localport run`, read from /proc: only its own children, never matched by name alone.</summary>
internal static class SshProcesses
{
    /// <summary>Its ssh children right now: masters, services' own ssh, and short-lived `ssh -O` clients.</summary>
    public static IReadOnlyList<int> Children(LocalPortProcess run) =>
        Native.Children(run.Pid).Where(pid => Native.Command(pid) == "ssh" && Native.IsAlive(pid)).ToList();

    /// <summary>Its shared masters (ControlMaster=yes on their command line).</summary>
    public static IReadOnlyList<int> Masters(LocalPortProcess run) => Children(run).Where(IsMaster).ToList();

    public static bool IsMaster(int pid) => CommandLine(pid).Contains("ControlMaster=yes");

    /// <summary>A master that has authenticated: ssh creates its control socket only then.</summary>
    public static bool IsAuthenticated(int pid) =>
        CommandLine(pid).FirstOrDefault(a => a.StartsWith("ControlPath=", StringComparison.Ordinal)) is { } option
        && File.Exists(option["ControlPath=".Length..]);

    public static IReadOnlyList<string> CommandLine(int pid)
    {
        try { return File.ReadAllText($"/proc/{pid}/cmdline").Split('\0', StringSplitOptions.RemoveEmptyEntries); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return []; }
    }

    /// <summary>The LocalPort instance that started <paramref name="pid"/> (LOCALPORT_INSTANCE in its environment).</summary>
    public static string? InstanceOf(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/environ").Split('\0')
                .FirstOrDefault(v => v.StartsWith("LOCALPORT_INSTANCE=", StringComparison.Ordinal))?["LOCALPORT_INSTANCE=".Length..];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
    }

    /// <summary>Live processes whose environment carries LOCALPORT_INSTANCE=<paramref name="instance"/> (zombies count as gone).</summary>
    public static IReadOnlyList<int> Tagged(string instance) => Directory.EnumerateDirectories("/proc")
        .Select(d => int.TryParse(Path.GetFileName(d), out var pid) ? pid : 0)
        .Where(pid => pid > 0 && Native.IsAlive(pid) && HasTag(pid, instance))
        .ToList();

    private static bool HasTag(int pid, string instance)
    {
        try { return File.ReadAllText($"/proc/{pid}/environ").Split('\0').Contains($"LOCALPORT_INSTANCE={instance}"); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return false; }
    }
}
