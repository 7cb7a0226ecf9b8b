using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace LocalPort.Core.Config;

/// <summary>One value in the file: the node it came from (for line:column) and its place (for messages).</summary>
internal readonly record struct ConfigField(YamlNode Node, string Path);

/// <summary>
/// A mapping seen through layers: the service's own keys first, then inherited ones
/// (<c>defaults</c>, YAML <c>&lt;&lt;</c> merges). Each value keeps the node and path it came from,
/// so a problem in an inherited value is reported where it was written.
/// </summary>
internal sealed class ConfigSection
{
    private const string MergeKey = "<<";
    private const int MaxMergeDepth = 16;

    private readonly IReadOnlyList<Layer> _layers;

    private sealed record Layer(YamlMappingNode Node, string Path);

    private ConfigSection(IReadOnlyList<Layer> layers, Mark start, string path)
    {
        _layers = layers;
        Start = start;
        Path = path;
    }

    /// <summary>Where the section was written (or its parent, when absent): missing-key errors point here.</summary>
    public Mark Start { get; }

    public string Path { get; }

    public bool IsPresent => _layers.Count > 0;

    public static ConfigSection Of(YamlMappingNode node, string path) =>
        new(Expand(node, path, 0), node.Start, path);

    public static ConfigSection Absent(Mark start, string path) => new([], start, path);

    /// <summary>This section's keys win; <paramref name="inherited"/> fills in the rest.</summary>
    public ConfigSection InheritFrom(ConfigSection inherited) =>
        new([.. _layers, .. inherited._layers], Start, Path);

    public ConfigField? Get(string key)
    {
        foreach (var layer in _layers)
            if (Find(layer.Node, key) is { } value)
                return new ConfigField(value, Join(layer.Path, key));
        return null;
    }

    /// <summary>Every key of every layer, once, in the order first written.</summary>
    public IEnumerable<(string Key, ConfigField Field)> Entries()
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var layer in _layers)
            foreach (var (keyNode, value) in layer.Node.Children)
                if (keyNode is YamlScalarNode { Value: { } key } && key != MergeKey && seen.Add(key))
                    yield return (key, new ConfigField(value, Join(layer.Path, key)));
    }

    /// <summary>A nested mapping, merged key by key across the layers (for <c>health_check.config</c>).</summary>
    public ConfigSection Child(string key, DiagnosticBag bag)
    {
        var layers = new List<Layer>();
        Mark? start = null;
        foreach (var layer in _layers)
        {
            if (Find(layer.Node, key) is not { } value) continue;
            var path = Join(layer.Path, key);
            start ??= value.Start;
            if (value is YamlMappingNode mapping)
                layers.AddRange(Expand(mapping, path, 0));
            else if (!NodeText.IsNull(value))
                bag.Error(value.Start, $"{path}: expected a mapping of keys to values, found {NodeText.Describe(value)}");
        }
        return new ConfigSection(layers, start ?? Start, Join(Path, key));
    }

    /// <summary>Unknown keys are warnings, not errors: upstream files carry extra keys and must still load.</summary>
    public void WarnUnknownKeys(DiagnosticBag bag, IReadOnlyCollection<string> known, IReadOnlyDictionary<string, string>? hints = null)
    {
        foreach (var layer in _layers)
            foreach (var keyNode in layer.Node.Children.Keys)
            {
                if (keyNode is not YamlScalarNode { Value: { } key })
                {
                    bag.Warning(keyNode.Start, $"{Place(layer)}: a key must be a plain name; {NodeText.Describe(keyNode)} is ignored");
                    continue;
                }
                if (key == MergeKey || known.Contains(key)) continue;
                var hint = hints is not null && hints.TryGetValue(key, out var why) ? $" ({why})" : Suggest(key, known);
                bag.Warning(keyNode.Start, $"{Place(layer)}: unknown key {NodeText.Quote(key)} is ignored{hint}");
            }
    }

    private static string Place(Layer layer) => layer.Path.Length == 0 ? "top level" : layer.Path;

    private static string Suggest(string key, IReadOnlyCollection<string> known)
    {
        var best = known.Select(k => (Key: k, Distance: Core.EditDistance.Between(key.ToLowerInvariant(), k)))
            .Where(c => c.Distance <= Math.Max(1, key.Length / 4))
            .OrderBy(c => c.Distance)
            .FirstOrDefault();
        return best.Key is null ? "" : $"; did you mean '{best.Key}'?";
    }

    private static List<Layer> Expand(YamlMappingNode node, string path, int depth)
    {
        var layers = new List<Layer> { new(node, path) };
        // Guarded depth: a merge that refers back to itself must not recurse forever.
        if (depth >= MaxMergeDepth || Find(node, MergeKey) is not { } merged) return layers;
        var sources = merged is YamlSequenceNode list ? list.Children : [merged];
        foreach (var source in sources.OfType<YamlMappingNode>())
            layers.AddRange(Expand(source, path, depth + 1));
        return layers;
    }

    private static YamlNode? Find(YamlMappingNode node, string key)
    {
        foreach (var (keyNode, value) in node.Children)
            if (keyNode is YamlScalarNode scalar && scalar.Value == key)
                return value;
        return null;
    }

    private static string Join(string path, string key) => path.Length == 0 ? key : $"{path}.{key}";
}
