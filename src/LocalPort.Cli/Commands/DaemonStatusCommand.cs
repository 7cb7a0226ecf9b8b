using System.CommandLine;
using LocalPort.Cli.Common;
using LocalPort.Cli.Control;
using LocalPort.Control;
using LocalPort.Cli.Daemon;

namespace LocalPort.Cli.Commands;

/// <summary>`localport daemon status [-w] [-i INTERVAL]`: pid, config, services, last reload; once or every interval.</summary>
public static class DaemonStatusCommand
{
    private static readonly Option<bool> Watch = new("--watch", "-w") { Description = "Show it again every interval (5s unless -i) until Ctrl-C" };
    private static readonly Option<Duration?> Interval = Duration.OptionalOption("--interval", "How often --watch refreshes (implies --watch)", "-i");

    public static Command Create()
    {
        var status = new Command("status", "Show the daemon: pid, config, services, last reload");
        status.Options.Add(Watch);
        status.Options.Add(Interval);
        status.SetAction(async (parse, token) =>
        {
            var interval = parse.GetValue(Interval)?.Value ?? (parse.GetValue(Watch) ? TimeSpan.FromSeconds(5) : (TimeSpan?)null);
            if (interval is null) return await ShowAsync(parse, token);
            // Watching: a daemon that stops (or starts) is shown as such; only Ctrl-C ends it.
            try
            {
                while (true)
                {
                    await ShowAsync(parse, token);
                    if (parse.GetValue(GlobalOptions.Output) != OutputFormat.Json) Console.WriteLine();
                    await Task.Delay(interval.Value, token);
                }
            }
            catch (OperationCanceledException)
            {
                return ExitCodes.Ok;
            }
        });
        return status;
    }

    private static async Task<int> ShowAsync(ParseResult parse, CancellationToken token)
    {
        var paths = DaemonCommands.Paths;
        using var client = DaemonLauncher.Client(paths);
        if (!await client.IsAliveAsync(token))
        {
            if (parse.GetValue(GlobalOptions.Output) == OutputFormat.Json)
                Console.WriteLine(CliJson.Serialize(new DaemonDownView(false, paths.ControlSocket)));
            else
                Console.Error.WriteLine($"not running (no daemon answers on {paths.ControlSocket}); start it with `localport daemon start`");
            return ExitCodes.DaemonNotRunning;
        }
        var status = await client.StatusAsync(cancellationToken: token);
        if (parse.GetValue(GlobalOptions.Output) == OutputFormat.Json)
        {
            Console.WriteLine(ApiJson.Serialize(status));
            return ExitCodes.Ok;
        }
        Console.WriteLine($"running: {status.Mode} pid {status.Pid} since {status.StartedAt:yyyy-MM-dd HH:mm:ss}");
        Console.WriteLine($"config:  {status.Config ?? "-"}");
        Console.WriteLine($"socket:  {paths.ControlSocket}");
        Console.WriteLine($"services: {status.Services.Count} ({status.Services.Count(s => s.State == "running")} running, " +
                          $"{status.Services.Count(s => s.Healthy == true)} healthy, {status.Services.Count(s => s.State == "failed")} failed)");
        Console.WriteLine(status.LastReload is null
            ? "last reload: none"
            : $"last reload: {(status.LastReload.Ok ? "ok" : "FAILED")} at {status.LastReload.At:HH:mm:ss}" +
              (status.LastReload.Error is null ? "" : $"{Environment.NewLine}{status.LastReload.Error}"));
        return ExitCodes.Ok;
    }
}
