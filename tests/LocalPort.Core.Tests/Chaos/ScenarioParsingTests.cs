using System.Runtime.CompilerServices;
using LocalPort.Core.Chaos;
using LocalPort.Core.Config;

namespace LocalPort.Core.Tests.Chaos;

public sealed class ScenarioParsingTests
{
    private static ScenarioLoadResult Parse(string yaml, IReadOnlyDictionary<string, string>? env = null) =>
        ScenarioParser.Parse(yaml, "scenario.yaml", new LoadOptions { GetEnv = name => env?.GetValueOrDefault(name) });

    private static Scenario Valid(string yaml, IReadOnlyDictionary<string, string>? env = null)
    {
        var result = Parse(yaml, env);
        Assert.True(result.Ok, string.Join("\n", result.Diagnostics));
        return result.Scenario!;
    }

    private static ConfigDiagnostic Error(string yaml, string text) =>
        Assert.Single(Parse(yaml).Diagnostics, d => d.Severity == Severity.Error && d.Message.Contains(text, StringComparison.Ordinal));

    [Fact]
    public void Every_kind_of_step_is_read_with_its_timing()
    {
        var scenario = Valid("""
            name: everything
            steps:
              - at: 2
                add: { service: db, type: latency, latency: 300 }
              - after: 500ms
                remove: { service: db, name: latency_downstream }
              - reset: all
              - kill: cache
              - pause: { service: cache, for: 3s }
              - wait: 1s
              - expect: { service: "ssh-*", healthy: true, latency: { above: 250ms }, within: 5s }
              - random: { every: 100ms, for: 2s, actions: [pause], pause_for: [200ms, 1s], seed: 7 }
              - check: [no_orphans, no_half_open]
            """);

        Assert.Equal("everything", scenario.Name);
        var add = Assert.IsType<AddToxicStep>(scenario.Steps[0]);
        Assert.Equal(new StepTiming(TimeSpan.FromSeconds(2), null), add.Timing);
        Assert.Equal(TimeSpan.FromMilliseconds(300), add.Toxic.Latency);
        Assert.Equal(3, add.Line);
        Assert.Equal(TimeSpan.FromMilliseconds(500), scenario.Steps[1].Timing.After);
        Assert.Null(Assert.IsType<ResetStep>(scenario.Steps[2]).Service);
        Assert.Equal("cache", Assert.IsType<KillStep>(scenario.Steps[3]).Service);
        Assert.Equal(TimeSpan.FromSeconds(3), Assert.IsType<PauseStep>(scenario.Steps[4]).Duration);
        Assert.Equal(TimeSpan.FromSeconds(1), Assert.IsType<WaitStep>(scenario.Steps[5]).Duration);
        var expect = Assert.IsType<ExpectStep>(scenario.Steps[6]);
        Assert.Equal(("ssh-*", true, TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(5)), (expect.Services, expect.Healthy, expect.LatencyAbove, expect.Within));
        var storm = Assert.IsType<RandomFaultsStep>(scenario.Steps[7]);
        Assert.Equal(["pause"], storm.Actions);
        Assert.Equal((TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(1), 7), (storm.PauseMin, storm.PauseMax, storm.Seed));
        Assert.Equal(["*"], storm.Services);
        Assert.True(Assert.IsType<CheckStep>(scenario.Steps[8]) is { NoOrphans: true, NoHalfOpen: true });
    }

    [Fact]
    public void An_environment_variable_sets_the_length_of_a_storm_and_its_default_applies_without_it()
    {
        const string yaml = "steps:\n  - random: { for: \"${SOAK_DURATION:60s}\" }\n";

        Assert.Equal(TimeSpan.FromSeconds(60), Assert.IsType<RandomFaultsStep>(Valid(yaml).Steps[0]).For);
        Assert.Equal(TimeSpan.FromSeconds(10), Assert.IsType<RandomFaultsStep>(Valid(yaml, new Dictionary<string, string> { ["SOAK_DURATION"] = "10s" }).Steps[0]).For);
    }

    [Theory]
    [InlineData("steps:\n  - kill: web\n    pause: web\n", "one action per step; this one has kill and pause", 2)]
    [InlineData("steps:\n  - at: 1s\n    after: 1s\n    kill: web\n", "give 'at' (since the start) or 'after'", 2)]
    [InlineData("steps:\n  - expect: { service: web }\n", "say what to expect", 2)]
    [InlineData("steps:\n  - check: [no_zombies]\n", "'no_zombies' is not a check", 2)]
    [InlineData("steps:\n  - random: { actions: [explode] }\n", "'explode' is not a random action", 2)]
    [InlineData("steps:\n  - add: { service: web, type: latency, latency: soon }\n", "steps[0].add.latency: 'soon' is not a duration", 2)]
    [InlineData("steps:\n  - wait: forever\n", "steps[0].wait: 'forever' is not a duration", 2)]
    [InlineData("name: nothing to do\n", "steps: give a list of steps", 1)]
    public void A_mistake_is_an_error_at_its_line(string yaml, string message, int line)
    {
        Assert.Equal(line, Error(yaml, message).Line);
        Assert.Null(Parse(yaml).Scenario);
    }

    [Fact]
    public void A_step_without_a_service_to_act_on_is_an_error()
    {
        Error("steps:\n  - remove: { name: slow }\n", "steps[0].remove.service is missing");
    }

    [Theory]
    [InlineData("chaos-latency.yaml")]
    [InlineData("chaos-kill.yaml")]
    [InlineData("chaos-soak.yaml")]
    public void The_shipped_example_scenarios_are_valid(string file)
    {
        var result = ScenarioParser.Load(Path.Combine(Examples(), file));

        Assert.True(result.Ok, string.Join("\n", result.Diagnostics));
        Assert.Empty(result.Diagnostics);
    }

    [Fact]
    public void The_shipped_soak_storms_for_60_seconds_every_200ms()
    {
        var storm = Assert.Single(ScenarioParser.Load(Path.Combine(Examples(), "chaos-soak.yaml"), new LoadOptions { GetEnv = _ => null })
            .Scenario!.Steps.OfType<RandomFaultsStep>());

        Assert.Equal((TimeSpan.FromSeconds(60), TimeSpan.FromMilliseconds(200)), (storm.For, storm.Every));
        Assert.Equal(["kill", "pause"], storm.Actions);
    }

    private static string Examples([CallerFilePath] string here = "") =>
        Path.GetFullPath(Path.Combine(Path.GetDirectoryName(here)!, "..", "..", "..", "config", "examples"));
}
