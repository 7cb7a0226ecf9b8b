using System.CommandLine;
using LocalPort.Cli.Common;
using LocalPort.Cli.Control;
using LocalPort.Control;
using LocalPort.Cli.Daemon;
using Spectre.Console;

namespace LocalPort.Cli.Commands;

/// <summary>`localport status [SVC…] [-w] [-i INTERVAL]`: once, pushed on every change (--watch), or every INTERVAL until Ctrl-C.</summary>
public static class StatusCommand
{
    private static readonly Argument<string[]> Services = ServiceNames.Argument("Service names (default: every service)");
    private static readonly Option<bool> Watch = new("--watch", "-w") { Description = "Keep updating as services change, until Ctrl-C" };
    private static readonly Option<Duration?> Interval = Duration.OptionalOption("--interval",
        "Print the status again every INTERVAL until Ctrl-C (e.g. 1, 2s, 500ms)", "-i");

    public static Command Create()
    {
        var status = new Command("status", "Show services: state, health, restarts, port, pid, last error");
        status.Arguments.Add(Services);
        status.Options.Add(Watch);
        status.Options.Add(Interval);
        status.SetAction((parse, token) => StatusAsync(parse, token));
        return status;
    }

    private static async Task<int> StatusAsync(ParseResult parse, CancellationToken cancellationToken)
    {
        using var client = DaemonLauncher.Client(DaemonCommands.Paths, Timeout.InfiniteTimeSpan);
        var format = parse.GetValue(GlobalOptions.Output);
        var names = parse.GetValue(Services) ?? [];
        if (!await client.IsAliveAsync(cancellationToken))
        {
            // A name the configuration does not know is a mistake whether or not the daemon runs.
            var configured = ServiceNames.Configured(parse);
            var strangers = names.Where(n => !configured.Contains(n)).ToList();
            if (configured.Count == 0 || strangers.Count == 0) return NotRunning(format);
            Console.Error.WriteLine(Hints.Unknown("service", strangers, configured));
            return ExitCodes.UsageOrConfig;
        }
        var status = await client.StatusAsync([], cancellationToken);
        var known = status.Services.Select(s => s.Name).ToList();
        var unknown = names.Where(n => !known.Contains(n)).ToList();
        if (unknown.Count > 0)
        {
            Console.Error.WriteLine(Hints.Unknown("service", unknown, known));
            return ExitCodes.UsageOrConfig;
        }
        var shown = names.Length == 0 ? status.Services : status.Services.Where(s => names.Contains(s.Name)).ToList();
        try
        {
            if (parse.GetValue(Interval) is { } interval) return await RepeatAsync(client, names, format, interval.Value, cancellationToken);
            if (parse.GetValue(Watch)) return await WatchAsync(client, names, shown, format, cancellationToken);
        }
        catch (OperationCanceledException)
        {
            return ExitCodes.Ok;
        }
        if (format == OutputFormat.Json) Console.WriteLine(ApiJson.Serialize(status with { Services = shown }));
        else if (format == OutputFormat.Text || Console.IsOutputRedirected) foreach (var s in shown) Console.WriteLine(StatusViews.Line(s));
        else AnsiConsole.Write(StatusViews.Table(shown));
        return ExitCodes.Ok;
    }

    private static int NotRunning(OutputFormat format)
    {
        if (format == OutputFormat.Json) Console.WriteLine(CliJson.Serialize(new NothingRunningView(false, [])));
        else Console.Error.WriteLine("not running; start it with `localport daemon start` or `localport run`");
        return ExitCodes.DaemonNotRunning;
    }

    /// <summary>
    /// A fresh status every interval: a live table on a terminal; otherwise one frame per interval (JSON: one object per
    /// line; text: the service lines and a blank line). Ends on Ctrl-C, or with exit 3 when the daemon goes away.
    /// </summary>
    private static async Task<int> RepeatAsync(ControlClient client, string[] names, OutputFormat format, TimeSpan interval, CancellationToken token)
    {
        var live = format == OutputFormat.Table && !Console.IsOutputRedirected;
        while (true)
        {
            StatusView status;
            try
            {
                status = await client.StatusAsync(names, token);
            }
            catch (Exception e) when (e is HttpRequestException or IOException)
            {
                Console.Error.WriteLine("the daemon has stopped");
                return ExitCodes.DaemonNotRunning;
            }
            if (live)
            {
                AnsiConsole.Clear();
                AnsiConsole.Write(StatusViews.Table(status.Services));
                AnsiConsole.MarkupLine($"[grey]{DateTime.Now:HH:mm:ss}, every {Core.Config.Durations.Format(interval)}; Ctrl-C to stop[/]");
            }
            else if (format == OutputFormat.Json) Console.WriteLine(ApiJson.Serialize(status));
            else
            {
                foreach (var s in status.Services) Console.WriteLine(StatusViews.Line(s));
                Console.WriteLine();
            }
            await Task.Delay(interval, token);
        }
    }

    /// <summary>Pushed by the daemon (server-sent events) on every change.</summary>
    private static async Task<int> WatchAsync(ControlClient client, string[] names, IReadOnlyList<ServiceView> shown, OutputFormat format,
        CancellationToken token)
    {
        var services = shown.ToDictionary(s => s.Name);
        var live = format == OutputFormat.Table && !Console.IsOutputRedirected;
        if (!live) foreach (var s in services.Values) Console.WriteLine(format == OutputFormat.Json ? ApiJson.Serialize(s) : StatusViews.Line(s));
        try
        {
            if (live)
            {
                await AnsiConsole.Live(StatusViews.Table(services.Values)).StartAsync(async context =>
                {
                    await foreach (var view in client.EventsAsync(token))
                    {
                        if (names.Length > 0 && !names.Contains(view.Name)) continue;
                        services[view.Name] = view;
                        context.UpdateTarget(StatusViews.Table(services.Values));
                    }
                });
            }
            else
            {
                await foreach (var view in client.EventsAsync(token))
                    if (names.Length == 0 || names.Contains(view.Name))
                        Console.WriteLine(format == OutputFormat.Json ? ApiJson.Serialize(view) : StatusViews.Line(view));
            }
        }
        catch (Exception e) when (e is HttpRequestException or IOException)
        {
        }
        return ExitCodes.Ok;
    }
}
