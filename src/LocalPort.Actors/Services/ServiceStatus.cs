using LocalPort.Core.Config;

namespace LocalPort.Actors.Services;

public enum ServiceState { Disabled, Starting, Running, BackingOff, Failed, Stopping, Stopped }

/// <summary>What one service is doing right now. The root supervisor owns the only copy.</summary>
public sealed record ServiceStatus(
    string Name,
    Technology Technology,
    int LocalPort,
    ServiceState State,
    bool? Healthy,
    int Restarts,
    int? Pid,
    string? LastError,
    DateTimeOffset Since)
{
    public static ServiceStatus Initial(ServiceSpec spec, DateTimeOffset now) => new(
        spec.Name, spec.Technology, spec.LocalPort,
        spec.Enabled ? ServiceState.Starting : ServiceState.Disabled, null, 0, null, null, now);
}

/// <summary>Published on the EventStream whenever a service's status changes.</summary>
public sealed record ServiceStatusChanged(ServiceStatus Status);

/// <summary>Ask the root for every service's status; answered with <see cref="StatusSnapshot"/>.</summary>
public sealed class GetStatus
{
    public static readonly GetStatus Instance = new();
    private GetStatus() { }
}

public sealed record StatusSnapshot(IReadOnlyList<ServiceStatus> Services);

/// <summary>Stop every service (highest priority first); answered with <see cref="AllStopped"/>.</summary>
public sealed class StopAll
{
    public static readonly StopAll Instance = new();
    private StopAll() { }
}

public sealed record AllStopped(int Stopped);
