using System.Globalization;

namespace LocalPort.Core.Forwarding;

/// <summary>Who holds a TCP port, from /proc (Linux); null where it cannot be told.</summary>
public static class PortOwner
{
    public static string? Describe(int port)
    {
        try
        {
            var inodes = ListeningInodes(port);
            if (inodes.Count == 0) return null;
            foreach (var proc in Directory.EnumerateDirectories("/proc"))
            {
                if (!int.TryParse(Path.GetFileName(proc), out var pid)) continue;
                try
                {
                    foreach (var fd in Directory.EnumerateFileSystemEntries(Path.Combine(proc, "fd")))
                    {
                        var target = new FileInfo(fd).LinkTarget;
                        if (target is not null && inodes.Any(i => target == $"socket:[{i}]"))
                        {
                            var command = File.ReadAllText(Path.Combine(proc, "cmdline")).Replace('\0', ' ').Trim();
                            return $"pid {pid} ({(command.Length > 80 ? command[..80] : command)})";
                        }
                    }
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        return null;
    }

    private static List<string> ListeningInodes(int port)
    {
        var result = new List<string>();
        foreach (var table in new[] { "/proc/net/tcp", "/proc/net/tcp6" })
        {
            if (!File.Exists(table)) continue;
            foreach (var line in File.ReadLines(table).Skip(1))
            {
                var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (parts.Length < 10 || parts[3] != "0A") continue; // 0A = LISTEN
                var local = parts[1];
                var portHex = local[(local.LastIndexOf(':') + 1)..];
                if (int.Parse(portHex, NumberStyles.HexNumber) == port) result.Add(parts[9]);
            }
        }
        return result;
    }
}
