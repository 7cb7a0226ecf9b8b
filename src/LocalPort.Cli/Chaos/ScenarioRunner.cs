using System.Diagnostics;
using LocalPort.Control;
using LocalPort.Core.Chaos;
using LocalPort.Core.Config;
using LocalPort.Core.Relay.Toxics;

namespace LocalPort.Cli.Chaos;

public enum StepOutcome { Passed, Failed, NotApplicable }

/// <summary>How one step went: when it started (since the scenario began), how long it took, and why.</summary>
public sealed record StepResult(ScenarioStep Step, StepOutcome Outcome, TimeSpan StartedAt, TimeSpan Duration, string Detail);

/// <summary>
/// Runs a scenario's steps in order against a running LocalPort: each waits for its time, acts through the
/// chaos API or polls until its expectation holds (bounded by its <c>within</c>), and is reported as it ends.
/// </summary>
public sealed class ScenarioRunner(ChaosClient client, Action<StepResult> report)
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(100);

    public async Task<IReadOnlyList<StepResult>> RunAsync(Scenario scenario, CancellationToken token)
    {
        var results = new List<StepResult>();
        var clock = Stopwatch.StartNew();
        foreach (var step in scenario.Steps)
        {
            if (step.Timing.At is { } at && at > clock.Elapsed) await Task.Delay(at - clock.Elapsed, token);
            else if (step.Timing.After is { } after) await Task.Delay(after, token);
            var started = clock.Elapsed;
            var (outcome, detail) = await ExecuteAsync(step, token);
            var result = new StepResult(step, outcome, started, clock.Elapsed - started, detail);
            results.Add(result);
            report(result);
        }
        return results;
    }

    private async Task<(StepOutcome, string)> ExecuteAsync(ScenarioStep step, CancellationToken token)
    {
        switch (step)
        {
            case AddToxicStep add:
                return Outcome(await client.AddAsync(add.Service, ToxicNames.Of(add.Toxic.Type), add.Toxic.Name, ToxicNames.Of(add.Toxic.Stream),
                    add.Toxic.Toxicity.ToString("R", System.Globalization.CultureInfo.InvariantCulture), ToxicAttributes.Describe(add.Toxic)));
            case RemoveToxicStep remove:
                return Outcome(await client.RemoveAsync(remove.Service, remove.Name));
            case ResetStep reset:
                return Outcome(await client.ResetAsync(reset.Service));
            case KillStep kill:
                return Outcome(await client.KillAsync(kill.Service));
            case PauseStep pause:
                return Outcome(await client.PauseAsync(pause.Service, pause.Duration));
            case WaitStep wait:
                await Task.Delay(wait.Duration, token);
                return (StepOutcome.Passed, $"waited {Durations.Format(wait.Duration)}");
            case ExpectStep expect:
                return await PollAsync(expect.Within, () => ScenarioChecks.ExpectAsync(client, expect), token);
            case CheckStep check:
                var drained = new HashSet<string>(StringComparer.Ordinal);
                return await PollAsync(check.Within, () => ScenarioChecks.CheckAsync(client, check, drained), token);
            case RandomFaultsStep storm:
                return await StormAsync(storm, token);
            default:
                return (StepOutcome.Failed, $"unknown step {step.GetType().Name}");
        }
    }

    private static (StepOutcome, string) Outcome(ChaosResponse response) =>
        (response.Ok ? StepOutcome.Passed : response.NotApplicable ? StepOutcome.NotApplicable : StepOutcome.Failed, response.Message);

    /// <summary>Checks until the condition holds or <paramref name="within"/> has passed; a failure says what was seen last.</summary>
    private static async Task<(StepOutcome, string)> PollAsync(TimeSpan within, Func<Task<(bool Ok, string Detail)>> condition, CancellationToken token)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var (ok, detail) = await condition();
            if (ok) return (StepOutcome.Passed, $"{detail} after {clock.Elapsed.TotalSeconds:0.00}s");
            if (clock.Elapsed >= within) return (StepOutcome.Failed, $"not within {Durations.Format(within)}: {detail}");
            await Task.Delay(PollInterval, token);
        }
    }

    /// <summary>Every <c>every</c>, a kill or pause on a random running service that has a tunnel process.</summary>
    private async Task<(StepOutcome, string)> StormAsync(RandomFaultsStep storm, CancellationToken token)
    {
        var random = storm.Seed is { } seed ? new Random(seed) : new Random();
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        var errors = new List<string>();
        var clock = Stopwatch.StartNew();
        for (var tick = 0; clock.Elapsed < storm.For; tick++)
        {
            var due = storm.Every * tick;
            if (due > clock.Elapsed) await Task.Delay(due - clock.Elapsed, token);
            if (clock.Elapsed >= storm.For) break;
            var status = await client.StatusAsync(token);
            var targets = status.Services
                .Where(s => s is { Technology: not "tcp", State: "running", Pid: not null } && storm.Services.Any(p => ScenarioChecks.Matches(p, s.Name)))
                .ToList();
            if (targets.Count == 0)
            {
                Count(counts, "no target");
                continue;
            }
            var target = targets[random.Next(targets.Count)].Name;
            var action = storm.Actions[random.Next(storm.Actions.Count)];
            var pause = storm.PauseMin + (storm.PauseMax - storm.PauseMin) * random.NextDouble();
            var response = action == "kill" ? await client.KillAsync(target) : await client.PauseAsync(target, pause);
            Count(counts, response.Ok ? action : $"{action} not applicable");
            if (!response.Ok && !response.NotApplicable && errors.Count < 5) errors.Add($"{action} {target}: {response.Message}");
        }
        var summary = string.Join(", ", counts.OrderBy(c => c.Key).Select(c => $"{c.Value} {c.Key}"));
        if (errors.Count > 0) return (StepOutcome.Failed, $"{summary}; refused: {string.Join("; ", errors)}");
        return counts.ContainsKey("kill") || counts.ContainsKey("pause")
            ? (StepOutcome.Passed, summary)
            : (StepOutcome.Failed, $"no running service with a tunnel process matched {string.Join(", ", storm.Services)} ({summary})");
    }

    private static void Count(Dictionary<string, int> counts, string key) => counts[key] = counts.GetValueOrDefault(key) + 1;
}
