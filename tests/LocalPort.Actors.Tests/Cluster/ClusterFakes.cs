using System.Collections.Concurrent;
using LocalPort.Core.Cluster;
using LocalPort.Core.Config;

namespace LocalPort.Actors.Tests.Cluster;

/// <summary>A cluster whose API the test turns off and on; each probe answers from its state at the time, or is held until released.</summary>
public sealed class ScriptedClusterProbe : IClusterProbe
{
    private readonly ConcurrentQueue<TaskCompletionSource<ClusterProbeResult>> _held = new();
    private volatile bool _reachable = true;
    private int _calls;

    public int Calls => Volatile.Read(ref _calls);
    /// <summary>When set, probes wait until <see cref="ReleaseHeld"/> (a probe "in flight").</summary>
    public bool Hold { get; set; }

    public void GoDown() => _reachable = false;
    public void ComeBack() => _reachable = true;

    public Task<ClusterProbeResult> ProbeAsync(ClusterKey cluster, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _calls);
        if (!Hold) return Task.FromResult(Now());
        var held = new TaskCompletionSource<ClusterProbeResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        _held.Enqueue(held);
        return held.Task;
    }

    /// <summary>Whether a bare connect to the API is accepted; by default as reachable as the API itself.</summary>
    public bool? AcceptsConnections { get; set; }
    public int ConnectChecks => Volatile.Read(ref _connectChecks);
    private int _connectChecks;

    public Task<bool> AcceptsConnectionsAsync(ClusterKey cluster, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _connectChecks);
        return Task.FromResult(AcceptsConnections ?? _reachable);
    }

    /// <summary>Answers every held probe with the cluster's state now.</summary>
    public void ReleaseHeld()
    {
        while (_held.TryDequeue(out var held)) held.TrySetResult(Now());
    }

    private ClusterProbeResult Now() => _reachable
        ? ClusterProbeResult.Up(TimeSpan.FromMilliseconds(3))
        : ClusterProbeResult.Down("cluster unreachable: The connection to the server 127.0.0.1:6443 was refused", TimeSpan.FromMilliseconds(1));
}

/// <summary>Wall and monotonic clocks the test moves; <see cref="Sleep"/> moves only the wall clock, as a suspended machine sees it.</summary>
public sealed class FakeClock : IClock
{
    private long _wallTicks = new DateTimeOffset(2025, 1, 6, 9, 0, 0, TimeSpan.Zero).UtcTicks;
    private long _monotonicTicks;

    public DateTimeOffset WallNow => new(Interlocked.Read(ref _wallTicks), TimeSpan.Zero);
    public TimeSpan Monotonic => TimeSpan.FromTicks(Interlocked.Read(ref _monotonicTicks));

    /// <summary>Time passes while awake: both clocks move.</summary>
    public void Pass(TimeSpan time)
    {
        Interlocked.Add(ref _wallTicks, time.Ticks);
        Interlocked.Add(ref _monotonicTicks, time.Ticks);
    }

    public void Sleep(TimeSpan time) => Interlocked.Add(ref _wallTicks, time.Ticks);

    /// <summary>Someone sets the wall clock back (NTP, a user): not a sleep.</summary>
    public void SetBack(TimeSpan time) => Interlocked.Add(ref _wallTicks, -time.Ticks);
}

public static class KubeSpecs
{
    public static ServiceSpec Service(string name = "api", string context = "testkube", RestartPolicy? policy = null) => new()
    {
        Name = name,
        Technology = Technology.Kubectl,
        LocalPort = 0,
        RemotePort = 80,
        Connection = new KubectlConnection("service", name, "default", context, null, null),
        HealthCheck = HealthCheckSpec.Default,
        RestartPolicy = policy ?? RestartPolicy.Default with { Jitter = 0 },
    };

    public static ClusterKey Cluster(string context = "testkube") => new(context, null, null);

    public static ClusterHealthSpec Settings(int failureThreshold = 1) =>
        ClusterHealthSpec.Default with { Interval = TimeSpan.FromSeconds(30), Timeout = TimeSpan.FromSeconds(2), FailureThreshold = failureThreshold };
}
