using LocalPort.Core.Cluster;

namespace LocalPort.Actors.Cluster;

/// <summary>Unknown until the first probe; NotWatched when <c>cluster_health.enabled</c> is false for the context.</summary>
public enum ClusterReachability { Unknown, Reachable, Unreachable, NotWatched }

/// <summary>What one cluster monitor knows. The root keeps the copy the CLI and the API read.</summary>
public sealed record ClusterStatus(
    string Context,
    string? Kubeconfig,
    ClusterReachability State,
    DateTimeOffset Since,
    DateTimeOffset? LastProbeAt,
    TimeSpan? LastProbeLatency,
    string? LastError,
    int ConsecutiveFailures,
    long Probes)
{
    /// <summary>The services that forward from this cluster (filled in by the root).</summary>
    public IReadOnlyList<string> Services { get; init; } = [];

    public static ClusterStatus Initial(ClusterKey cluster, bool watched, DateTimeOffset now) =>
        new(cluster.Name, cluster.Kubeconfig, watched ? ClusterReachability.Unknown : ClusterReachability.NotWatched, now, null, null, null, 0, 0);
}

/// <summary>Ask the root for every cluster's status; answered with <see cref="ClusterSnapshot"/>.</summary>
public sealed class GetClusterStatus
{
    public static readonly GetClusterStatus Instance = new();
    private GetClusterStatus() { }
}

public sealed record ClusterSnapshot(IReadOnlyList<ClusterStatus> Clusters);

/// <summary>Published on the EventStream when a cluster becomes reachable or unreachable.</summary>
public sealed record ClusterStatusChanged(ClusterStatus Status);

/// <summary>Published on the EventStream when the machine woke from a sleep (every service is then re-checked).</summary>
public sealed record MachineWoke(TimeSpan Slept);
