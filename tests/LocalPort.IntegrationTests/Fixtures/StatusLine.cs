using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace LocalPort.IntegrationTests.Fixtures;

/// <summary>One status line of `localport run` (plain text or `-o json` NDJSON), parsed.</summary>
public sealed partial record StatusLine(string Name, string State, bool? Healthy, int Restarts, int LocalPort, int? Pid, string? LastError, string Raw)
{
    public bool IsRunning => State == "running";

    // 12:16:34.269 demo-web             running     healthy   port=18080 pid=1234 restarts=0 error="..." next_try=12:21:34
    [GeneratedRegex("""^\d\d:\d\d:\d\d\.\d{3} (?<name>\S+) +(?<state>\S+) +(?<health>\S+) +port=(?<port>\d+) pid=(?<pid>\S+) restarts=(?<restarts>\d+)(?: error="(?<error>.*?)")?(?: next_try=\S+)?$""")]
    private static partial Regex TextLine();

    /// <summary>A status line in either format, or null for anything else.</summary>
    public static StatusLine? TryParse(string line)
    {
        if (line.StartsWith('{')) return TryParseJson(line);
        var match = TextLine().Match(line);
        if (!match.Success) return null;
        var pid = match.Groups["pid"].Value;
        return new StatusLine(
            match.Groups["name"].Value,
            match.Groups["state"].Value,
            match.Groups["health"].Value switch { "healthy" => true, "unhealthy" => false, _ => null },
            int.Parse(match.Groups["restarts"].Value, CultureInfo.InvariantCulture),
            int.Parse(match.Groups["port"].Value, CultureInfo.InvariantCulture),
            pid == "-" ? null : int.Parse(pid, CultureInfo.InvariantCulture),
            match.Groups["error"].Success ? match.Groups["error"].Value : null,
            line);
    }

    public static StatusLine? TryParseJson(string line)
    {
        try
        {
            using var document = JsonDocument.Parse(line);
            var root = document.RootElement;
            return new StatusLine(
                root.GetProperty("name").GetString()!,
                root.GetProperty("state").GetString()!,
                root.GetProperty("healthy").ValueKind == JsonValueKind.Null ? null : root.GetProperty("healthy").GetBoolean(),
                root.GetProperty("restarts").GetInt32(),
                root.GetProperty("local_port").GetInt32(),
                root.GetProperty("pid").ValueKind == JsonValueKind.Null ? null : root.GetProperty("pid").GetInt32(),
                root.GetProperty("last_error").ValueKind == JsonValueKind.Null ? null : root.GetProperty("last_error").GetString(),
                line);
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            return null;
        }
    }
}
