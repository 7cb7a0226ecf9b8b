using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using LocalPort.Actors.Hosting;
using LocalPort.Cli.Common;
using LocalPort.Cli.Control;
using LocalPort.Cli.Daemon;
using LocalPort.Cli.Running;
using LocalPort.Core;
using LocalPort.Core.Processes;
using Serilog.Events;

namespace LocalPort.Cli.Commands;

/// <summary>`localport daemon start|stop|status|reload|restart [--foreground]`.</summary>
public static class DaemonCommands
{
    private static readonly Option<bool> Foreground = new("--foreground") { Description = "Run the daemon in this terminal" };
    private static readonly Option<bool> Detached = new(DaemonLauncher.DetachedFlag) { Hidden = true };
    private static readonly Option<bool> JsonLogs = new("--log-json") { Description = "Write the daemon log as JSON (one event per line)" };
    private static readonly Option<TimeSpan> Timeout = new("--timeout")
    {
        Description = "How long to wait (e.g. 30s)",
        DefaultValueFactory = _ => TimeSpan.FromSeconds(30),
        CustomParser = r => Core.Config.Durations.TryParse(r.Tokens.Single().Value, out var t) ? t : ParseError(r),
    };

    private static TimeSpan ParseError(System.CommandLine.Parsing.ArgumentResult result)
    {
        result.AddError($"'{result.Tokens.Single().Value}' is not a duration; use e.g. 500ms, 10s, 1m");
        return default;
    }

    public static Command Create()
    {
        var daemon = new Command("daemon", "Run LocalPort in the background and control it");
        var start = new Command("start", "Start the daemon; returns once it serves its control API");
        start.Options.Add(Foreground);
        start.Options.Add(Detached);
        start.Options.Add(JsonLogs);
        start.Options.Add(Timeout);
        start.SetAction((parse, _) => StartAsync(parse));

        var stop = new Command("stop", "Stop the daemon (four-phase shutdown); returns when it has gone");
        stop.Options.Add(Timeout);
        stop.SetAction((parse, _) => StopAsync(parse));

        var status = new Command("status", "Show the daemon: pid, config, services, last reload");
        status.SetAction((parse, _) => StatusAsync(parse));

        var reload = new Command("reload", "Re-read the configuration file and apply the difference");
        reload.SetAction((parse, _) => ReloadAsync(parse));

        var restart = new Command("restart", "Stop the daemon if it runs, then start it");
        restart.Options.Add(Timeout);
        restart.Options.Add(JsonLogs);
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
            var error = await DaemonLauncher.StartDetachedAsync(paths, config.SourcePath!, parse.GetValue(Timeout), parse.GetValue(JsonLogs),
                parse.GetValue(GlobalOptions.TrustConfig));
            if (error is not null)
            {
                Console.Error.WriteLine($"error: {error}");
                return ExitCodes.Failure;
            }
            using var client = DaemonLauncher.Client(paths);
            var status = await client.StatusAsync();
            Console.WriteLine($"started: daemon pid {status.Pid}, {status.Services.Count} service(s), control socket {paths.ControlSocket}");
            return ExitCodes.Ok;
        }

        if (parse.GetValue(Detached)) Posix.Daemonize();
        // Config and state paths are absolute by now; nothing later may depend on (or pin) the caller's directory.
        RootDirectory.Enter();
        var options = new LocalPortOptions(config) { Paths = paths, ConfigPath = config.SourcePath, ConfigLoadOptions = ConfigResolver.LoadOptions(parse) };
        SupervisorHost host;
        try
        {
            host = await SupervisorHost.StartAsync(new SupervisorHostOptions(options, "daemon")
            {
                ConfigPath = config.SourcePath,
                ConsoleLogs = !parse.GetValue(Detached),
                ConsoleLevel = LogEventLevel.Information,
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
            await host.WhenTerminated;
            await host.Report.WaitAsync(TimeSpan.FromSeconds(5));
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
            await client.PostAsync("v1/shutdown");
        } // our connection closes here, so the daemon's web server has nothing to wait for
        var timeout = parse.GetValue(Timeout);
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

    private static async Task<int> StatusAsync(ParseResult parse)
    {
        var paths = Paths;
        using var client = DaemonLauncher.Client(paths);
        if (!await client.IsAliveAsync())
        {
            if (parse.GetValue(GlobalOptions.Output) == OutputFormat.Json)
                Console.WriteLine(ApiJson.Serialize(new { running = false, socket = paths.ControlSocket }));
            else
                Console.Error.WriteLine($"not running (no daemon answers on {paths.ControlSocket}); start it with `localport daemon start`");
            return ExitCodes.DaemonNotRunning;
        }
        var status = await client.StatusAsync();
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

    private static async Task<int> ReloadAsync(ParseResult parse)
    {
        using var client = DaemonLauncher.Client(Paths);
        if (!await client.IsAliveAsync())
        {
            Console.Error.WriteLine("not running; nothing to reload");
            return ExitCodes.DaemonNotRunning;
        }
        var (code, body) = await client.PostAsync("v1/reload");
        var result = JsonSerializer.Deserialize<ReloadView>(body, ApiJson.Options)!;
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
