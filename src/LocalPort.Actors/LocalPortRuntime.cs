using LocalPort.Core;
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

    public static LocalPortRuntime Real(LocalPortPaths paths)
    {
        var ledger = new ResourceLedger();
        return new(new TunnelFactory(paths, ledger), HealthProbes.Create, System.Random.Shared.NextDouble) { Ledger = ledger };
    }
}
