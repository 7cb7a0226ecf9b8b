using System.CommandLine;
using System.Diagnostics;
using LocalPort.Cli.Common;
using LocalPort.Cli.Control;
using LocalPort.Control;
using LocalPort.Cli.Daemon;

namespace LocalPort.Cli.Commands;

/// <summary>`localport start|stop|restart [SVC…] [-t TAG] [-a] [-f]`, via the daemon (`status` is <see cref="StatusCommand"/>).</summary>
public static class ServiceCommands
{
    private static readonly Argument<string[]> Services = ServiceNames.Argument("Service names");
    private static readonly Option<string[]> Tags = new("--tag", "-t") { Description = "Services carrying this tag (repeatable)" };
    private static readonly Option<bool> All = new("--all", "-a") { Description = "Every service" };
    private static readonly Option<bool> ForceStart = new("--force", "-f") { Description = "Restart services that are already running" };
    private static readonly Option<bool> ForceStop = new("--force", "-f") { Description = "Kill at once (SIGKILL) instead of SIGTERM and a 2s grace" };
    private static readonly Option<Duration> Timeout = Duration.Option("--timeout", "How long `start` waits for the services to be healthy",
        TimeSpan.FromSeconds(30));

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
        start.Options.Add(ForceStart);
        start.Options.Add(Timeout);
        stop.Options.Add(ForceStop);
        start.SetAction((parse, _) => StartAsync(parse));
        stop.SetAction((parse, _) => ActAsync(parse, parse.GetValue(ForceStop) ? "stop?force=true" : "stop"));
        restart.SetAction((parse, _) => ActAsync(parse, "restart"));
        return [start, stop, restart, StatusCommand.Create()];
    }

    /// <summary>The names to act on, or null (after saying why) when the selection is empty or names an unknown service.</summary>
    private static IReadOnlyList<string>? Select(ParseResult parse, IReadOnlyCollection<string> known, Func<string, IReadOnlyList<string>> tagged)
    {
        var names = parse.GetValue(Services) ?? [];
        var tags = parse.GetValue(Tags) ?? [];
        var all = parse.GetValue(All);
        if (names.Length == 0 && tags.Length == 0 && !all)
        {
            Console.Error.WriteLine("error: name one or more services, or pass --tag T or --all (-a)");
            return null;
        }
        var unknown = names.Where(n => !known.Contains(n)).ToList();
        if (unknown.Count > 0)
        {
            Console.Error.WriteLine(Hints.Unknown("service", unknown, known));
            return null;
        }
        if (all) return known.Order(StringComparer.Ordinal).ToList();
        if (names.Length > 0) return names;
        var matching = tags.SelectMany(tagged).Distinct().Order(StringComparer.Ordinal).ToList();
        if (matching.Count == 0) Console.Error.WriteLine($"error: no service carries tag(s) {string.Join(", ", tags)}");
        return matching.Count == 0 ? null : matching;
    }

    private static async Task<IReadOnlyList<string>?> Resolve(ParseResult parse, ControlClient client)
    {
        var status = await client.StatusAsync();
        var known = status.Services.Select(s => s.Name).ToHashSet(StringComparer.Ordinal);
        // Tags are resolved by the daemon's configuration, read from the same file the daemon uses.
        var config = status.Config is null ? null : Core.Config.ConfigLoader.Load(status.Config, ConfigResolver.LoadOptions(parse)).Config;
        return Select(parse, known, tag => config?.Services.Where(s => s.Tags.Contains(tag) && known.Contains(s.Name)).Select(s => s.Name).ToList() ?? []);
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
        var verb = action.Split('?')[0];
        foreach (var name in names)
        {
            var (code, body) = await client.PostAsync($"v1/services/{Uri.EscapeDataString(name)}/{action}");
            if (code is >= 200 and < 300) Console.WriteLine($"{name}: {verb} requested");
            else
            {
                failed++;
                Console.Error.WriteLine($"{name}: {verb} refused: {body}");
            }
        }
        return failed == 0 ? ExitCodes.Ok : failed == names.Count ? ExitCodes.Failure : ExitCodes.PartialFailure;
    }

    private static async Task<int> StartAsync(ParseResult parse)
    {
        var paths = DaemonCommands.Paths;
        var timeout = parse.GetValue(Timeout).Value;
        using var client = DaemonLauncher.Client(paths);
        if (!await client.IsAliveAsync())
        {
            var config = ConfigResolver.Load(parse, Console.Error);
            if (config is null) return ExitCodes.UsageOrConfig;
            // Checked before the daemon starts: a mistyped name must not leave a daemon behind.
            var known = config.Services.Select(s => s.Name).ToHashSet(StringComparer.Ordinal);
            if (Select(parse, known, tag => config.Services.Where(s => s.Tags.Contains(tag)).Select(s => s.Name).ToList()) is null)
                return ExitCodes.UsageOrConfig;
            paths.EnsurePrivateDirectories();
            var error = await DaemonLauncher.StartDetachedAsync(paths, config.SourcePath!, timeout, jsonLogs: false,
                parse.GetValue(GlobalOptions.TrustConfig), GlobalOptions.RequestedLevel(parse));
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
        var toRestart = parse.GetValue(ForceStart)
            ? current.Services.Where(s => s.State is not ("stopped" or "failed" or "disabled")).Select(s => s.Name).ToList()
            : [];
        foreach (var (batch, action) in new[] { (toStart, "start"), (toRestart, "restart") })
        {
            if (batch.Count == 0) continue;
            var sent = await Send(client, batch, action);
            if (sent != ExitCodes.Ok) return sent;
        }
        return await WaitHealthy(client, names, timeout);
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
        Console.Error.WriteLine($"not healthy after {Core.Config.Durations.Format(timeout)}: {string.Join(", ", unhealthy.Select(s => s.Name))}");
        return unhealthy.Count == status.Services.Count ? ExitCodes.Failure : ExitCodes.PartialFailure;
    }
}
