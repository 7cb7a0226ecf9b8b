using LocalPort.Core;
using LocalPort.Core.Cluster;
using LocalPort.Core.Config;
using LocalPort.Core.Forwarding;
using LocalPort.Core.Health;
using LocalPort.Core.Processes;

namespace LocalPort.Actors;

/// <summary>The outside world the actors touch: tunnels, probes, randomness. Tests replace parts of it.</summary>
public sealed record LocalPortRuntime(
    ITunnelFactory Tunnels,
    Func<ServiceSpec, IHealthProbe> Probes,
    Func<double> Random)
{
    /// <summary>How long a stopping tunnel gets between SIGTERM and SIGKILL.</summary>
    public TimeSpan StopGrace { get; init; } = TimeSpan.FromSeconds(2);
    /// <summary>A tunnel that has not become ready in this time is killed and counted as a failure.</summary>
    public TimeSpan StartTimeout { get; init; } = TimeSpan.FromSeconds(30);
    /// <summary>Every process, listener and file this runtime owns.</summary>
    public ResourceLedger Ledger { get; init; } = new();
    /// <summary>Called by force-cleanup so the last log lines reach disk.</summary>
    public Func<Task>? FlushLogs { get; init; }
    /// <summary>Receives the final shutdown report (from the coordinator; must not block).</summary>
    public Action<Shutdown.ShutdownReport>? OnShutdownCompleted { get; init; }
    /// <summary>
    /// Asks whether a kube context's API answers (the cluster monitors). Its kubectl runs are not in the ledger:
    /// each is bounded by its request timeout and killed when its monitor stops.
    /// </summary>
    public IClusterProbe ClusterProbe { get; init; } = new KubectlClusterProbe();
    /// <summary>Wall and monotonic time, compared to tell a sleep (tests use a fake).</summary>
    public IClock Clock { get; init; } = SystemClock.Instance;
    /// <summary>How often the clocks are compared, and how far apart they must drift to mean the machine slept.</summary>
    public TimeSpan SleepCheckInterval { get; init; } = TimeSpan.FromSeconds(1);
    public TimeSpan SleepThreshold { get; init; } = TimeSpan.FromSeconds(5);
    /// <summary>A kubectl failure waiting this long for its cluster's verdict is counted anyway (a safety net).</summary>
    public TimeSpan ClusterVerdictTimeout { get; init; } = TimeSpan.FromSeconds(30);
    /// <summary>
    /// Where ssh services share masters (<c>connection.multiplex</c>, on by default); null: every ssh service runs its own
    /// ssh, as <see cref="Tunnels"/> starts it (tests with stand-in tunnels).
    /// </summary>
    public SshMasters.SshMasterSettings? SshMasters { get; init; }

    public static LocalPortRuntime Real(LocalPortPaths paths)
    {
        var ledger = new ResourceLedger();
        return new(new TunnelFactory(paths, ledger), HealthProbes.Create, System.Random.Shared.NextDouble)
        {
            Ledger = ledger,
            SshMasters = new SshMasters.SshMasterSettings(paths.TunnelDirectory, paths.LogDirectory),
        };
    }
}
