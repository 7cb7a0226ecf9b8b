namespace LocalPort.Actors.SshMasters;

/// <summary>Where shared ssh masters keep their control sockets and logs, and how long they may take.</summary>
/// <param name="ControlDirectory">The private (0700) tunnel directory: control sockets and forward sockets.</param>
/// <param name="LogDirectory">A master writes to the log of the service it was started for.</param>
public sealed record SshMasterSettings(string ControlDirectory, string LogDirectory)
{
    /// <summary>A master not authenticated in this time is killed and counted as failed.</summary>
    public TimeSpan StartTimeout { get; init; } = TimeSpan.FromSeconds(30);
    /// <summary>How long an `ssh -O` command may take; a master that lets one wait longer is hung.</summary>
    public TimeSpan ControlTimeout { get; init; } = TimeSpan.FromSeconds(2);
    /// <summary>A master whose last forward failed stays this long for the retry, instead of a new handshake.</summary>
    public TimeSpan IdleLinger { get; init; } = TimeSpan.FromSeconds(1);
    public TimeSpan StopGrace { get; init; } = TimeSpan.FromSeconds(2);
}
