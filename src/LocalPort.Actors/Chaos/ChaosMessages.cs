using LocalPort.Core.Relay.Toxics;

namespace LocalPort.Actors.Chaos;

/// <summary>
/// A fault for one service, sent to the root: it passes <see cref="Action"/> to the service's forward, which
/// answers the sender directly. Unknown services (and any command during shutdown) get a CommandRefused.
/// </summary>
public sealed record ChaosCommand(string Service, ChaosAction Action);

/// <summary>What a <see cref="ChaosCommand"/> asks of a forward; each is answered with a <see cref="ChaosReply"/>.</summary>
public abstract record ChaosAction;

/// <summary>Adds a toxic to the relay; refused when one with its name exists.</summary>
public sealed record AddToxic(Toxic Toxic) : ChaosAction;

/// <summary>Removes one toxic by name.</summary>
public sealed record RemoveToxic(string Name) : ChaosAction;

/// <summary>Replaces every toxic at once (as <c>chaos:</c> in the file does).</summary>
public sealed record SetToxics(IReadOnlyList<Toxic> Toxics) : ChaosAction;

/// <summary>Removes every toxic: the relay is plain again.</summary>
public sealed record ResetToxics : ChaosAction
{
    public static readonly ResetToxics Instance = new();
}

/// <summary>Asks for the toxics and the relay's state.</summary>
public sealed record ListToxics : ChaosAction
{
    public static readonly ListToxics Instance = new();
}

/// <summary>SIGKILL the tunnel's process, as a crash would; the forward then recovers as from any crash.</summary>
public sealed record KillTunnel : ChaosAction
{
    public static readonly KillTunnel Instance = new();
}

/// <summary>SIGSTOP the tunnel's process and SIGCONT it after <see cref="Duration"/>: a half-open hang.</summary>
public sealed record PauseTunnel(TimeSpan Duration) : ChaosAction;

/// <summary>Opens <paramref name="Count"/> silent client connections to the service's port and holds them for <paramref name="Duration"/> (resource exhaustion).</summary>
public sealed record HoldConnections(int Count, TimeSpan Duration) : ChaosAction;

/// <summary>The answer to every <see cref="ChaosAction"/>.</summary>
public abstract record ChaosReply(string Service);

/// <summary>Done. <see cref="State"/> is the service's chaos state afterwards.</summary>
public sealed record ChaosApplied(string Service, string Detail, ChaosState State) : ChaosReply(Service);

/// <summary>Nothing to do here (a tcp service has no process to kill; no tunnel runs right now).</summary>
public sealed record ChaosNotApplicable(string Service, string Reason) : ChaosReply(Service);

/// <summary>The request itself is wrong (a duplicate or unknown toxic name, an invalid toxic).</summary>
public sealed record ChaosRejected(string Service, string Reason) : ChaosReply(Service);

/// <summary>
/// A service's faults as they stand: its toxics, connections its relay carries right now (none left
/// over after a storm means no forward was left half-open), and the pid of a paused tunnel.
/// </summary>
public sealed record ChaosState(string Service, IReadOnlyList<Toxic> Toxics, int ActiveConnections, int? PausedPid, DateTimeOffset? PausedUntil) : ChaosReply(Service);
