using LocalPort.Core.Config;

namespace LocalPort.Actors.Services;

/// <summary>WaitingForCluster: a kubectl service whose cluster's API does not answer; it reconnects when it does, without counting failures.</summary>
public enum ServiceState { Disabled, Starting, Running, BackingOff, Failed, Stopping, Stopped, WaitingForCluster }

/// <summary>
/// What one service is doing right now. The root supervisor owns the only copy. <see cref="NextAttempt"/> is when a
/// backing-off or failed service tries again (null when it does not wait).
/// </summary>
public sealed record ServiceStatus(
    string Name,
    Technology Technology,
    int LocalPort,
    ServiceState State,
    bool? Healthy,
    int Restarts,
    int? Pid,
    string? LastError,
    DateTimeOffset Since,
    DateTimeOffset? NextAttempt = null)
{
    public static ServiceStatus Initial(ServiceSpec spec, DateTimeOffset now) => new(
        spec.Name, spec.Technology, spec.LocalPort,
        spec.Enabled ? ServiceState.Starting : ServiceState.Disabled, null, 0, null, null, now);
}

/// <summary>Published on the EventStream whenever a service's status changes.</summary>
public sealed record ServiceStatusChanged(ServiceStatus Status);

/// <summary>Published on the EventStream when a reload removes a service (its status entry is gone).</summary>
public sealed record ServiceRemoved(string Name);

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

/// <summary>
/// Shutdown, first phase: no more starts, restarts or reloads. The root passes it to every forward
/// (each answers the sender with ForwardActor.Frozen) and answers with <see cref="PhaseTargets"/>.
/// </summary>
public sealed class StopNewWork
{
    public static readonly StopNewWork Instance = new();
    private StopNewWork() { }
}

/// <summary>Shutdown, second phase: close ports to new connections and let relayed ones finish (ForwardActor.Drained each).</summary>
public sealed class DrainConnections
{
    public static readonly DrainConnections Instance = new();
    private DrainConnections() { }
}

/// <summary>The services that will answer a phase command.</summary>
public sealed record PhaseTargets(IReadOnlyList<string> Services);

/// <summary>Restart one service by hand (also clears Failed); refused once shutdown has begun.</summary>
public sealed record RestartService(string Name);

/// <summary>Start a stopped or failed service (no-op when it runs); refused once shutdown has begun.</summary>
public sealed record StartService(string Name);

/// <summary>Stop one service: its tunnel goes and its port closes; the rest keep running.</summary>
/// <param name="Force">SIGKILL the tunnel at once instead of SIGTERM and the stop grace (`stop --force`).</param>
public sealed record StopService(string Name, bool Force = false);

public sealed record CommandAccepted(string Name);

/// <summary>Why a command was refused, for callers that choose a response by it (never by the text).</summary>
public enum RefusalCode { ShuttingDown, UnknownService, Busy, Invalid }

public sealed record CommandRefused(string Reason, RefusalCode Code = RefusalCode.Invalid)
{
    public static CommandRefused ShuttingDown { get; } = new("LocalPort is shutting down", RefusalCode.ShuttingDown);
}

/// <summary>
/// SIGHUP or `daemon reload`: re-read the configuration file. Handled by the ConfigWatcher (which answers
/// with a ReloadResult); a root without a watched file only logs that it cannot reload.
/// </summary>
public sealed class ReloadConfig
{
    public static readonly ReloadConfig Instance = new();
    private ReloadConfig() { }
}

/// <summary>SIGQUIT: write every service's status to the log.</summary>
public sealed class DumpStatus
{
    public static readonly DumpStatus Instance = new();
    private DumpStatus() { }
}
