using LocalPort.Core.Relay.Toxics;
using YamlDotNet.RepresentationModel;

namespace LocalPort.Core.Config;

/// <summary>
/// Reads a service's <c>chaos:</c> list: toxics the relay injects from the start. Attributes are written
/// beside <c>type</c> or, as in Toxiproxy's JSON, under <c>attributes:</c>.
/// <code>
/// chaos:
///   - type: latency
///     stream: downstream
///     latency: 200ms
///     jitter: 20ms
/// </code>
/// </summary>
internal static class ChaosParser
{
    private static readonly string[] Keys = ["name", "type", "stream", "toxicity", "attributes", .. ToxicAttributes.All];

    public static IReadOnlyList<Toxic> Parse(ConfigSection service, LoadContext context)
    {
        if (service.Get("chaos") is not { } field || NodeText.IsNull(field.Node)) return [];
        if (field.Node is not YamlSequenceNode list)
        {
            context.Bag.Error(field.Node.Start, $"{field.Path}: expected a list of toxics (- type: latency ...), found {NodeText.Describe(field.Node)}");
            return [];
        }
        var toxics = new List<Toxic>();
        var names = new Dictionary<string, ConfigField>(StringComparer.Ordinal);
        for (var i = 0; i < list.Children.Count; i++)
        {
            var item = new ConfigField(list.Children[i], $"{field.Path}[{i}]");
            if (ParseToxic(item, context) is not { } parsed) continue;
            var (toxic, at) = parsed;
            if (names.TryGetValue(toxic.Name, out var first))
            {
                context.Bag.Error(at.Node.Start, $"{at.Path}: a toxic named '{toxic.Name}' is already defined at line {first.Node.Start.Line}; give one of them another name");
                continue;
            }
            names[toxic.Name] = at;
            toxics.Add(toxic);
        }
        return toxics;
    }

    /// <param name="extraKeys">Keys the caller reads from the same mapping (a scenario's <c>service</c>).</param>
    /// <returns>The toxic and the field that names it (for duplicate messages), or null when it has errors.</returns>
    internal static (Toxic Toxic, ConfigField At)? ParseToxic(ConfigField item, LoadContext context, params string[] extraKeys)
    {
        var read = context.Reader;
        if (item.Node is not YamlMappingNode mapping)
        {
            context.Bag.Error(item.Node.Start, $"{item.Path}: expected a toxic (type, stream, toxicity and its attributes), found {NodeText.Describe(item.Node)}");
            return null;
        }
        var section = ConfigSection.Of(mapping, item.Path);
        section.WarnUnknownKeys(context.Bag, [.. Keys, .. extraKeys]);
        var nested = section.Child("attributes", context.Bag);
        nested.WarnUnknownKeys(context.Bag, ToxicAttributes.All);
        var attributes = section.InheritFrom(nested);

        var type = read.RequiredString(section, "type", $"use one of {ToxicNames.TypeChoices}");
        if (type is null) return null;
        var given = new List<KeyValuePair<string, string>>();
        var fields = new Dictionary<string, ConfigField>(StringComparer.Ordinal);
        foreach (var key in ToxicAttributes.All)
        {
            if (attributes.Get(key) is not { } attribute || read.Text(attribute) is not { } text || string.IsNullOrWhiteSpace(text)) continue;
            given.Add(new(key, text));
            fields[key] = attribute;
        }
        foreach (var key in new[] { "name", "type", "stream", "toxicity" })
            if (section.Get(key) is { } written) fields[key] = written;

        var (toxic, problems) = ToxicAttributes.Build(read.OptionalString(section, "name"), type,
            read.OptionalString(section, "stream"), read.OptionalString(section, "toxicity"), given);
        foreach (var problem in problems)
        {
            var at = problem.Key is { } key && fields.TryGetValue(key, out var where) ? where : item;
            context.Bag.Add(problem.IsWarning ? Severity.Warning : Severity.Error, at.Node.Start, $"{at.Path}: {problem.Message}");
        }
        return toxic is null ? null : (toxic, fields.GetValueOrDefault("name", item));
    }
}
