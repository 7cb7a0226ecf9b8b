namespace LocalPort.Core.Config;

/// <summary>
/// How one kube context is watched (<c>cluster_health</c>). One cheap probe (<c>kubectl get --raw /readyz</c>)
/// every <see cref="Interval"/> while the API answers; while it does not, every <see cref="UnreachableInterval"/>,
/// so services reconnect within about that long of its return.
/// </summary>
public sealed record ClusterHealthSpec(bool Enabled, TimeSpan Interval, TimeSpan Timeout, int FailureThreshold)
{
    public static ClusterHealthSpec Default { get; } = new(true, TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(5), 1);

    /// <summary>Probe spacing while the context is unreachable (never longer than <see cref="Interval"/>).</summary>
    public TimeSpan UnreachableInterval { get; init; } = TimeSpan.FromMilliseconds(500);
}

/// <summary><c>defaults.cluster_health</c>, and the <c>cluster_contexts.&lt;context&gt;.cluster_health</c> overrides merged over it.</summary>
public sealed record ClusterHealthConfig(ClusterHealthSpec Defaults, IReadOnlyDictionary<string, ClusterHealthSpec> Contexts)
{
    public static ClusterHealthConfig Default { get; } = new(ClusterHealthSpec.Default, new Dictionary<string, ClusterHealthSpec>());

    /// <summary>The settings for a context; null (the kubeconfig's current context) takes the defaults.</summary>
    public ClusterHealthSpec For(string? context) =>
        context is not null && Contexts.TryGetValue(context, out var spec) ? spec : Defaults;
}
