using System.CommandLine;
using LocalPort.Actors.Hosting;
using LocalPort.Cli.Common;
using LocalPort.Cli.Running;
using LocalPort.Core;
using LocalPort.Core.Config;
using Serilog.Events;

namespace LocalPort.Cli.Commands;

/// <summary>`localport run [SVC…] [--tag T]`: the supervisor in the foreground until Ctrl-C/SIGTERM.</summary>
public static class RunCommand
{
    private static readonly Argument<string[]> ServicesArgument = ServiceNames.Argument("Services to run (default: every enabled service)");

    private static readonly Option<string[]> TagOption = new("--tag", "-t")
    {
        Description = "Only services carrying this tag (repeatable)",
        AllowMultipleArgumentsPerToken = false,
    };

    public static Command Create()
    {
        var command = new Command("run", "Run the supervisor in the foreground (Ctrl-C stops every service)");
        command.Arguments.Add(ServicesArgument);
        command.Options.Add(TagOption);
        command.Options.Add(MetricsOption.Option);
        command.SetAction((parse, _) => ExecuteAsync(parse));
        return command;
    }

    private static async Task<int> ExecuteAsync(ParseResult parse)
    {
        var config = ConfigResolver.Load(parse, Console.Error);
        if (config is null) return ExitCodes.UsageOrConfig;
        return await RunAsync(parse, config, parse.GetValue(ServicesArgument) ?? [], parse.GetValue(TagOption) ?? []);
    }

    /// <summary>Picks the services, refusing unknown names; disabled services never start.</summary>
    public static IReadOnlyList<string>? Select(LocalPortConfig config, IReadOnlyCollection<string> names, IReadOnlyCollection<string> tags, TextWriter error)
    {
        if (names.FirstOrDefault(n => n.StartsWith('-')) is { } option)
        {
            error.WriteLine($"error: unknown option {option}; see `localport run --help`");
            return null;
        }
        var known = config.Services.ToDictionary(s => s.Name, StringComparer.Ordinal);
        var unknown = names.Where(n => !known.ContainsKey(n)).ToList();
        if (unknown.Count > 0)
        {
            error.WriteLine(Hints.Unknown("service", unknown, known.Keys));
            return null;
        }
        var chosen = config.Services
            .Where(s => names.Count == 0 || names.Contains(s.Name))
            .Where(s => tags.Count == 0 || s.Tags.Any(tags.Contains))
            .ToList();
        foreach (var disabled in chosen.Where(s => !s.Enabled && names.Contains(s.Name)))
            error.WriteLine($"warning: {disabled.Name} is disabled (enabled: false) and will not start");
        if (!chosen.Any(s => s.Enabled))
        {
            error.WriteLine(tags.Count > 0
                ? $"error: no enabled service carries tag(s) {string.Join(", ", tags)}"
                : "error: no enabled services to run; set `enabled: true` on at least one service");
            return null;
        }
        return chosen.Select(s => s.Name).ToList();
    }

    public static async Task<int> RunAsync(ParseResult parse, LocalPortConfig config, IReadOnlyCollection<string> names,
        IReadOnlyCollection<string> tags, Func<Task>? afterStop = null)
    {
        var selected = Select(config, names, tags, Console.Error);
        if (selected is null) return ExitCodes.UsageOrConfig;
        var (metrics, metricsError) = MetricsOption.Parse(parse);
        if (metricsError is not null)
        {
            Console.Error.WriteLine($"error: {metricsError}");
            return ExitCodes.UsageOrConfig;
        }

        var interactive = !Console.IsOutputRedirected && parse.GetValue(GlobalOptions.Output) == OutputFormat.Table;
        var level = GlobalOptions.ConsoleLevel(parse);
        // Named services stay the selection across reloads; with --tag, services added later with the tag join in.
        var options = new LocalPortOptions(config)
        {
            Services = names.Count > 0 ? selected : null,
            Selection = tags.Count > 0 ? s => s.Tags.Any(tags.Contains) : null,
            Paths = LocalPortPaths.FromEnvironment(),
            ConfigPath = config.SourcePath,
            ConfigLoadOptions = ConfigResolver.LoadOptions(parse),
        };

        var liveEnded = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var progress = new GatedWriter(Console.Error, interactive ? liveEnded.Task : Task.CompletedTask);
        SupervisorHost host;
        try
        {
            host = await SupervisorHost.StartAsync(new SupervisorHostOptions(options, "run")
            {
                Metrics = metrics,
                ConsoleLogs = !interactive,
                ConsoleLevel = level,
                FileLevel = GlobalOptions.RequestedLevel(parse) ?? LogEventLevel.Information,
            });
        }
        catch (AlreadyRunningException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return ExitCodes.Failure;
        }
        await using var _ = host;
        host.ShowShutdownProgress(progress);

        if (interactive)
        {
            await LiveStatus.LiveTableAsync(host.System, host.Root, parse, host.ShutdownStarted);
            liveEnded.TrySetResult();
        }
        else
        {
            await LiveStatus.StreamLinesAsync(host.System, host.Root, parse.GetValue(GlobalOptions.Output), Console.Out, host.Finished);
        }
        // The report, not the actor system's termination: the process exits right after it (SupervisorHost.DisposeAsync).
        await host.Finished;
        var report = await host.Report.WaitAsync(TimeSpan.FromSeconds(5));
        await host.ProgressShownAsync();
        await progress.CompleteAsync();
        Console.Error.WriteLine(report.Clean
            ? $"stopped in {report.Total.TotalMilliseconds:0} ms; nothing left behind (report: {host.ReportPath})."
            : $"stopped in {report.Total.TotalMilliseconds:0} ms; LEFT BEHIND: {string.Join("; ", report.Leftovers)}");
        if (afterStop is not null) await afterStop();
        return ExitCodes.Ok;
    }
}
