using LocalPort.Core.Config;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace LocalPort.Core.Chaos;

/// <summary>A scenario, or every problem with its file, each at file:line:column (null when any is an error).</summary>
public sealed record ScenarioLoadResult(Scenario? Scenario, IReadOnlyList<ConfigDiagnostic> Diagnostics)
{
    public bool Ok => Scenario is not null && Diagnostics.All(d => d.Severity != Severity.Error);
}

/// <summary>
/// Reads a chaos scenario. Durations are written as in localport.yaml (<c>5</c> is seconds, <c>500ms</c>);
/// a toxic's attributes as in <c>chaos:</c> (a bare number is milliseconds). <c>${VAR:default}</c> works everywhere.
/// </summary>
public static class ScenarioParser
{
    private static readonly string[] TopKeys = ["name", "description", "steps"];
    private static readonly string[] Actions = ["add", "remove", "reset", "kill", "pause", "wait", "expect", "random", "check"];
    private static readonly TimeSpan DefaultWithin = TimeSpan.FromSeconds(10);

    public static ScenarioLoadResult Load(string path, LoadOptions? options = null)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            return new ScenarioLoadResult(null, [new ConfigDiagnostic(Severity.Error, path, 1, 1, $"scenario {path} cannot be read: {e.Message}")]);
        }
        return Parse(text, path, options ?? LoadOptions.Default);
    }

    public static ScenarioLoadResult Parse(string yaml, string file, LoadOptions? options = null)
    {
        var bag = new DiagnosticBag(file);
        Scenario? scenario = null;
        try
        {
            var stream = new YamlStream();
            stream.Load(new GuardedParser(new Parser(new StringReader(yaml))));
            var root = stream.Documents.Count == 0 ? null : stream.Documents[0].RootNode as YamlMappingNode;
            if (root is null) bag.Error(Mark.Empty, "a scenario is a mapping with 'name' and 'steps:'; see config/examples/chaos-latency.yaml");
            else scenario = Build(root, file, new LoadContext(bag, options ?? LoadOptions.Default, null));
        }
        catch (YamlException e)
        {
            bag.Error(e.Start, $"YAML syntax error: {e.Message}");
        }
        return new ScenarioLoadResult(bag.HasErrors ? null : scenario, bag.ToList());
    }

    private static Scenario? Build(YamlMappingNode root, string file, LoadContext context)
    {
        var top = ConfigSection.Of(root, "");
        top.WarnUnknownKeys(context.Bag, TopKeys);
        var name = context.Reader.OptionalString(top, "name") ?? Path.GetFileNameWithoutExtension(file);
        var description = context.Reader.OptionalString(top, "description");
        if (top.Get("steps") is not { Node: YamlSequenceNode { Children.Count: > 0 } list })
        {
            context.Bag.Error(top.Get("steps")?.Node.Start ?? root.Start, "steps: give a list of steps (- add: ..., - expect: ...)");
            return null;
        }
        var steps = new List<ScenarioStep>();
        for (var i = 0; i < list.Children.Count; i++)
            if (Step(new ConfigField(list.Children[i], $"steps[{i}]"), context) is { } step) steps.Add(step);
        return new Scenario(name, description, steps, file);
    }

    private static ScenarioStep? Step(ConfigField item, LoadContext context)
    {
        if (item.Node is not YamlMappingNode mapping)
        {
            context.Bag.Error(item.Node.Start, $"{item.Path}: expected a step such as 'kill: cache' or 'expect: {{service: web, healthy: true}}', found {NodeText.Describe(item.Node)}");
            return null;
        }
        var section = ConfigSection.Of(mapping, item.Path);
        section.WarnUnknownKeys(context.Bag, ["at", "after", .. Actions]);
        var timing = new StepTiming(
            section.Get("at") is null ? null : context.Reader.Duration(section, "at", TimeSpan.Zero, allowZero: true),
            section.Get("after") is null ? null : context.Reader.Duration(section, "after", TimeSpan.Zero, allowZero: true));
        if (timing is { At: not null, After: not null })
            context.Bag.Error(mapping.Start, $"{item.Path}: give 'at' (since the start) or 'after' (since the previous step), not both");
        var actions = Actions.Where(a => section.Get(a) is not null).ToList();
        if (actions.Count != 1)
        {
            context.Bag.Error(mapping.Start, actions.Count == 0
                ? $"{item.Path}: a step needs one of {string.Join(", ", Actions)}"
                : $"{item.Path}: one action per step; this one has {string.Join(" and ", actions)}");
            return null;
        }
        var field = section.Get(actions[0])!.Value;
        var line = (int)mapping.Start.Line;
        return actions[0] switch
        {
            "add" => ChaosParser.ParseToxic(field, context, "service") is { } toxic && Service(field, context, required: true) is { } service
                ? new AddToxicStep(line, timing, service, toxic.Toxic) : null,
            "remove" => Service(field, context, required: true) is { } service
                        && context.Reader.RequiredString(Of(field), "name", "name the toxic to remove (see `chaos list`)") is { } name
                ? new RemoveToxicStep(line, timing, service, name) : null,
            "reset" => new ResetStep(line, timing, AllMeansNull(Service(field, context, required: false))),
            "kill" => Service(field, context, required: true) is { } service ? new KillStep(line, timing, service) : null,
            "pause" => Service(field, context, required: true) is { } service
                ? new PauseStep(line, timing, service, field.Node is YamlMappingNode ? context.Reader.Duration(Of(field), "for", TimeSpan.FromSeconds(5)) : TimeSpan.FromSeconds(5)) : null,
            "wait" => new WaitStep(line, timing, ScalarDuration(field, context)),
            "expect" => Expect(line, timing, field, context),
            "random" => RandomFaults(line, timing, field, context),
            _ => Check(line, timing, field, context),
        };
    }

    /// <summary>The service of a step: the value itself (<c>kill: cache</c>) or its <c>service</c> key.</summary>
    internal static string? Service(ConfigField field, LoadContext context, bool required)
    {
        if (field.Node is YamlScalarNode && !NodeText.IsNull(field.Node)) return context.Reader.Text(field)?.Trim();
        if (field.Node is YamlMappingNode)
            return required
                ? context.Reader.RequiredString(Of(field), "service", "name the service, as in `localport status`")
                : context.Reader.OptionalString(Of(field), "service");
        if (required) context.Bag.Error(field.Node.Start, $"{field.Path}: name the service (e.g. '{field.Path.Split('.')[^1]}: web')");
        return null;
    }

    private static string? AllMeansNull(string? service) => service is null or "all" or "*" ? null : service;

    internal static ConfigSection Of(ConfigField field) =>
        field.Node is YamlMappingNode mapping ? ConfigSection.Of(mapping, field.Path) : ConfigSection.Absent(field.Node.Start, field.Path);

    private static TimeSpan ScalarDuration(ConfigField field, LoadContext context)
    {
        var text = context.Reader.Text(field) ?? "";
        if (Durations.TryParse(text, out var duration) && duration <= YamlNodeReader.MaxDuration) return duration;
        context.Bag.Error(field.Node.Start, $"{field.Path}: {NodeText.Quote(text)} is not a duration; use e.g. 500ms, 2s, 1m");
        return TimeSpan.Zero;
    }

    private static ExpectStep? Expect(int line, StepTiming timing, ConfigField field, LoadContext context)
    {
        var read = context.Reader;
        var section = Of(field);
        if (field.Node is not YamlMappingNode)
        {
            context.Bag.Error(field.Node.Start, $"{field.Path}: expected a mapping such as {{service: web, healthy: true, within: 5s}}");
            return null;
        }
        section.WarnUnknownKeys(context.Bag, ["service", "healthy", "state", "latency", "probe", "within"]);
        var latency = section.Child("latency", context.Bag);
        latency.WarnUnknownKeys(context.Bag, ["above", "below"]);
        var step = new ExpectStep(line, timing, read.OptionalString(section, "service") ?? "*", read.Duration(section, "within", DefaultWithin, allowZero: true))
        {
            Healthy = section.Get("healthy") is null ? null : read.Bool(section, "healthy", true),
            State = read.OptionalString(section, "state")?.Trim().ToLowerInvariant(),
            LatencyAbove = latency.Get("above") is null ? null : read.Duration(latency, "above", TimeSpan.Zero, allowZero: true),
            LatencyBelow = latency.Get("below") is null ? null : read.Duration(latency, "below", TimeSpan.Zero),
            Probe = read.OptionalString(section, "probe") is { } probe ? probe.Replace("\\r", "\r").Replace("\\n", "\n") : ExpectStep.HttpProbe,
        };
        if (step is { Healthy: null, State: null, LatencyAbove: null, LatencyBelow: null })
            context.Bag.Error(field.Node.Start, $"{field.Path}: say what to expect: healthy: true, state: running, or latency: {{above: 250ms}}");
        return step;
    }

    private static CheckStep? Check(int line, StepTiming timing, ConfigField field, LoadContext context)
    {
        string[] known = ["no_orphans", "no_half_open"];
        var within = DefaultWithin;
        List<(string Text, ConfigField Field)> names;
        if (field.Node is YamlMappingNode)
        {
            var section = Of(field);
            section.WarnUnknownKeys(context.Bag, [.. known, "within"]);
            within = context.Reader.Duration(section, "within", DefaultWithin, allowZero: true);
            names = known.Where(k => context.Reader.Bool(section, k, false)).Select(k => (k, field)).ToList();
        }
        else if (field.Node is YamlSequenceNode list)
            names = list.Children.Select((node, i) => new ConfigField(node, $"{field.Path}[{i}]")).Select(f => (context.Reader.Text(f) ?? "", f)).ToList();
        else
            names = [(context.Reader.Text(field) ?? "", field)];
        foreach (var (text, at) in names.Where(n => !known.Contains(n.Text.Trim())))
            context.Bag.Error(at.Node.Start, $"{at.Path}: '{text}' is not a check; use no_orphans and/or no_half_open");
        var chosen = names.Select(n => n.Text.Trim()).ToHashSet();
        return new CheckStep(line, timing, chosen.Contains("no_orphans"), chosen.Contains("no_half_open"), within);
    }

    private static RandomFaultsStep? RandomFaults(int line, StepTiming timing, ConfigField field, LoadContext context)
    {
        var read = context.Reader;
        if (field.Node is not YamlMappingNode)
        {
            context.Bag.Error(field.Node.Start, $"{field.Path}: expected a mapping such as {{every: 200ms, for: 60s, actions: [kill, pause]}}");
            return null;
        }
        var section = Of(field);
        section.WarnUnknownKeys(context.Bag, ["services", "actions", "every", "for", "pause_for", "seed"]);
        var services = read.List(section, "services")?.Select(s => s.Text.Trim()).ToList() ?? ["*"];
        var actions = read.List(section, "actions") ?? [];
        foreach (var (text, at) in actions.Where(a => a.Text.Trim() is not ("kill" or "pause")))
            context.Bag.Error(at.Node.Start, $"{at.Path}: '{text}' is not a random action; use kill and/or pause");
        var pauseMin = TimeSpan.FromSeconds(1);
        var pauseMax = pauseMin;
        if (section.Get("pause_for") is { Node: YamlSequenceNode { Children.Count: 2 } range } pauseFor)
        {
            pauseMin = ScalarDuration(new ConfigField(range.Children[0], pauseFor.Path + "[0]"), context);
            pauseMax = ScalarDuration(new ConfigField(range.Children[1], pauseFor.Path + "[1]"), context);
            if (pauseMax < pauseMin) context.Bag.Error(range.Start, $"{pauseFor.Path}: the range must go from the shorter to the longer pause");
        }
        else if (section.Get("pause_for") is not null)
            pauseMin = pauseMax = read.Duration(section, "pause_for", pauseMin);
        return new RandomFaultsStep(line, timing, services,
            actions.Count == 0 ? ["kill", "pause"] : actions.Select(a => a.Text.Trim()).Distinct().ToList(),
            read.Duration(section, "every", TimeSpan.FromMilliseconds(200)), read.Duration(section, "for", TimeSpan.FromSeconds(60)),
            pauseMin, pauseMax, section.Get("seed") is null ? null : read.Int(section, "seed", 0, int.MinValue, int.MaxValue));
    }
}
