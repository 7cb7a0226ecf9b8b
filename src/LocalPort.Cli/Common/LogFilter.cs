using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using LocalPort.Core.Config;
using Serilog.Events;

namespace LocalPort.Cli.Common;

/// <summary>
/// Which log lines `logs` prints: --grep (case-insensitive, as upstream), --level, --since, --until. A line carries a
/// time and level when it is a daemon log line (text or JSON) or a service log header (`==== TIME …`); the lines that
/// follow one (a child's output, an exception) are judged with it.
/// </summary>
public sealed partial class LogFilter(Regex? grep, LogEventLevel? level, DateTimeOffset? since, DateTimeOffset? until)
{
    private DateTimeOffset? _time;
    private LogEventLevel? _level;

    public bool FiltersByTime => since is not null || until is not null;

    public bool Accept(string line)
    {
        var (time, lineLevel) = Read(line);
        if (time is not null) _time = time;
        if (lineLevel is not null || time is not null) _level = lineLevel;
        if (grep is not null && !grep.IsMatch(line)) return false;
        if (level is { } minimum && (_level ?? LogEventLevel.Information) < minimum) return false;
        if (since is { } from && (_time is null || _time < from)) return false;
        if (until is { } to && (_time is null || _time > to)) return false;
        return true;
    }

    /// <summary>Serilog's text line ("2025-01-02 10:00:00.000 +01:00 [INF] …"), its compact JSON, or a service log header.</summary>
    public static (DateTimeOffset? Time, LogEventLevel? Level) Read(string line)
    {
        if (line.StartsWith('{')) return ReadJson(line);
        var header = ServiceHeader().Match(line);
        if (header.Success)
            return (DateTimeOffset.TryParse(header.Groups[1].Value, CultureInfo.InvariantCulture, DateTimeStyles.None, out var at) ? at : null,
                LogEventLevel.Information);
        var text = DaemonLine().Match(line);
        if (!text.Success) return (null, null);
        DateTimeOffset? time = DateTimeOffset.TryParse(text.Groups[1].Value, CultureInfo.InvariantCulture, DateTimeStyles.None, out var t) ? t : null;
        return (time, LogLevels.TryParse(text.Groups[2].Value, out var l) ? l : null);
    }

    private static (DateTimeOffset?, LogEventLevel?) ReadJson(string line)
    {
        try
        {
            using var json = JsonDocument.Parse(line);
            var root = json.RootElement;
            DateTimeOffset? time = root.TryGetProperty("@t", out var t) && t.TryGetDateTimeOffset(out var at) ? at : null;
            // Compact JSON leaves @l out for Information.
            var level = root.TryGetProperty("@l", out var l) && Enum.TryParse<LogEventLevel>(l.GetString(), out var parsed) ? parsed : LogEventLevel.Information;
            return (time, time is null ? null : level);
        }
        catch (JsonException)
        {
            return (null, null);
        }
    }

    /// <summary>`1h`, `30m`, `90s` ago (a bare number is seconds), or a date and time (`2025-01-02 10:00`, ISO 8601, `10:00` today).</summary>
    public static bool TryParseTime(string text, DateTimeOffset now, out DateTimeOffset time)
    {
        if (Durations.TryParse(text, out var ago))
        {
            time = now - ago;
            return true;
        }
        return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeLocal, out time);
    }

    [GeneratedRegex(@"^==== (\S+) ")]
    private static partial Regex ServiceHeader();

    [GeneratedRegex(@"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)? [+-]\d\d:\d\d) \[([A-Z]{3})\]")]
    private static partial Regex DaemonLine();
}
