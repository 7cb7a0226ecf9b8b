namespace LocalPort.Core.Cluster;

/// <summary>What one probe of a cluster's API found. <see cref="Error"/> may be set on a reachable API (e.g. credentials refused).</summary>
public sealed record ClusterProbeResult(bool Reachable, string? Error, TimeSpan Latency)
{
    public static ClusterProbeResult Up(TimeSpan latency, string? note = null) => new(true, note, latency);
    public static ClusterProbeResult Down(string error, TimeSpan latency) => new(false, error, latency);
}

/// <summary>Asks whether a cluster's API answers; bounded by <c>timeout</c>, never throws.</summary>
public interface IClusterProbe
{
    Task<ClusterProbeResult> ProbeAsync(ClusterKey cluster, TimeSpan timeout, CancellationToken cancellationToken = default);

    /// <summary>
    /// Much cheaper, and only a hint: does the API server's address accept a TCP connection? Watched often while
    /// a cluster is unreachable, so its services reconnect the moment it returns. False when it cannot be told.
    /// </summary>
    Task<bool> AcceptsConnectionsAsync(ClusterKey cluster, TimeSpan timeout, CancellationToken cancellationToken = default);
}
