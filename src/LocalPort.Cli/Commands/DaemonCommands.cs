using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using LocalPort.Actors.Hosting;
using LocalPort.Cli.Common;
using LocalPort.Control;
using LocalPort.Cli.Daemon;
using LocalPort.Cli.Running;
using LocalPort.Core;
using LocalPort.Core.Processes;
using Serilog.Events;

namespace LocalPort.Cli.Commands;

/// <summary>`localport daemon start|stop|status|reload|restart [--foreground]`.</summary>
public static class DaemonCommands
{
    private static readonly Option<bool> Foreground = new("--foreground", "-f") { Description = "Run the daemon in this terminal" };
    private static readonly Option<bool> Detached = new(DaemonLauncher.DetachedFlag) { Hidden = true };
    private static readonly Option<bool> JsonLogs = new("--log-json") { Description = "Write the daemon log as JSON (one event per line)" };
    private static readonly Option<bool> AutoStart = new("--auto-start") { Description = "Start the configured services with the daemon (the default)" };
    private static readonly Option<bool> NoAutoStart = new("--no-auto-start")
    {
        Description = "Start the daemon only: services stay stopped until `localport start`",
    };
    private static readonly Option<bool> Force = new("--force", "-f")
    {
        Description = "Skip the graceful phases: kill every child at once (force-cleanup), as a second Ctrl-C does",
    };
    private static readonly Option<Duration> Timeout = Duration.Option("--timeout", "How long to wait", TimeSpan.FromSeconds(30));

    public static Command Create()
    {
        var daemon = new Command("daemon", "Run LocalPort in the background and control it");
        var start = new Command("start", "Start the daemon; returns once it serves its control API");
        foreach (var option in new Option[] { Foreground, Detached, JsonLogs, Timeout, AutoStart, NoAutoStart, MetricsOption.Option }) start.Options.Add(option);
        start.SetAction((parse, _) => StartAsync(parse));

        var stop = new Command("stop", "Stop the daemon (four-phase shutdown); returns when it has gone");
        stop.Options.Add(Timeout);
        stop.Options.Add(Force);
        stop.SetAction((parse, _) => StopAsync(parse));

        var status = DaemonStatusCommand.Create();

        var reload = new Command("reload", "Re-read the configuration file and apply the difference");
        reload.SetAction((parse, _) => ReloadAsync(parse));

        var restart = new Command("restart", "Stop the daemon if it runs, then start it");
        foreach (var option in new Option[] { Timeout, JsonLogs, Force, AutoStart, NoAutoStart, MetricsOption.Option }) restart.Options.Add(option);
        restart.SetAction(async (parse, _) =>
        {
            var stopped = await StopAsync(parse, quietIfNotRunning: true);
            return stopped is ExitCodes.Ok or ExitCodes.DaemonNotRunning ? await StartAsync(parse) : stopped;
        });

        foreach (var command in new[] { start, stop, status, reload, restart }) daemon.Subcommands.Add(command);
        foreach (var command in ServiceManagerCommands.Create()) daemon.Subcommands.Add(command);
        return daemon;
    }

    public static LocalPortPaths Paths => LocalPortPaths.FromEnvironment();

    private static async Task<int> StartAsync(ParseResult parse)
    {
        if (parse.GetValue(AutoStart) && parse.GetValue(NoAutoStart))
        {
            Console.Error.WriteLine("error: --auto-start and --no-auto-start contradict each other; pass one");
            return ExitCodes.UsageOrConfig;
        }
        var autoStart = !parse.GetValue(NoAutoStart);
        var (metrics, metricsError) = MetricsOption.Parse(parse);
        if (metricsError is not null)
        {
            Console.Error.WriteLine($"error: {metricsError}");
            return ExitCodes.UsageOrConfig;
        }
        var config = ConfigResolver.Load(parse, Console.Error);
        if (config is null) return ExitCodes.UsageOrConfig;
        var paths = Paths;
        using (var client = DaemonLauncher.Client(paths, TimeSpan.FromSeconds(2)))
        {
            if (await client.IsAliveAsync())
            {
                var running = await client.StatusAsync();
                Console.WriteLine($"already running: {running.Mode} pid {running.Pid} (config {running.Config})");
                return ExitCodes.Ok;
            }
        }

        if (!parse.GetValue(Foreground))
        {
            // The daemon starts from /, so it must inherit no path relative to here.
            RootDirectory.AbsolutizeEnvironment();
            // Refused here, with exit 2, rather than by the detached daemon after the launch.
            paths.EnsurePrivateDirectories();
            var error = await DaemonLauncher.StartDetachedAsync(paths, config.SourcePath!, parse.GetValue(Timeout).Value, parse.GetValue(JsonLogs),
                parse.GetValue(GlobalOptions.TrustConfig), GlobalOptions.RequestedLevel(parse), autoStart, metrics);
            if (error is not null)
            {
                Console.Error.WriteLine($"error: {error}");
                return ExitCodes.Failure;
            }
            using var client = DaemonLauncher.Client(paths);
            var status = await client.StatusAsync();
            Console.WriteLine($"started: daemon pid {status.Pid}, {status.Services.Count} service(s){(autoStart ? "" : " (not started: --no-auto-start)")}, " +
                              $"control socket {paths.ControlSocket}");
            return ExitCodes.Ok;
        }

        if (parse.GetValue(Detached)) Posix.Daemonize();
        // Config and state paths are absolute by now; nothing later may depend on (or pin) the caller's directory.
        RootDirectory.Enter();
        var options = new LocalPortOptions(config)
        {
            Paths = paths, ConfigPath = config.SourcePath, ConfigLoadOptions = ConfigResolver.LoadOptions(parse), AutoStart = autoStart,
        };
        SupervisorHost host;
        try
        {
            host = await SupervisorHost.StartAsync(new SupervisorHostOptions(options, "daemon")
            {
                Metrics = metrics,
                ConsoleLogs = !parse.GetValue(Detached),
                ConsoleLevel = GlobalOptions.RequestedLevel(parse) ?? LogEventLevel.Information,
                FileLevel = GlobalOptions.RequestedLevel(parse) ?? LogEventLevel.Information,
                JsonLogs = parse.GetValue(JsonLogs),
            });
        }
        catch (AlreadyRunningException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return ExitCodes.Failure;
        }
        await using (host)
        {
            var progress = new GatedWriter(Console.Error, Task.CompletedTask);
            if (!parse.GetValue(Detached)) host.ShowShutdownProgress(progress);
            await host.Finished;
            await host.Report.WaitAsync(TimeSpan.FromSeconds(5));
            await host.ProgressShownAsync();
            await progress.CompleteAsync();
        }
        return ExitCodes.Ok;
    }

    private static Task<int> StopAsync(ParseResult parse) => StopAsync(parse, quietIfNotRunning: false);

    private static async Task<int> StopAsync(ParseResult parse, bool quietIfNotRunning)
    {
        var paths = Paths;
        StatusView status;
        long? startTicks;
        using (var client = DaemonLauncher.Client(paths))
        {
            if (!await client.IsAliveAsync())
            {
                if (!quietIfNotRunning) Console.Error.WriteLine($"not running (no daemon answers on {paths.ControlSocket})");
                return ExitCodes.DaemonNotRunning;
            }
            status = await client.StatusAsync();
            // Identified while it still answers, so a pid reused after its exit is never waited on (nor touched).
            startTicks = DaemonStartTicks(paths, status.Pid);
            await client.PostAsync(parse.GetValue(Force) ? "v1/shutdown?force=true" : "v1/shutdown");
        } // our connection closes here, so the daemon's web server has nothing to wait for
        var timeout = parse.GetValue(Timeout).Value;
        var clock = Stopwatch.StartNew();
        // Until the whole process has gone (its last thread, and with it the instance lock), not just its main thread.
        while (Posix.IsAlive(status.Pid, startTicks))
        {
            if (clock.Elapsed > timeout)
            {
                Console.Error.WriteLine($"error: the daemon (pid {status.Pid}) is still running {timeout.TotalSeconds:0}s after it was asked to stop; " +
                                        $"it was not killed. See {paths.DaemonLog}");
                return ExitCodes.Failure;
            }
            await Task.Delay(10);
        }
        var reportPath = Path.Combine(paths.StateDirectory, "last-shutdown.json");
        var summary = File.Exists(reportPath) ? Summarise(File.ReadAllText(reportPath)) : "";
        Console.WriteLine($"stopped: daemon pid {status.Pid} in {clock.Elapsed.TotalMilliseconds:0} ms{summary}");
        return ExitCodes.Ok;
    }

    /// <summary>
    /// The start time of the daemon answering on our socket: the one it wrote in its pid file when that file names
    /// the same pid (its own word, so a stranger is never mistaken for it), else read from /proc now.
    /// </summary>
    private static long? DaemonStartTicks(LocalPortPaths paths, int pid)
    {
        try
        {
            var fields = File.ReadAllText(paths.PidFile).Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (fields.Length == 2 && int.TryParse(fields[0], out var filePid) && filePid == pid && long.TryParse(fields[1], out var ticks))
                return ticks;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
        return Posix.StartTicks(pid);
    }

    private static string Summarise(string reportJson)
    {
        using var report = JsonDocument.Parse(reportJson);
        var phases = report.RootElement.GetProperty("phases").EnumerateArray()
            .Select(p => $"{p.GetProperty("phase").GetString()!.Replace("localport-", "")} {p.GetProperty("duration").GetDouble():0} ms");
        var leftovers = report.RootElement.GetProperty("leftovers").GetArrayLength();
        return $" ({string.Join(", ", phases)}; {(leftovers == 0 ? "nothing left behind" : $"{leftovers} LEFT BEHIND")})";
    }

    private static async Task<int> ReloadAsync(ParseResult parse)
    {
        using var client = DaemonLauncher.Client(Paths);
        if (!await client.IsAliveAsync())
        {
            Console.Error.WriteLine("not running; nothing to reload");
            return ExitCodes.DaemonNotRunning;
        }
        var (code, body) = await client.PostAsync("v1/reload");
        var result = ApiJson.Deserialize<ReloadView>(body)!;
        if (parse.GetValue(GlobalOptions.Output) == OutputFormat.Json)
        {
            Console.WriteLine(body);
        }
        else if (!result.Ok)
        {
            Console.Error.WriteLine($"reload refused; the running configuration is unchanged:{Environment.NewLine}{result.Error}");
        }
        else
        {
            static string List(IReadOnlyList<string>? names) => names is { Count: > 0 } ? string.Join(", ", names) : "-";
            Console.WriteLine($"reloaded: added {List(result.Added)}; removed {List(result.Removed)}; " +
                              $"restarted {List(result.Restarted)}; updated in place {List(result.UpdatedInPlace)}");
        }
        return code == 200 ? ExitCodes.Ok : ExitCodes.UsageOrConfig;
    }
}
