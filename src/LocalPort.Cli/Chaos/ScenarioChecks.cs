using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using LocalPort.Control;
using LocalPort.Core.Chaos;
using LocalPort.Core.Config;
using LocalPort.Core.Processes;

namespace LocalPort.Cli.Chaos;

/// <summary>The conditions a scenario waits for, each checked once per call: (holds, what was seen).</summary>
public static class ScenarioChecks
{
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(5);

    /// <summary>A service name against a name or a pattern with <c>*</c> and <c>?</c>.</summary>
    public static bool Matches(string pattern, string name) =>
        pattern == name || Regex.IsMatch(name, "^" + Regex.Escape(pattern).Replace("\\*", ".*").Replace("\\?", ".") + "$");

    public static async Task<(bool Ok, string Detail)> ExpectAsync(ChaosClient client, ExpectStep expect)
    {
        var status = await client.StatusAsync();
        var services = status.Services.Where(s => Matches(expect.Services, s.Name)).ToList();
        if (services.Count == 0) return (false, $"no service matches '{expect.Services}' (there are {string.Join(", ", status.Services.Select(s => s.Name))})");
        var problems = new List<string>();
        var seen = new List<string>();
        foreach (var service in services)
        {
            if (expect.Healthy is { } healthy && (service.Healthy == true) != healthy)
                problems.Add($"{service.Name} is {service.State}, {(service.Healthy switch { true => "healthy", false => "unhealthy", _ => "not checked yet" })}" +
                             (service.LastError is null ? "" : $" ({service.LastError})"));
            if (expect.State is { } state && service.State != state) problems.Add($"{service.Name} is {service.State}");
            if (expect.LatencyAbove is null && expect.LatencyBelow is null) continue;
            var latency = await MedianLatencyAsync(service.LocalPort, expect.Probe);
            if (latency is not { } answered)
            {
                problems.Add($"{service.Name} did not answer on port {service.LocalPort}");
                continue;
            }
            seen.Add($"{service.Name} answered in {Ms(answered)}");
            if (expect.LatencyAbove is { } above && answered <= above) problems.Add($"{service.Name} answered in {Ms(answered)}, not above {Ms(above)}");
            if (expect.LatencyBelow is { } below && answered >= below) problems.Add($"{service.Name} answered in {Ms(answered)}, not below {Ms(below)}");
        }
        return problems.Count == 0
            ? (true, seen.Count > 0 ? string.Join("; ", seen.Take(3)) : services.Count == 1 ? Describe(services[0]) : $"all {services.Count} services as expected")
            : (false, string.Join("; ", problems.Take(5)) + (problems.Count > 5 ? $"; and {problems.Count - 5} more" : ""));
    }

    private static string Describe(ServiceView service) =>
        $"{service.Name} {service.State}{(service.Healthy == true ? ", healthy" : service.Healthy == false ? ", unhealthy" : "")}";

    /// <summary>The median of three round trips: connect, send the probe, time to the first byte back.</summary>
    private static async Task<TimeSpan?> MedianLatencyAsync(int port, string probe)
    {
        var samples = new List<TimeSpan>();
        for (var i = 0; i < 3; i++)
            if (await LatencyAsync(port, probe) is { } sample) samples.Add(sample);
        return samples.Count == 0 ? null : samples.Order().ElementAt(samples.Count / 2);
    }

    public static async Task<TimeSpan?> LatencyAsync(int port, string probe)
    {
        using var timeout = new CancellationTokenSource(ProbeTimeout);
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), timeout.Token);
            var clock = Stopwatch.StartNew();
            await socket.SendAsync(Encoding.ASCII.GetBytes(probe), SocketFlags.None, timeout.Token);
            var read = await socket.ReceiveAsync(new byte[256], SocketFlags.None, timeout.Token);
            return read > 0 ? clock.Elapsed : null;
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            return null;
        }
    }

    /// <param name="drained">Services whose relay has been seen with no connection during this check (kept across polls:
    /// health checks come and go, a connection left half-open never does).</param>
    public static async Task<(bool Ok, string Detail)> CheckAsync(ChaosClient client, CheckStep check, ISet<string> drained)
    {
        var status = await client.StatusAsync();
        var overview = (await client.ListAsync(null)).As<ChaosOverview>();
        if (overview is null) return (false, "the chaos API did not answer");
        var problems = new List<string>();
        if (check.NoOrphans) problems.AddRange(Orphans(overview.Instance, status));
        if (check.NoHalfOpen) problems.AddRange(HalfOpen(overview, status, drained));
        return problems.Count == 0
            ? (true, $"{status.Services.Count} services: {Describe(check)}")
            : (false, string.Join("; ", problems.Take(5)) + (problems.Count > 5 ? $"; and {problems.Count - 5} more" : ""));
    }

    private static string Describe(CheckStep check) =>
        string.Join(", ", new[] { check.NoOrphans ? "no orphaned process" : null, check.NoHalfOpen ? "no half-open forward" : null }.OfType<string>());

    /// <summary>Live processes carrying this supervisor's tag that are not a service's current tunnel, or not its child.</summary>
    private static IEnumerable<string> Orphans(string instance, StatusView status)
    {
        var current = status.Services.Select(s => s.Pid).OfType<int>().ToHashSet();
        foreach (var pid in TaggedProcesses(instance))
        {
            var state = Posix.State(pid);
            if (state is null) continue;
            if (state is 'Z') yield return $"pid {pid} is a zombie nobody reaped";
            else if (!current.Contains(pid)) yield return $"pid {pid} ({Command(pid)}) is ours but no service's tunnel";
            else if (Parent(pid) != status.Pid) yield return $"pid {pid} ({Command(pid)}) is no longer a child of LocalPort (pid {status.Pid})";
        }
    }

    /// <summary>A tunnel left stopped, a paused tunnel never continued, or a relay never seen without a connection.</summary>
    private static IEnumerable<string> HalfOpen(ChaosOverview overview, StatusView status, ISet<string> drained)
    {
        foreach (var service in status.Services.Where(s => s.Pid is not null))
            if (Posix.State(service.Pid!.Value) is 'T' or 't')
                yield return $"{service.Name}: tunnel pid {service.Pid} is stopped";
        foreach (var state in overview.Services)
        {
            if (state.PausedPid is { } pid) yield return $"{state.Service}: tunnel pid {pid} is still paused";
            if (state.ActiveConnections == 0) drained.Add(state.Service);
            if (!drained.Contains(state.Service)) yield return $"{state.Service}: its relay has held {state.ActiveConnections} connection(s) all along";
        }
    }

    public static IReadOnlyList<int> TaggedProcesses(string instance)
    {
        var pids = new List<int>();
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
            if (int.TryParse(Path.GetFileName(directory), out var pid) && Posix.HasEnvironment(pid, ChildProcess.InstanceVariable, instance))
                pids.Add(pid);
        return pids;
    }

    private static int? Parent(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return null;
        }
    }

    private static string Command(int pid)
    {
        try { return File.ReadAllText($"/proc/{pid}/comm").Trim(); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return "?"; }
    }

    private static string Ms(TimeSpan time) => Durations.Format(TimeSpan.FromMilliseconds(Math.Round(time.TotalMilliseconds)));
}
