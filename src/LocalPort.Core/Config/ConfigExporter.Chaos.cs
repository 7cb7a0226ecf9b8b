using System.Globalization;
using LocalPort.Core.Relay.Toxics;
using YamlDotNet.RepresentationModel;

namespace LocalPort.Core.Config;

public static partial class ConfigExporter
{
    /// <summary>A service's toxics in the flat form <see cref="ChaosParser"/> reads; absent when there are none.</summary>
    private static YamlSequenceNode? Chaos(IReadOnlyList<Toxic> toxics) => toxics.Count == 0 ? null : new YamlSequenceNode(toxics.Select(toxic =>
    {
        var map = Map(
            ("name", Text(toxic.Name)),
            ("type", Plain(ToxicNames.Of(toxic.Type))),
            ("stream", toxic.Type == ToxicType.Down ? null : Plain(ToxicNames.Of(toxic.Stream))),
            ("toxicity", toxic.Toxicity >= 1 ? null : Plain(toxic.Toxicity.ToString("R", CultureInfo.InvariantCulture))));
        foreach (var (key, value) in ToxicAttributes.Describe(toxic)) map.Add(key, Plain(value));
        return (YamlNode)map;
    }));
}
