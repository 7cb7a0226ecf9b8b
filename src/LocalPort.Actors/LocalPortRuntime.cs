using LocalPort.Core;
using LocalPort.Core.Config;
using LocalPort.Core.Forwarding;
using LocalPort.Core.Health;

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

    public static LocalPortRuntime Real(LocalPortPaths paths) =>
        new(new TunnelFactory(paths), HealthProbes.Create, System.Random.Shared.NextDouble);
}
