using System.CommandLine;
using System.Diagnostics;
using LocalPort.Cli.Common;
using LocalPort.Cli.Control;
using LocalPort.Control;
using LocalPort.Cli.Daemon;
using Spectre.Console;

namespace LocalPort.Cli.Commands;

/// <summary>`localport start|stop|restart [SVC…] [--tag T] [--all]` and `status [SVC…] [--watch]`, via the daemon.</summary>
public static class ServiceCommands
{
    private static readonly Argument<string[]> Services = new("services") { Description = "Service names", Arity = ArgumentArity.ZeroOrMore };
    private static readonly Option<string[]> Tags = new("--tag", "-t") { Description = "Services carrying this tag (repeatable)" };
    private static readonly Option<bool> All = new("--all") { Description = "Every service" };
    private static readonly Option<bool> Watch = new("--watch", "-w") { Description = "Keep updating as services change (server-sent events)" };
    private static readonly Option<TimeSpan> Timeout = new("--timeout")
    {
        Description = "How long `start` waits for the services to be healthy",
        DefaultValueFactory = _ => TimeSpan.FromSeconds(30),
        CustomParser = r =>
        {
            if (Core.Config.Durations.TryParse(r.Tokens.Single().Value, out var t)) return t;
            r.AddError($"'{r.Tokens.Single().Value}' is not a duration; use e.g. 500ms, 10s, 1m");
            return default;
        },
    };

    public static IEnumerable<Command> Create()
    {
        var start = new Command("start", "Start services (and the daemon if needed); waits until they are healthy");
        var stop = new Command("stop", "Stop services; the daemon keeps running");
        var restart = new Command("restart", "Restart services");
        foreach (var command in new[] { start, stop, restart })
        {
            command.Arguments.Add(Services);
            command.Options.Add(Tags);
            command.Options.Add(All);
        }
        start.Options.Add(Timeout);
        start.SetAction((parse, _) => StartAsync(parse));
        stop.SetAction((parse, _) => ActAsync(parse, "stop"));
        restart.SetAction((parse, _) => ActAsync(parse, "restart"));

        var status = new Command("status", "Show services: state, health, restarts, port, pid, last error");
        status.Arguments.Add(Services);
        status.Options.Add(Watch);
        status.SetAction((parse, token) => StatusAsync(parse, token));
        return [start, stop, restart, status];
    }

    private static async Task<IReadOnlyList<string>?> Resolve(ParseResult parse, ControlClient client)
    {
        var names = parse.GetValue(Services) ?? [];
        var tags = parse.GetValue(Tags) ?? [];
        if (names.Length == 0 && tags.Length == 0 && !parse.GetValue(All))
        {
            Console.Error.WriteLine("error: name one or more services, or pass --tag T or --all");
            return null;
        }
        var status = await client.StatusAsync();
        var known = status.Services.Select(s => s.Name).ToHashSet(StringComparer.Ordinal);
        var unknown = names.Where(n => !known.Contains(n)).ToList();
        if (unknown.Count > 0)
        {
            Console.Error.WriteLine($"error: unknown service(s): {string.Join(", ", unknown)}. Known: {string.Join(", ", known.Order())}");
            return null;
        }
        if (names.Length > 0 || parse.GetValue(All)) return parse.GetValue(All) ? known.Order().ToList() : names;
        // Tags are resolved by the daemon's configuration, read from the same file the daemon uses.
        var config = status.Config is null ? null : Core.Config.ConfigLoader.Load(status.Config, ConfigResolver.LoadOptions(parse)).Config;
        var tagged = config?.Services.Where(s => s.Tags.Any(tags.Contains) && known.Contains(s.Name)).Select(s => s.Name).ToList() ?? [];
        if (tagged.Count == 0) Console.Error.WriteLine($"error: no service carries tag(s) {string.Join(", ", tags)}");
        return tagged.Count == 0 ? null : tagged;
    }

    private static async Task<int> ActAsync(ParseResult parse, string action)
    {
        using var client = DaemonLauncher.Client(DaemonCommands.Paths);
        if (!await client.IsAliveAsync())
        {
            Console.Error.WriteLine("not running; start the daemon with `localport daemon start` (or `localport start SVC`)");
            return ExitCodes.DaemonNotRunning;
        }
        var names = await Resolve(parse, client);
        if (names is null) return ExitCodes.UsageOrConfig;
        return await Send(client, names, action);
    }

    private static async Task<int> Send(ControlClient client, IReadOnlyList<string> names, string action)
    {
        var failed = 0;
        foreach (var name in names)
        {
            var (code, body) = await client.PostAsync($"v1/services/{Uri.EscapeDataString(name)}/{action}");
            if (code is >= 200 and < 300) Console.WriteLine($"{name}: {action} requested");
            else
            {
                failed++;
                Console.Error.WriteLine($"{name}: {action} refused: {body}");
            }
        }
        return failed == 0 ? ExitCodes.Ok : failed == names.Count ? ExitCodes.Failure : ExitCodes.PartialFailure;
    }

    private static async Task<int> StartAsync(ParseResult parse)
    {
        var paths = DaemonCommands.Paths;
        using var client = DaemonLauncher.Client(paths);
        if (!await client.IsAliveAsync())
        {
            var configPath = ConfigResolver.Load(parse, Console.Error)?.SourcePath;
            if (configPath is null) return ExitCodes.UsageOrConfig;
            paths.EnsurePrivateDirectories();
            var error = await DaemonLauncher.StartDetachedAsync(paths, configPath, parse.GetValue(Timeout), jsonLogs: false,
                trustConfig: parse.GetValue(GlobalOptions.TrustConfig));
            if (error is not null)
            {
                Console.Error.WriteLine($"error: {error}");
                return ExitCodes.Failure;
            }
            Console.WriteLine("daemon started");
        }
        var names = await Resolve(parse, client);
        if (names is null) return ExitCodes.UsageOrConfig;
        var current = await client.StatusAsync(names);
        var toStart = current.Services.Where(s => s.State is "stopped" or "failed").Select(s => s.Name).ToList();
        if (toStart.Count > 0)
        {
            var sent = await Send(client, toStart, "start");
            if (sent != ExitCodes.Ok) return sent;
        }
        return await WaitHealthy(client, names, parse.GetValue(Timeout));
    }

    private static async Task<int> WaitHealthy(ControlClient client, IReadOnlyList<string> names, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        StatusView status;
        do
        {
            status = await client.StatusAsync(names);
            if (status.Services.All(s => s.Healthy == true || s.State == "disabled")) break;
            await Task.Delay(100);
        } while (clock.Elapsed < timeout);

        var unhealthy = status.Services.Where(s => s.Healthy != true && s.State != "disabled").ToList();
        foreach (var s in status.Services)
            Console.WriteLine($"{s.Name}: {s.State}{(s.Healthy == true ? ", healthy" : "")}{(s.LastError is null || s.Healthy == true ? "" : $" ({s.LastError})")}");
        if (unhealthy.Count == 0) return ExitCodes.Ok;
        Console.Error.WriteLine($"not healthy after {timeout.TotalSeconds:0}s: {string.Join(", ", unhealthy.Select(s => s.Name))}");
        return unhealthy.Count == status.Services.Count ? ExitCodes.Failure : ExitCodes.PartialFailure;
    }

    private static async Task<int> StatusAsync(ParseResult parse, CancellationToken cancellationToken)
    {
        using var client = DaemonLauncher.Client(DaemonCommands.Paths, System.Threading.Timeout.InfiniteTimeSpan);
        if (!await client.IsAliveAsync(cancellationToken))
        {
            if (parse.GetValue(GlobalOptions.Output) == OutputFormat.Json)
                Console.WriteLine(ApiJson.Serialize(new { running = false, services = Array.Empty<object>() }));
            else
                Console.Error.WriteLine("not running; start it with `localport daemon start` or `localport run`");
            return ExitCodes.DaemonNotRunning;
        }
        var names = parse.GetValue(Services) ?? [];
        var format = parse.GetValue(GlobalOptions.Output);
        var status = await client.StatusAsync(names, cancellationToken);
        if (!parse.GetValue(Watch))
        {
            if (format == OutputFormat.Json) Console.WriteLine(ApiJson.Serialize(status));
            else if (format == OutputFormat.Text || Console.IsOutputRedirected) foreach (var s in status.Services) Console.WriteLine(StatusText.Line(s));
            else AnsiConsole.Write(StatusText.Table(status.Services));
            return ExitCodes.Ok;
        }

        var services = status.Services.ToDictionary(s => s.Name);
        var live = format == OutputFormat.Table && !Console.IsOutputRedirected;
        if (!live) foreach (var s in services.Values) Console.WriteLine(format == OutputFormat.Json ? ApiJson.Serialize(s) : StatusText.Line(s));
        try
        {
            if (live)
            {
                await AnsiConsole.Live(StatusText.Table(services.Values)).StartAsync(async context =>
                {
                    await foreach (var view in client.EventsAsync(cancellationToken))
                    {
                        if (names.Length > 0 && !names.Contains(view.Name)) continue;
                        services[view.Name] = view;
                        context.UpdateTarget(StatusText.Table(services.Values));
                    }
                });
            }
            else
            {
                await foreach (var view in client.EventsAsync(cancellationToken))
                    if (names.Length == 0 || names.Contains(view.Name))
                        Console.WriteLine(format == OutputFormat.Json ? ApiJson.Serialize(view) : StatusText.Line(view));
            }
        }
        catch (Exception e) when (e is HttpRequestException or IOException or OperationCanceledException)
        {
        }
        return ExitCodes.Ok;
    }
}
