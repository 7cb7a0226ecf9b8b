namespace LocalPort.Core.Config;

/// <summary>
/// Reads <c>defaults.cluster_health</c> and <c>cluster_contexts</c>. Upstream's <c>retry_attempts</c> and
/// <c>commands</c> are accepted and not used: one /readyz probe replaces its four kubectl commands.
/// </summary>
internal static class ClusterHealthParser
{
    private static readonly string[] Keys = ["enabled", "interval", "timeout", "retry_attempts", "failure_threshold", "commands"];

    public static ClusterHealthConfig Parse(ConfigSection defaults, ConfigSection contexts, LoadContext context)
    {
        defaults.WarnUnknownKeys(context.Bag, Keys);
        var fallback = Read(defaults, ClusterHealthSpec.Default, context);
        var overrides = new Dictionary<string, ClusterHealthSpec>(StringComparer.Ordinal);
        foreach (var (name, _) in contexts.Entries())
        {
            var entry = contexts.Child(name, context.Bag);
            entry.WarnUnknownKeys(context.Bag, ["cluster_health"]);
            var own = entry.Child("cluster_health", context.Bag);
            own.WarnUnknownKeys(context.Bag, Keys);
            // Key by key over the defaults, which were read (and any problem reported) once already.
            overrides[name] = Read(own, fallback, context);
        }
        return new ClusterHealthConfig(fallback, overrides);
    }

    private static ClusterHealthSpec Read(ConfigSection section, ClusterHealthSpec fallback, LoadContext context)
    {
        var read = context.Reader;
        return new ClusterHealthSpec(
            read.Bool(section, "enabled", fallback.Enabled),
            read.Duration(section, "interval", fallback.Interval),
            read.Duration(section, "timeout", fallback.Timeout),
            read.Int(section, "failure_threshold", fallback.FailureThreshold, 1, 100));
    }
}
