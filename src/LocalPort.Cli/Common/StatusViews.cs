using LocalPort.Control;
using Spectre.Console;

namespace LocalPort.Cli.Common;

/// <summary>One service as a text line or a table row: the one rendering `status` and `run` use in every mode.</summary>
public static class StatusViews
{
    // demo-web             running     healthy   port=18080 pid=1234 restarts=0 error="..." next_try=12:21:34
    public static string Line(ServiceView s) =>
        $"{s.Name,-20} {s.State,-11} {(s.Healthy switch { true => "healthy", false => "unhealthy", _ => "-" }),-9} " +
        $"port={s.LocalPort} pid={s.Pid?.ToString() ?? "-"} restarts={s.Restarts}" +
        (s.LastError is null || s.Healthy == true ? "" : $" error=\"{s.LastError}\"") +
        (s.NextAttempt is { } next ? $" next_try={next.ToLocalTime():HH:mm:ss}" : "");

    /// <summary>A line for a log of changes (`run` piped): the time it was written, then <see cref="Line"/>.</summary>
    public static string TimedLine(ServiceView s) => $"{DateTimeOffset.Now:HH:mm:ss.fff} {Line(s)}";

    /// <summary>Spectre's types only here (and in the signature), so a piped `run` never loads Spectre.Console.</summary>
    public static Table Table(IEnumerable<ServiceView> services)
    {
        var table = new Table().Border(TableBorder.Rounded).AddColumns("Service", "Tech", "Port", "State", "Health", "PID", "Restarts", "Last error");
        foreach (var s in services.OrderBy(s => s.Name, StringComparer.Ordinal))
        {
            var colour = s.State switch { "running" => "green", "failed" => "red", "backing-off" or "waiting-for-cluster" => "yellow", "stopped" or "disabled" => "grey", _ => "blue" };
            var next = s.NextAttempt is { } at ? $" [grey](next try {at.ToLocalTime():HH:mm:ss})[/]" : "";
            table.AddRow(Markup.Escape(s.Name), s.Technology, s.LocalPort.ToString(), $"[{colour}]{s.State}[/]{next}",
                s.Healthy switch { true => "[green]healthy[/]", false => "[red]unhealthy[/]", _ => "[grey]-[/]" },
                // A past error is history once the service is running and not unhealthy: JSON keeps it, the table does not.
                s.Pid?.ToString() ?? "-", s.Restarts.ToString(), Markup.Escape(s.State == "running" && s.Healthy != false ? "" : s.LastError ?? ""));
        }
        return table;
    }
}
