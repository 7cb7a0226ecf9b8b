using System.Runtime.InteropServices;
using Akka.Actor;
using LocalPort.Actors.Services;
using LocalPort.Core.Processes;

namespace LocalPort.Actors.Shutdown;

/// <summary>
/// The one owner of process signals. SIGINT/SIGTERM run CoordinatedShutdown (a burst gives one
/// shutdown); a second SIGINT escalates to force-cleanup; a third exits at once. SIGHUP asks for a
/// reload (the config watcher's, or the root's when no file is watched) and SIGQUIT dumps the status to the log. Handlers only tell actors: thread-safe, non-blocking.
/// </summary>
public sealed class SignalBridge : IDisposable
{
    private readonly ActorSystem _system;
    private readonly IActorRef _coordinator;
    private readonly IActorRef _root;
    private readonly IActorRef? _configWatcher;
    private readonly ResourceLedger _ledger;
    private readonly Action<int> _exit;
    private readonly List<PosixSignalRegistration> _registrations = [];
    private int _shutdowns;
    private int _interrupts;

    /// <summary>Raised for every signal with how many of its kind arrived so far (the CLI prints progress).</summary>
    public event Action<PosixSignal, int>? Received;

    public SignalBridge(ActorSystem system, IActorRef coordinator, IActorRef root, ResourceLedger ledger, Action<int>? exit = null,
        IActorRef? configWatcher = null)
    {
        _system = system;
        _coordinator = coordinator;
        _root = root;
        _configWatcher = configWatcher;
        _ledger = ledger;
        _exit = exit ?? Environment.Exit;
        foreach (var signal in new[] { PosixSignal.SIGINT, PosixSignal.SIGTERM, PosixSignal.SIGHUP, PosixSignal.SIGQUIT })
            _registrations.Add(PosixSignalRegistration.Create(signal, Handle));
    }

    private void Handle(PosixSignalContext context)
    {
        // Keep the process alive: the phases decide when we are done.
        context.Cancel = true;
        Deliver(context.Signal);
    }

    /// <summary>What a signal does; public so tests and `daemon stop` can take the same road without a real signal.</summary>
    public void Deliver(PosixSignal signal)
    {
        switch (signal)
        {
            case PosixSignal.SIGTERM:
                Received?.Invoke(signal, Interlocked.Increment(ref _shutdowns));
                Shutdown();
                break;
            case PosixSignal.SIGINT:
                var interrupts = Interlocked.Increment(ref _interrupts);
                Received?.Invoke(signal, interrupts);
                if (interrupts == 1) Shutdown();
                else if (interrupts == 2) _coordinator.Tell(ShutdownCoordinator.Escalate.Instance);
                else ExitNow();
                break;
            case PosixSignal.SIGHUP:
                Received?.Invoke(signal, 1);
                (_configWatcher ?? _root).Tell(ReloadConfig.Instance);
                break;
            case PosixSignal.SIGQUIT:
                Received?.Invoke(signal, 1);
                _root.Tell(DumpStatus.Instance);
                break;
        }
    }

    private void Shutdown() => _ = CoordinatedShutdown.Get(_system).Run(SignalShutdownReason.Instance);

    private void ExitNow()
    {
        _ledger.KillAll(TimeSpan.FromMilliseconds(500));
        _ledger.DeleteFiles();
        _exit(130);
    }

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
