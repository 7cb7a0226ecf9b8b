using LocalPort.Cli.Common;
using LocalPort.Cli.Commands;
using LocalPort.Control;
using LocalPort.Cli.Daemon;
using LocalPort.Core.Chaos;

namespace LocalPort.Cli.Chaos;

/// <summary>`localport chaos run SCENARIO [--junit FILE]`: load, run against the daemon, report, exit non-zero on any failure.</summary>
public static class ScenarioCommand
{
    public static async Task<int> RunAsync(string path, string? junitPath, OutputFormat format, CancellationToken token)
    {
        var load = ScenarioParser.Load(path);
        foreach (var diagnostic in load.Diagnostics) Console.Error.WriteLine(diagnostic);
        if (!load.Ok) return ExitCodes.UsageOrConfig;
        var scenario = load.Scenario!;

        using var control = DaemonLauncher.Client(DaemonCommands.Paths);
        if (!await control.IsAliveAsync(token))
        {
            Console.Error.WriteLine("not running; start the daemon with `localport daemon start` (or `localport run`) before running a scenario");
            return ExitCodes.DaemonNotRunning;
        }

        var json = format == OutputFormat.Json;
        if (!json) Console.WriteLine($"scenario: {scenario.Name} ({scenario.Steps.Count} steps){(scenario.Description is null ? "" : $" - {scenario.Description}")}");
        var startedAt = DateTimeOffset.Now;
        var runner = new ScenarioRunner(new ChaosClient(control), result => Console.WriteLine(json ? Json(result) : Line(result)));
        IReadOnlyList<StepResult> results;
        try
        {
            results = await runner.RunAsync(scenario, token);
        }
        catch (OperationCanceledException)
        {
            Console.Error.WriteLine("interrupted");
            return ExitCodes.Interrupted;
        }
        catch (HttpRequestException e)
        {
            Console.Error.WriteLine($"error: lost the daemon mid-scenario: {e.Message}");
            return ExitCodes.Failure;
        }

        var failed = results.Count(r => r.Outcome == StepOutcome.Failed);
        var notApplicable = results.Count(r => r.Outcome == StepOutcome.NotApplicable);
        var summary = $"{results.Count - failed - notApplicable} passed, {failed} failed, {notApplicable} not applicable";
        if (json) Console.WriteLine(CliJson.Serialize(new ScenarioSummaryView(scenario.Name, failed == 0, summary)));
        else Console.WriteLine($"{(failed == 0 ? "PASSED" : "FAILED")}: {summary}");
        if (junitPath is not null)
        {
            JUnitReport.Save(JUnitReport.Build(scenario, results, startedAt), junitPath);
            if (!json) Console.WriteLine($"JUnit report: {junitPath}");
        }
        return failed == 0 ? ExitCodes.Ok : ExitCodes.Failure;
    }

    private static string Line(StepResult result)
    {
        var mark = result.Outcome switch { StepOutcome.Passed => "ok  ", StepOutcome.Failed => "FAIL", _ => "n/a " };
        return $"{result.StartedAt.TotalSeconds,7:0.000}s {mark} {JUnitReport.Name(result.Step)} ({result.Duration.TotalSeconds:0.000}s): {result.Detail}";
    }

    private static string Json(StepResult result) => CliJson.Serialize(new ScenarioStepView(
        result.Step.Line,
        result.Step.Describe(),
        result.Outcome switch { StepOutcome.Passed => "passed", StepOutcome.Failed => "failed", _ => "not-applicable" },
        Math.Round(result.StartedAt.TotalSeconds, 3),
        Math.Round(result.Duration.TotalSeconds, 3),
        result.Detail));
}
