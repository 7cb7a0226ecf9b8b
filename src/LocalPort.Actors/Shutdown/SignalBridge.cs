using System.Runtime.InteropServices;
using Akka.Actor;

namespace LocalPort.Actors.Shutdown;

/// <summary>
/// Turns SIGINT, SIGTERM, SIGHUP and SIGQUIT into <see cref="ShutdownCoordinator.SignalReceived"/> messages and
/// nothing more: the coordinator decides what each one means (one owner of shutdown decisions). The handler only
/// tells an actor: thread-safe and non-blocking.
/// </summary>
public sealed class SignalBridge : IDisposable
{
    private static readonly PosixSignal[] Handled = [PosixSignal.SIGINT, PosixSignal.SIGTERM, PosixSignal.SIGHUP, PosixSignal.SIGQUIT];

    private readonly IActorRef _coordinator;
    private readonly List<PosixSignalRegistration> _registrations = [];

    public SignalBridge(IActorRef coordinator)
    {
        _coordinator = coordinator;
        foreach (var signal in Handled) _registrations.Add(PosixSignalRegistration.Create(signal, Handle));
    }

    private void Handle(PosixSignalContext context)
    {
        // Keep the process alive: the coordinator decides when we are done.
        context.Cancel = true;
        Deliver(context.Signal);
    }

    /// <summary>What a real signal does, for tests that cannot send one.</summary>
    public void Deliver(PosixSignal signal) => _coordinator.Tell(new ShutdownCoordinator.SignalReceived(signal));

    public void Dispose()
    {
        foreach (var registration in _registrations) registration.Dispose();
        _registrations.Clear();
    }
}

/// <summary>CoordinatedShutdown reason for a signal; exit code 0 because a requested stop is a success.</summary>
public sealed class SignalShutdownReason : CoordinatedShutdown.Reason
{
    public static readonly SignalShutdownReason Instance = new();
    public override int ExitCode => 0;
    public override string ToString() => "signal";
}
