using System.Diagnostics;
using System.Runtime.InteropServices;
using Akka.Actor;
using Akka.Event;
using LocalPort.Actors.Forwarding;
using LocalPort.Actors.Reload;
using LocalPort.Actors.Services;
using LocalPort.Core.Processes;

namespace LocalPort.Actors.Shutdown;

/// <summary>
/// Runs LocalPort's four shutdown phases as a state machine, one <c>Become</c> state per phase.
/// Each CoordinatedShutdown phase task asks it to run its phase; a phase ends when its work is done or
/// its timeout fires, and the report names whatever was still pending. Requests for a later phase that
/// arrive mid-phase are stashed; status queries are answered; new work is refused by the root.
/// It is also the one owner of signal decisions (<see cref="SignalPolicy"/>): the <see cref="SignalBridge"/> only
/// tells it <see cref="SignalReceived"/>, and it starts CoordinatedShutdown, escalates, exits or routes the signal.
/// </summary>
public sealed class ShutdownCoordinator : ReceiveActor, IWithTimers, IWithUnboundedStash
{
    /// <summary>Asked by a CoordinatedShutdown task; answered with that phase's <see cref="PhaseReport"/>.</summary>
    public sealed record RunPhase(string Phase);
    /// <summary>A POSIX signal, as the bridge caught it; what it means is decided here.</summary>
    public sealed record SignalReceived(PosixSignal Signal);
    /// <summary>A second Ctrl-C: go straight to force-cleanup.</summary>
    public sealed class Escalate { public static readonly Escalate Instance = new(); private Escalate() { } }
    /// <summary>Answered with the <see cref="ShutdownReport"/> so far.</summary>
    public sealed class GetReport { public static readonly GetReport Instance = new(); private GetReport() { } }

    private sealed record PhaseTimedOut(int Phase);
    private sealed record CleanupDone(IReadOnlyList<string> Cleaned);

    private const string PhaseTimer = "phase-timeout";
    /// <summary>How the config watcher appears among a phase's pending answers.</summary>
    private const string WatcherTarget = "config-watcher";
    private readonly IActorRef _root;
    private readonly IActorRef? _watcher;
    private readonly ResourceLedger _ledger;
    private readonly Func<string, TimeSpan> _timeoutOf;
    private readonly Func<Task>? _flushLogs;
    private readonly Action<ShutdownReport>? _onCompleted;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly List<PhaseReport> _reports = [];
    private readonly List<IActorRef> _waiters = [];
    private readonly Stopwatch _phaseClock = new();
    private readonly Stopwatch _totalClock = new();
    private DateTimeOffset _startedAt;
    private int _current = -1;
    private HashSet<string> _pending = [];
    private HashSet<string> _answered = [];
    private bool _targetsKnown;
    private List<string> _cleaned = [];
    /// <summary>complete-current: exchanges the services found in flight.</summary>
    private int _inFlight;
    private bool _escalated;
    /// <summary>A phase is running (between phases <see cref="_current"/> names the last one, already reported).</summary>
    private bool _inPhase;
    private readonly SignalPolicy _signals = new();
    private readonly Action _startShutdown;
    private readonly Action<int> _exit;
    private bool _shutdownRequested;
    private bool _exiting;

    public ITimerScheduler Timers { get; set; } = null!;
    public IStash Stash { get; set; } = null!;

    /// <param name="timeoutOf">The phase's budget (normally the CoordinatedShutdown phase timeout).</param>
    /// <param name="onCompleted">Called once with the final report (thread-safe callers only: it runs on the actor).</param>
    /// <param name="configWatcher">Told to stop watching in stop-new-work, and to reload on SIGHUP; null when no file is watched.</param>
    /// <param name="startShutdown">What a first SIGINT/SIGTERM starts; null runs CoordinatedShutdown (tests count it instead).</param>
    /// <param name="exit">How a third SIGINT ends the process; null is <see cref="Environment.Exit"/>.</param>
    public static Props Props(IActorRef root, ResourceLedger ledger, Func<string, TimeSpan> timeoutOf,
        Func<Task>? flushLogs = null, Action<ShutdownReport>? onCompleted = null, IActorRef? configWatcher = null,
        Action? startShutdown = null, Action<int>? exit = null) =>
        Akka.Actor.Props.Create(() => new ShutdownCoordinator(root, ledger, timeoutOf, flushLogs, onCompleted, configWatcher, startShutdown, exit));

    public ShutdownCoordinator(IActorRef root, ResourceLedger ledger, Func<string, TimeSpan> timeoutOf,
        Func<Task>? flushLogs, Action<ShutdownReport>? onCompleted, IActorRef? configWatcher,
        Action? startShutdown, Action<int>? exit)
    {
        var system = Context.System;
        _startShutdown = startShutdown ?? (() => _ = CoordinatedShutdown.Get(system).Run(SignalShutdownReason.Instance));
        _exit = exit ?? Environment.Exit;
        _onCompleted = onCompleted;
        _root = root;
        _watcher = configWatcher;
        _ledger = ledger;
        _timeoutOf = timeoutOf;
        _flushLogs = flushLogs;
        Idle();
    }

    /// <summary>Between phases (and before the first): the next RunPhase starts its phase.</summary>
    private void Idle()
    {
        Receive<RunPhase>(HandleRunPhase);
        Receive<Escalate>(_ => EscalateNow());
        Common();
    }

    private void HandleRunPhase(RunPhase request)
    {
        var index = ShutdownPhases.IndexOf(request.Phase);
        if (index < 0)
        {
            Sender.Tell(new Status.Failure(new ArgumentException($"unknown phase {request.Phase}")));
            return;
        }
        if (index <= _current || _escalated && index < 3)
        {
            // Already done (or skipped by escalation): answer at once with what happened.
            Sender.Tell(_reports.LastOrDefault(r => r.Phase == request.Phase)
                        ?? new PhaseReport(request.Phase, TimeSpan.Zero, false, [], [], "skipped: escalated to force-cleanup"));
            return;
        }
        StartPhase(index, Sender);
    }

    /// <summary>The shutdown's clock starts at the signal that asked for it, else at its first phase.</summary>
    private void StartClock()
    {
        if (_totalClock.IsRunning) return;
        _startedAt = DateTimeOffset.Now;
        _totalClock.Start();
    }

    private void StartPhase(int index, IActorRef requester)
    {
        StartClock();
        _current = index;
        _inPhase = true;
        _waiters.Add(requester);
        _pending = [];
        _answered = [];
        _targetsKnown = false;
        _cleaned = [];
        _inFlight = 0;
        _phaseClock.Restart();
        var phase = ShutdownPhases.All[index];
        Context.System.EventStream.Publish(new ShutdownPhaseStarted(phase));
        // End a little before CoordinatedShutdown gives up on us, so our report names what is pending.
        Timers.StartSingleTimer(PhaseTimer, new PhaseTimedOut(index), _timeoutOf(phase) * 0.9);

        switch (index)
        {
            case 0:
                _root.Tell(StopNewWork.Instance);
                _watcher?.Tell(StopWatching.Instance);
                Become(StoppingNewWork);
                break;
            case 1:
                _root.Tell(DrainConnections.Instance);
                Become(CompletingCurrent);
                break;
            case 2:
                _root.Tell(StopAll.Instance);
                _pending = ["services"];
                Become(CancellingTasks);
                break;
            default:
                RunForceCleanup();
                Become(ForcingCleanup);
                break;
        }
    }

    private void StoppingNewWork()
    {
        Receive<PhaseTargets>(m => ExpectAnswers(m.Services));
        Receive<ForwardActor.Frozen>(m => Answered(m.Name, $"restarts stopped: {m.Name}"));
        Receive<WatchingStopped>(_ => Answered(WatcherTarget, "config watcher stopped"));
        DuringPhase();
    }

    private void CompletingCurrent()
    {
        Receive<PhaseTargets>(m => ExpectAnswers(m.Services));
        Receive<ForwardActor.Drained>(m =>
        {
            _inFlight += m.InFlight;
            // Only a service that had something to finish is worth a line.
            Answered(m.Name, m.InFlight > 0 ? $"exchanges finished: {m.Name} ({m.InFlight})" : null);
        });
        DuringPhase();
    }

    private void CancellingTasks()
    {
        Receive<AllStopped>(m =>
        {
            _pending.Clear();
            _cleaned.Add($"services stopped: {m.Stopped}");
            FinishPhase(timedOut: false);
        });
        DuringPhase();
    }

    private void ForcingCleanup()
    {
        Receive<CleanupDone>(m =>
        {
            _cleaned.AddRange(m.Cleaned);
            FinishPhase(timedOut: false);
        });
        DuringPhase();
    }

    /// <summary>Handlers every phase state shares; called last so phase-specific handlers win.</summary>
    private void DuringPhase()
    {
        Receive<PhaseTimedOut>(m => m.Phase == _current, _ => FinishPhase(timedOut: true));
        Receive<PhaseTimedOut>(_ => { });
        Receive<RunPhase>(m => ShutdownPhases.IndexOf(m.Phase) == _current, _ => _waiters.Add(Sender));
        Receive<RunPhase>(m => ShutdownPhases.IndexOf(m.Phase) < _current, HandleRunPhase);
        // A later phase must wait for this one to finish.
        Receive<RunPhase>(_ => Stash.Stash());
        Receive<Escalate>(_ => EscalateNow());
        // Late answers from a phase that already ended.
        Receive<PhaseTargets>(_ => { });
        Receive<ForwardActor.Frozen>(_ => { });
        Receive<ForwardActor.Drained>(_ => { });
        Receive<WatchingStopped>(_ => { });
        Receive<AllStopped>(_ => { });
        Common();
    }

    private void Common()
    {
        Receive<SignalReceived>(m => HandleSignal(m.Signal));
        Receive<GetReport>(_ => Sender.Tell(BuildReport()));
        // Status queries are still answered while we shut down: the root holds the truth.
        Receive<GetStatus>(m => _root.Forward(m));
    }

    /// <summary>Answers may overtake the list of who will answer, so both sides are tracked.</summary>
    private void ExpectAnswers(IReadOnlyList<string> services)
    {
        _targetsKnown = true;
        var targets = _current == 0 && _watcher is not null ? services.Append(WatcherTarget) : services;
        _pending = targets.Where(s => !_answered.Contains(s)).ToHashSet(StringComparer.Ordinal);
        if (_pending.Count == 0) FinishPhase(timedOut: false);
    }

    private void Answered(string name, string? what)
    {
        _answered.Add(name);
        if (what is not null) _cleaned.Add(what);
        if (_targetsKnown && _pending.Remove(name) && _pending.Count == 0) FinishPhase(timedOut: false);
    }

    private void HandleSignal(PosixSignal signal)
    {
        var handled = _signals.Decide(signal, stopping: _shutdownRequested || _current >= 0);
        _log.Info("{Signal} (#{Count}): {Outcome}", signal, handled.Count, handled.Outcome);
        Context.System.EventStream.Publish(handled);
        switch (handled.Outcome)
        {
            case SignalOutcome.ShutdownStarted:
                _shutdownRequested = true;
                StartClock();
                _startShutdown();
                break;
            case SignalOutcome.Escalated:
                EscalateNow();
                break;
            case SignalOutcome.ExitingNow:
                ExitNow();
                break;
            case SignalOutcome.ReloadRequested:
                (_watcher ?? _root).Tell(ReloadConfig.Instance);
                break;
            case SignalOutcome.StatusDumped:
                _root.Tell(DumpStatus.Instance);
                break;
        }
    }

    /// <summary>The third Ctrl-C: no more phases; the children are killed and our files removed off the actor, then we exit.</summary>
    private void ExitNow()
    {
        if (_exiting) return;
        _exiting = true;
        _log.Warning("exiting now: killing every child and removing our files");
        var ledger = _ledger;
        var exit = _exit;
        Task.Run(async () =>
        {
            try
            {
                await ledger.KillAllAsync(TimeSpan.FromMilliseconds(500));
                ledger.DeleteFiles();
            }
            finally
            {
                exit(130);
            }
        });
    }

    private void RunForceCleanup()
    {
        var ledger = _ledger;
        var flushLogs = _flushLogs;
        Task.Run(async () =>
        {
            var cleaned = new List<string>();
            cleaned.AddRange((await ledger.KillAllAsync(TimeSpan.FromSeconds(2))).Select(e => $"SIGKILL {e}"));
            cleaned.AddRange(ledger.CloseListeners().Select(e => $"closed {e}"));
            cleaned.AddRange(ledger.DeleteFiles().Select(e => $"removed {e}"));
            if (flushLogs is not null) await flushLogs();
            return new CleanupDone(cleaned);
        }).PipeTo(Self);
    }

    private void EscalateNow()
    {
        if (_current >= 3 || _escalated) return;
        _escalated = true;
        _log.Warning("shutdown escalated: skipping to force-cleanup");
        if (_current < 0)
        {
            // Skipped phases still freeze restarts: force-cleanup's kills must not be restarted as crashes.
            _root.Tell(StopNewWork.Instance);
            _watcher?.Tell(StopWatching.Instance);
        }
        if (_inPhase) FinishPhase(timedOut: false, note: "interrupted: escalated to force-cleanup");
        StartPhase(3, ActorRefs.Nobody);
    }

    private void FinishPhase(bool timedOut, string? note = null)
    {
        Timers.Cancel(PhaseTimer);
        _inPhase = false;
        var phase = ShutdownPhases.All[_current];
        var draining = _current == 1;
        note ??= timedOut ? "timed out"
            : draining ? _inFlight == 0 ? "nothing in flight" : $"waited for {_inFlight} exchange(s) in flight"
            : null;
        var report = new PhaseReport(phase, _phaseClock.Elapsed, timedOut, _cleaned.ToList(),
            _pending.Order(StringComparer.Ordinal).ToList(), note, draining ? _inFlight : null);
        _reports.Add(report);
        _log.Info("shutdown phase {Phase} finished in {DurationMs:0.0} ms{Note}", phase, report.Duration.TotalMilliseconds,
            timedOut ? $"; timed out with pending: {string.Join(", ", report.Pending)}" : "");
        Context.System.EventStream.Publish(new ShutdownPhaseCompleted(report));
        if (_current == 3)
        {
            // Reported before CoordinatedShutdown hears we are done: after that the system terminates.
            var final = BuildReport();
            _log.Info("shutdown report {Report}", final.ToJson());
            Context.System.EventStream.Publish(new ShutdownCompleted(final));
            _onCompleted?.Invoke(final);
            Become(Stopped);
        }
        else
        {
            Become(Idle);
        }
        foreach (var waiter in _waiters) waiter.Tell(report);
        _waiters.Clear();
        Stash.UnstashAll();
    }

    private void Stopped()
    {
        Receive<RunPhase>(m => Sender.Tell(_reports.LastOrDefault(r => r.Phase == m.Phase)
            ?? new PhaseReport(m.Phase, TimeSpan.Zero, false, [], [], "skipped: escalated to force-cleanup")));
        Receive<Escalate>(_ => { });
        Common();
        ReceiveAny(_ => { });
    }

    private ShutdownReport BuildReport() => new("shutdown", _startedAt, _reports.ToList(),
        _current == 3 ? _ledger.Entries.Select(e => e.ToString()).ToList() : [], _totalClock.Elapsed);
}
