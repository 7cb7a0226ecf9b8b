using YamlDotNet.RepresentationModel;

namespace LocalPort.Core.Config;

/// <summary>The export's cluster_health: written only where it differs from the defaults, so plain files stay plain.</summary>
public static partial class ConfigExporter
{
    private static void AddClusterHealth(YamlMappingNode root, ClusterHealthConfig config)
    {
        if (config.Defaults != ClusterHealthSpec.Default)
            root.Add("defaults", Map(("cluster_health", ClusterHealth(config.Defaults))));
        if (config.Contexts.Count > 0)
            root.Add("cluster_contexts", Map(config.Contexts.OrderBy(c => c.Key, StringComparer.Ordinal)
                .Select(c => (c.Key, (YamlNode?)Map(("cluster_health", ClusterHealth(c.Value))))).ToArray()));
    }

    private static YamlMappingNode ClusterHealth(ClusterHealthSpec spec) => Map(
        ("enabled", Bool(spec.Enabled)),
        ("interval", Duration(spec.Interval)),
        ("timeout", Duration(spec.Timeout)),
        ("failure_threshold", Number(spec.FailureThreshold)));
}
