using System.Runtime.InteropServices;

namespace LocalPort.Actors.Shutdown;

/// <summary>What the <see cref="ShutdownCoordinator"/> did with a signal.</summary>
public enum SignalOutcome
{
    /// <summary>A SIGINT or SIGTERM while running: CoordinatedShutdown starts.</summary>
    ShutdownStarted,
    /// <summary>A SIGTERM, or a first SIGINT, after the shutdown started: nothing more to do.</summary>
    AlreadyStopping,
    /// <summary>A second SIGINT: skip to force-cleanup.</summary>
    Escalated,
    /// <summary>A third SIGINT: kill every child, remove our files and exit 130 at once.</summary>
    ExitingNow,
    /// <summary>A SIGHUP: the config watcher (or the root when no file is watched) reloads.</summary>
    ReloadRequested,
    /// <summary>A SIGHUP during shutdown: there is nothing left to reload into.</summary>
    ReloadIgnored,
    /// <summary>A SIGQUIT: the root writes every service's status to the log.</summary>
    StatusDumped,
    /// <summary>A signal LocalPort gives no meaning to.</summary>
    Ignored,
}

/// <summary>
/// Published on the EventStream for every signal the coordinator handles, with how many of that kind have arrived
/// so far (the CLI prints it).
/// </summary>
public sealed record SignalHandled(PosixSignal Signal, int Count, SignalOutcome Outcome);

/// <summary>
/// The rule behind signals, apart from the actor that carries it out: the first SIGINT/SIGTERM stops (a burst gives
/// one shutdown), a second SIGINT escalates, a third exits at once.
/// </summary>
public sealed class SignalPolicy
{
    private readonly Dictionary<PosixSignal, int> _counts = [];

    /// <param name="stopping">Whether a shutdown has already started, by a signal or by anything else.</param>
    public SignalHandled Decide(PosixSignal signal, bool stopping)
    {
        var count = _counts[signal] = _counts.GetValueOrDefault(signal) + 1;
        var outcome = signal switch
        {
            PosixSignal.SIGINT when count >= 3 => SignalOutcome.ExitingNow,
            PosixSignal.SIGINT when count == 2 => SignalOutcome.Escalated,
            PosixSignal.SIGINT or PosixSignal.SIGTERM => stopping ? SignalOutcome.AlreadyStopping : SignalOutcome.ShutdownStarted,
            PosixSignal.SIGHUP => stopping ? SignalOutcome.ReloadIgnored : SignalOutcome.ReloadRequested,
            PosixSignal.SIGQUIT => SignalOutcome.StatusDumped,
            _ => SignalOutcome.Ignored,
        };
        return new SignalHandled(signal, count, outcome);
    }
}
