using System.Runtime.InteropServices;
using LocalPort.IntegrationTests.Fixtures;

namespace LocalPort.Bench;

/// <summary>What the figures were measured on, recorded next to them.</summary>
public sealed class Machine
{
    public string LoadAtStart { get; } = LoadAverage();
    public string? LoadAtEnd { get; set; }
    public string Commit { get; init; } = "";

    public static string LoadAverage()
    {
        try { return string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)); }
        catch (IOException) { return "?"; }
    }

    private static string CpuModel()
    {
        try
        {
            var lines = File.ReadAllLines("/proc/cpuinfo");
            var models = lines.Where(l => l.StartsWith("model name", StringComparison.Ordinal))
                .Select(l => l[(l.IndexOf(':') + 1)..].Trim()).Distinct().ToList();
            var mhz = lines.FirstOrDefault(l => l.StartsWith("cpu MHz", StringComparison.Ordinal))?.Split(':')[1].Trim();
            var processors = lines.Count(l => l.StartsWith("processor", StringComparison.Ordinal));
            return $"{string.Join(", ", models)} ({processors} processors in /proc/cpuinfo{(mhz is null ? "" : $", {mhz} MHz")})";
        }
        catch (IOException) { return "unknown"; }
    }

    private static string OneLine(string program, params string[] arguments)
    {
        try
        {
            var result = Run.Program(program, arguments, TimeSpan.FromSeconds(10));
            var text = (result.Stdout + result.Stderr).Trim();
            return text.Split('\n').FirstOrDefault()?.Trim() ?? "";
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or TimeoutException or InvalidOperationException)
        {
            return "not found";
        }
    }

    private static string Read(string path, string fallback = "?")
    {
        try { return File.ReadAllText(path).Trim(); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return fallback; }
    }

    private static string Os()
    {
        var line = Read("/etc/os-release", "").Split('\n').FirstOrDefault(l => l.StartsWith("PRETTY_NAME=", StringComparison.Ordinal));
        return line is null ? RuntimeInformation.OSDescription : line["PRETTY_NAME=".Length..].Trim('"');
    }

    private static string Memory()
    {
        var line = Read("/proc/meminfo", "").Split('\n').FirstOrDefault(l => l.StartsWith("MemTotal:", StringComparison.Ordinal));
        if (line is null || !long.TryParse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], out var kb)) return "?";
        return $"{kb / 1024.0 / 1024.0:0.0} GiB";
    }

    public IEnumerable<string> Lines()
    {
        yield return $"Cores: {Environment.ProcessorCount} (nproc: {OneLine("nproc")})";
        yield return $"CPU: {CpuModel()}";
        yield return $"Memory: {Memory()}; OS: {Os()}; kernel {Read("/proc/sys/kernel/osrelease")}";
        yield return $"Load average (1/5/15 min) at start: {LoadAtStart}; at end: {LoadAtEnd ?? LoadAverage()} — the machine is shared, so figures are noisy";
        yield return $".NET {Environment.Version}; LocalPort commit {Commit}";
        yield return $"Peers: {OneLine("autossh", "-V")}; {SocatVersion()}; {OneLine("ssh", "-V")}";
    }

    private static string SocatVersion()
    {
        try
        {
            var result = Run.Program("socat", ["-V"], TimeSpan.FromSeconds(10));
            var line = result.Stdout.Split('\n').FirstOrDefault(l => l.StartsWith("socat version", StringComparison.Ordinal));
            return line is null ? "" : line.Split(" on ")[0];
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or TimeoutException) { return "socat not found"; }
    }
}
