using LocalPort.Control;
using Spectre.Console;

namespace LocalPort.Cli.Common;

/// <summary>Services as people read them, one rendering for `run` and `status` alike: a line each, or a table.</summary>
public static class StatusText
{
    // demo-web             running     healthy   port=18080 pid=1234 restarts=0 error="..." next_try=12:21:34
    public static string Line(ServiceView s) =>
        $"{s.Name,-20} {s.State,-11} {Health(s.Healthy),-9} " +
        $"port={s.LocalPort} pid={s.Pid?.ToString() ?? "-"} restarts={s.Restarts}" +
        (s.LastError is null || s.State == "running" && s.Healthy == true ? "" : $" error=\"{s.LastError}\"") +
        (s.NextAttempt is { } next ? $" next_try={next.ToLocalTime():HH:mm:ss}" : "");

    /// <summary>A line for a log of changes: the time it was written, then <see cref="Line"/>.</summary>
    public static string TimedLine(ServiceView s) => $"{DateTimeOffset.Now:HH:mm:ss.fff} {Line(s)}";

    /// <summary>Its own method (and Spectre's types only here), so a piped `run` never loads Spectre.Console.</summary>
    public static Table Table(IEnumerable<ServiceView> services)
    {
        var table = new Table().Border(TableBorder.Rounded).AddColumns("Service", "Tech", "Port", "State", "Health", "PID", "Restarts", "Last error");
        foreach (var s in services.OrderBy(s => s.Name, StringComparer.Ordinal))
        {
            var colour = s.State switch
            {
                "running" => "green", "failed" => "red", "backing-off" or "waiting-for-cluster" => "yellow", "stopped" or "disabled" => "grey", _ => "blue",
            };
            var next = s.NextAttempt is { } at ? $" [grey](next try {at.ToLocalTime():HH:mm:ss})[/]" : "";
            var healthColour = s.Healthy switch { true => "green", false => "red", null => "grey" };
            table.AddRow(Markup.Escape(s.Name), s.Technology, s.LocalPort.ToString(), $"[{colour}]{s.State}[/]{next}",
                $"[{healthColour}]{Health(s.Healthy)}[/]", s.Pid?.ToString() ?? "-", s.Restarts.ToString(), Markup.Escape(s.LastError ?? ""));
        }
        return table;
    }

    private static string Health(bool? healthy) => healthy switch { true => "healthy", false => "unhealthy", null => "-" };
}
