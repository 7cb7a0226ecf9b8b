using LocalPort.Core.Config;
using LocalPort.Core.Relay.Toxics;

namespace LocalPort.Core.Chaos;

/// <summary>A chaos scenario: steps run one after another, each at its time, each reported as passed or failed.</summary>
public sealed record Scenario(string Name, string? Description, IReadOnlyList<ScenarioStep> Steps, string File);

/// <summary>When a step starts: at a time since the scenario began, after a pause since the last step, or at once.</summary>
public sealed record StepTiming(TimeSpan? At, TimeSpan? After)
{
    public static StepTiming Immediately { get; } = new(null, null);

    public override string ToString() => At is { } at ? $"at {Durations.Format(at)}" : After is { } after ? $"after {Durations.Format(after)}" : "";
}

/// <summary>One step; <see cref="Line"/> is where it was written (for reports and JUnit names).</summary>
public abstract record ScenarioStep(int Line, StepTiming Timing)
{
    /// <summary>What the step does, in a report's words: "add latency_downstream to web".</summary>
    public abstract string Describe();
}

public sealed record AddToxicStep(int Line, StepTiming Timing, string Service, Toxic Toxic) : ScenarioStep(Line, Timing)
{
    public override string Describe() => $"add {Toxic} to {Service}";
}

public sealed record RemoveToxicStep(int Line, StepTiming Timing, string Service, string Name) : ScenarioStep(Line, Timing)
{
    public override string Describe() => $"remove {Name} from {Service}";
}

/// <summary>Removes every toxic of a service, or of every service when <see cref="Service"/> is null.</summary>
public sealed record ResetStep(int Line, StepTiming Timing, string? Service) : ScenarioStep(Line, Timing)
{
    public override string Describe() => $"reset {Service ?? "all services"}";
}

public sealed record KillStep(int Line, StepTiming Timing, string Service) : ScenarioStep(Line, Timing)
{
    public override string Describe() => $"kill {Service}";
}

public sealed record PauseStep(int Line, StepTiming Timing, string Service, TimeSpan Duration) : ScenarioStep(Line, Timing)
{
    public override string Describe() => $"pause {Service} for {Durations.Format(Duration)}";
}

public sealed record WaitStep(int Line, StepTiming Timing, TimeSpan Duration) : ScenarioStep(Line, Timing)
{
    public override string Describe() => $"wait {Durations.Format(Duration)}";
}

/// <summary>
/// A condition polled until it holds or <see cref="Within"/> runs out. <see cref="Services"/> is a name or a
/// pattern (<c>*</c>, <c>ssh-*</c>); every matching service must satisfy every condition given.
/// </summary>
public sealed record ExpectStep(int Line, StepTiming Timing, string Services, TimeSpan Within) : ScenarioStep(Line, Timing)
{
    public bool? Healthy { get; init; }
    public string? State { get; init; }
    public TimeSpan? LatencyAbove { get; init; }
    public TimeSpan? LatencyBelow { get; init; }
    /// <summary>An HTTP request line: HTTP servers answer it, redis answers with an error, echo servers echo it, sshd greets anyway.</summary>
    public const string HttpProbe = "GET / HTTP/1.0\r\n\r\n";

    /// <summary>What the latency probe sends after connecting; the first byte back ends the measurement.</summary>
    public string Probe { get; init; } = HttpProbe;

    public override string Describe()
    {
        var conditions = new List<string>();
        if (Healthy is { } healthy) conditions.Add(healthy ? "healthy" : "unhealthy");
        if (State is { } state) conditions.Add(state);
        if (LatencyAbove is { } above) conditions.Add($"latency above {Durations.Format(above)}");
        if (LatencyBelow is { } below) conditions.Add($"latency below {Durations.Format(below)}");
        return $"expect {Services} {string.Join(", ", conditions)} within {Durations.Format(Within)}";
    }
}

/// <summary>A storm: every <see cref="Every"/> for <see cref="For"/>, one of <see cref="Actions"/> on a random service with a process.</summary>
public sealed record RandomFaultsStep(int Line, StepTiming Timing, IReadOnlyList<string> Services, IReadOnlyList<string> Actions,
    TimeSpan Every, TimeSpan For, TimeSpan PauseMin, TimeSpan PauseMax, int? Seed) : ScenarioStep(Line, Timing)
{
    public override string Describe() =>
        $"random {string.Join(" or ", Actions)} on {string.Join(", ", Services)} every {Durations.Format(Every)} for {Durations.Format(For)}";
}

/// <summary>
/// End-of-storm checks. no_orphans: every live process tagged with this supervisor's LOCALPORT_INSTANCE is a
/// service's current tunnel. no_half_open: no tunnel is left stopped or paused, and every relay is seen without a connection.
/// </summary>
public sealed record CheckStep(int Line, StepTiming Timing, bool NoOrphans, bool NoHalfOpen, TimeSpan Within) : ScenarioStep(Line, Timing)
{
    public override string Describe() =>
        $"check {string.Join(" and ", new[] { NoOrphans ? "no orphaned process" : null, NoHalfOpen ? "no half-open forward" : null }.OfType<string>())} within {Durations.Format(Within)}";
}
