using System.CommandLine;
using System.Globalization;
using LocalPort.Cli.Chaos;
using LocalPort.Cli.Common;
using LocalPort.Control;
using LocalPort.Cli.Daemon;
using LocalPort.Core.Relay.Toxics;

namespace LocalPort.Cli.Commands;

/// <summary>`localport chaos add|remove|list|reset|kill|pause|hold|run`: faults injected into a running daemon (or `run`).</summary>
public static class ChaosCommands
{
    private static readonly Argument<string> Service = Completed(new Argument<string>("service") { Description = "Service name", HelpName = "service" });
    private static readonly Argument<string?> AnyService = Completed(new Argument<string?>("service")
    {
        Description = "Service name (all services when left out)", Arity = ArgumentArity.ZeroOrOne, HelpName = "service",
    });

    private static Argument<T> Completed<T>(Argument<T> argument)
    {
        ServiceNames.Complete(argument.CompletionSources);
        return argument;
    }
    private static readonly Argument<string> Type = new("type") { Description = $"Toxic type: {ToxicNames.TypeChoices}" };
    private static readonly Argument<string> ToxicName = new("name") { Description = "Toxic name (see `chaos list`)" };
    private static readonly Argument<string> ScenarioFile = new("scenario") { Description = "Scenario file (YAML), e.g. config/examples/chaos-latency.yaml" };
    private static readonly Option<string?> Name = new("--name") { Description = "Toxic name (default: TYPE_STREAM, e.g. latency_downstream)" };
    private static readonly Option<string?> Stream = new("--stream") { Description = "up (client to service) or down (service to client, the default)" };
    private static readonly Option<string?> Toxicity = new("--toxicity") { Description = "Probability (0-1) that a connection is affected (default 1)" };
    private static readonly Option<string?> Junit = new("--junit") { Description = "Also write the results as JUnit XML to this file" };
    private static readonly Option<int> Count = new("--count")
    {
        Description = "How many connections to open and hold (default 100)",
        DefaultValueFactory = _ => 100,
        CustomParser = r =>
        {
            if (int.TryParse(r.Tokens.Single().Value, out var n) && n is >= 1 and <= 100_000) return n;
            r.AddError($"'{r.Tokens.Single().Value}' is not a connection count; use 1 to 100000");
            return default;
        },
    };
    private static readonly Option<Duration> HoldFor = Duration.Option("--for", "How long the connections are held", TimeSpan.FromSeconds(30));
    private static readonly Option<Duration> For = Duration.Option("--for", "How long the process stays stopped", TimeSpan.FromSeconds(5));

    /// <summary>Attribute options and the toxic attribute each sets.</summary>
    private static readonly (Option<string?> Option, string Attribute)[] Attributes =
    [
        (new("--latency") { Description = "latency: added delay, e.g. 200ms" }, ToxicAttributes.LatencyKey),
        (new("--jitter") { Description = "latency: random extra, ± this much, e.g. 20ms" }, ToxicAttributes.JitterKey),
        (new("--rate") { Description = "bandwidth: kilobytes per second" }, ToxicAttributes.RateKey),
        (new("--timeout") { Description = "timeout: close after this long (0: never); reset_peer: reset after this long" }, ToxicAttributes.TimeoutKey),
        (new("--delay") { Description = "slow_close: how long the close is held back; slicer: pause between slices" }, ToxicAttributes.DelayKey),
        (new("--bytes") { Description = "limit_data: bytes let through before the connection closes" }, ToxicAttributes.BytesKey),
        (new("--size") { Description = "slicer: average slice size in bytes" }, ToxicAttributes.AverageSizeKey),
        (new("--size-variation") { Description = "slicer: slices vary by up to this many bytes" }, ToxicAttributes.SizeVariationKey),
    ];

    public static Command Create()
    {
        var chaos = new Command("chaos", "Inject faults: toxics on a service's relay (Toxiproxy's kinds), kill or pause its tunnel, run scenarios");

        var add = new Command("add", "Add a toxic to a service's relay; it applies at once, without dropping the forward");
        add.Arguments.Add(Service);
        add.Arguments.Add(Type);
        foreach (var option in new[] { Name, Stream, Toxicity }.Concat(Attributes.Select(a => a.Option))) add.Options.Add(option);
        add.SetAction((parse, _) => WithDaemon(parse, client => AddAsync(parse, client)));

        var remove = new Command("remove", "Remove one toxic from a service");
        remove.Arguments.Add(Service);
        remove.Arguments.Add(ToxicName);
        remove.SetAction((parse, _) => WithDaemon(parse, async client =>
            Print(parse, await client.RemoveAsync(parse.GetValue(Service)!, parse.GetValue(ToxicName)!))));

        var list = new Command("list", "Show the toxics of one service or of all");
        list.Arguments.Add(AnyService);
        list.SetAction((parse, _) => WithDaemon(parse, client => ListAsync(parse, client)));

        var reset = new Command("reset", "Remove every toxic of one service or of all");
        reset.Arguments.Add(AnyService);
        reset.SetAction((parse, _) => WithDaemon(parse, async client => Print(parse, await client.ResetAsync(parse.GetValue(AnyService)))));

        var kill = new Command("kill", "SIGKILL the service's tunnel process (ssh, kubectl), as a crash would");
        kill.Arguments.Add(Service);
        kill.SetAction((parse, _) => WithDaemon(parse, async client => Print(parse, await client.KillAsync(parse.GetValue(Service)!))));

        var pause = new Command("pause", "SIGSTOP the service's tunnel process, then SIGCONT it: a half-open hang");
        pause.Arguments.Add(Service);
        pause.Options.Add(For);
        pause.SetAction((parse, _) => WithDaemon(parse, async client =>
            Print(parse, await client.PauseAsync(parse.GetValue(Service)!, parse.GetValue(For).Value))));

        var hold = new Command("hold", "Open silent client connections to the service's port and hold them (file-descriptor exhaustion)");
        hold.Arguments.Add(Service);
        hold.Options.Add(Count);
        hold.Options.Add(HoldFor);
        hold.SetAction((parse, _) => WithDaemon(parse, async client =>
            Print(parse, await client.HoldAsync(parse.GetValue(Service)!, parse.GetValue(Count), parse.GetValue(HoldFor).Value))));

        var run = new Command("run", "Run a scenario: timed faults and expectations; exits 1 if any expectation fails");
        run.Arguments.Add(ScenarioFile);
        run.Options.Add(Junit);
        run.SetAction((parse, token) => ScenarioCommand.RunAsync(parse.GetValue(ScenarioFile)!, parse.GetValue(Junit),
            parse.GetValue(GlobalOptions.Output), token));

        foreach (var command in new[] { add, remove, list, reset, kill, pause, hold, run }) chaos.Subcommands.Add(command);
        return chaos;
    }

    private static async Task<int> WithDaemon(ParseResult parse, Func<ChaosClient, Task<int>> action)
    {
        using var control = DaemonLauncher.Client(DaemonCommands.Paths);
        if (!await control.IsAliveAsync())
        {
            Console.Error.WriteLine("not running; start the daemon with `localport daemon start` (or `localport run`)");
            return ExitCodes.DaemonNotRunning;
        }
        return await action(new ChaosClient(control));
    }

    private static async Task<int> AddAsync(ParseResult parse, ChaosClient client)
    {
        var given = Attributes.Select(a => (a.Option, a.Attribute, Value: parse.GetValue(a.Option)))
            .Where(a => a.Value is not null).ToList();
        var (toxic, problems) = ToxicAttributes.Build(parse.GetValue(Name), parse.GetValue(Type)!, parse.GetValue(Stream),
            parse.GetValue(Toxicity), given.Select(a => new KeyValuePair<string, string>(a.Attribute, a.Value!)));
        foreach (var problem in problems)
        {
            var option = given.FirstOrDefault(a => a.Attribute == problem.Key).Option?.Name
                         ?? (problem.Key is "name" or "stream" or "toxicity" ? $"--{problem.Key}" : problem.Key);
            Console.Error.WriteLine($"{(problem.IsWarning ? "warning" : "error")}: {(option is null ? "" : option + ": ")}{problem.Message}");
        }
        if (toxic is null) return ExitCodes.UsageOrConfig;
        return Print(parse, await client.AddAsync(parse.GetValue(Service)!, ToxicNames.Of(toxic.Type), toxic.Name,
            ToxicNames.Of(toxic.Stream), toxic.Toxicity.ToString("R", CultureInfo.InvariantCulture), ToxicAttributes.Describe(toxic)));
    }

    private static async Task<int> ListAsync(ParseResult parse, ChaosClient client)
    {
        var service = parse.GetValue(AnyService);
        var response = await client.ListAsync(service);
        if (!response.Ok || parse.GetValue(GlobalOptions.Output) == OutputFormat.Json) return Print(parse, response);
        var states = service is null ? response.As<ChaosOverview>()?.Services ?? [] : [response.As<ChaosStateView>()!];
        foreach (var state in states) Console.WriteLine(Describe(state));
        return ExitCodes.Ok;
    }

    /// <summary>`web: 1 toxic, 0 relayed connections` and one indented line per toxic.</summary>
    public static string Describe(ChaosStateView state)
    {
        var lines = new List<string>
        {
            $"{state.Service}: {(state.Toxics.Count == 0 ? "no toxics" : $"{state.Toxics.Count} toxic(s)")}, " +
            $"{state.ActiveConnections} relayed connection(s)" +
            (state.PausedPid is { } pid ? $", tunnel pid {pid} paused until {state.PausedUntil:HH:mm:ss.fff}" : ""),
        };
        lines.AddRange(state.Toxics.Select(t => "  " + Describe(t)));
        return string.Join(Environment.NewLine, lines);
    }

    private static string Describe(ToxicView view)
    {
        var (toxic, _) = ToxicAttributes.Build(view.Name, view.Type, view.Stream, view.Toxicity.ToString("R", CultureInfo.InvariantCulture),
            view.Attributes.Select(a => new KeyValuePair<string, string>(a.Key, a.Value.ToString(CultureInfo.InvariantCulture))));
        return toxic?.ToString() ?? $"{view.Name}: {view.Type} {view.Stream}";
    }

    private static int Print(ParseResult parse, ChaosResponse response)
    {
        if (parse.GetValue(GlobalOptions.Output) == OutputFormat.Json) Console.WriteLine(response.Body);
        else if (response.Ok && response.As<ChaosResultView>() is { State: { } state } result)
            Console.WriteLine($"{result.Service}: {result.Detail}{Environment.NewLine}{Describe(state)}");
        else if (response.Ok && response.As<List<ChaosResultView>>() is { } results)
            foreach (var each in results) Console.WriteLine($"{each.Service}: {each.Detail}");
        else if (response.Ok) Console.WriteLine(response.Message);
        else Console.Error.WriteLine($"{(response.NotApplicable ? "not applicable" : "refused")}: {response.Message}");
        return response.ExitCode;
    }
}
