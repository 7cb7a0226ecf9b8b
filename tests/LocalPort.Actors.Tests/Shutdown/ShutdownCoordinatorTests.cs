using System.Runtime.InteropServices;
using Akka.Actor;
using Akka.TestKit;
using LocalPort.Actors.Forwarding;
using LocalPort.Actors.Reload;
using LocalPort.Actors.Services;
using LocalPort.Actors.Shutdown;
using LocalPort.Actors.Tests.Support;
using LocalPort.Core.Processes;

namespace LocalPort.Actors.Tests.Shutdown;

public class ShutdownCoordinatorTests : VirtualTimeTestKit
{
    private static readonly Dictionary<string, TimeSpan> Timeouts = new()
    {
        [ShutdownPhases.StopNewWork] = TimeSpan.FromSeconds(2),
        [ShutdownPhases.CompleteCurrent] = TimeSpan.FromSeconds(8),
        [ShutdownPhases.CancelTasks] = TimeSpan.FromSeconds(15),
        [ShutdownPhases.ForceCleanup] = TimeSpan.FromSeconds(5),
    };

    private readonly TestProbe _root;
    private readonly ResourceLedger _ledger = new();
    private readonly IActorRef _coordinator;
    private ShutdownReport? _final;

    public ShutdownCoordinatorTests()
    {
        _root = CreateTestProbe();
        _coordinator = Sys.ActorOf(ShutdownCoordinator.Props(_root.Ref, _ledger, p => Timeouts[p], onCompleted: r => _final = r));
    }

    private void Run(string phase) => _coordinator.Tell(new ShutdownCoordinator.RunPhase(phase), TestActor);

    private PhaseReport ExpectReport(string phase)
    {
        var report = ExpectMsg<PhaseReport>(TimeSpan.FromSeconds(5));
        Assert.Equal(phase, report.Phase);
        return report;
    }

    private void AnswerStopNewWork(params string[] services)
    {
        _root.ExpectMsg<StopNewWork>();
        _root.Reply(new PhaseTargets(services));
        foreach (var s in services) _coordinator.Tell(new ForwardActor.Frozen(s));
    }

    [Fact]
    public void The_four_phases_run_in_order_and_each_reports_its_work()
    {
        Run(ShutdownPhases.StopNewWork);
        AnswerStopNewWork("web", "db");
        Assert.Equal(["restarts stopped: web", "restarts stopped: db"], ExpectReport(ShutdownPhases.StopNewWork).Cleaned);

        Run(ShutdownPhases.CompleteCurrent);
        _root.ExpectMsg<DrainConnections>();
        _root.Reply(new PhaseTargets(["web"]));
        _coordinator.Tell(new ForwardActor.Drained("web"));
        Assert.False(ExpectReport(ShutdownPhases.CompleteCurrent).TimedOut);

        Run(ShutdownPhases.CancelTasks);
        _root.ExpectMsg<StopAll>();
        _root.Reply(new AllStopped(2));
        Assert.Equal(["services stopped: 2"], ExpectReport(ShutdownPhases.CancelTasks).Cleaned);

        Run(ShutdownPhases.ForceCleanup);
        ExpectReport(ShutdownPhases.ForceCleanup);
        AwaitCondition(() => _final is not null, TimeSpan.FromSeconds(3));
        Assert.Equal(ShutdownPhases.All, _final!.Phases.Select(p => p.Phase));
        Assert.True(_final.Clean);
    }

    [Fact]
    public void Complete_current_reports_whether_anything_was_in_flight_and_names_only_services_that_had_something()
    {
        Run(ShutdownPhases.StopNewWork);
        AnswerStopNewWork("web", "db", "cache");
        ExpectReport(ShutdownPhases.StopNewWork);
        Run(ShutdownPhases.CompleteCurrent);
        _root.ExpectMsg<DrainConnections>();
        _root.Reply(new PhaseTargets(["web", "db", "cache"]));
        _coordinator.Tell(new ForwardActor.Drained("web"));
        _coordinator.Tell(new ForwardActor.Drained("db", InFlight: 2));
        _coordinator.Tell(new ForwardActor.Drained("cache"));

        var busy = ExpectReport(ShutdownPhases.CompleteCurrent);
        Assert.Equal(2, busy.InFlight);
        Assert.Equal("waited for 2 exchange(s) in flight", busy.Note);
        Assert.Equal(["exchanges finished: db (2)"], busy.Cleaned);

        // Another shutdown where nothing moved: the report says so.
        var quiet = Sys.ActorOf(ShutdownCoordinator.Props(_root.Ref, _ledger, p => Timeouts[p]));
        quiet.Tell(new ShutdownCoordinator.RunPhase(ShutdownPhases.CompleteCurrent), TestActor);
        _root.ExpectMsg<DrainConnections>();
        _root.Reply(new PhaseTargets(["web"]));
        quiet.Tell(new ForwardActor.Drained("web"));
        var idle = ExpectReport(ShutdownPhases.CompleteCurrent);
        Assert.Equal(0, idle.InFlight);
        Assert.Equal("nothing in flight", idle.Note);
        Assert.Empty(idle.Cleaned);
        Assert.Contains("\"in_flight\":0", new ShutdownReport("shutdown", DateTimeOffset.Now, [idle], [], TimeSpan.Zero).ToJson());
    }

    [Fact]
    public void Stop_new_work_stops_the_config_watcher_and_waits_for_it()
    {
        var watcher = CreateTestProbe();
        var coordinator = Sys.ActorOf(ShutdownCoordinator.Props(_root.Ref, _ledger, p => Timeouts[p], configWatcher: watcher.Ref));

        coordinator.Tell(new ShutdownCoordinator.RunPhase(ShutdownPhases.StopNewWork), TestActor);
        _root.ExpectMsg<StopNewWork>();
        _root.Reply(new PhaseTargets([]));
        watcher.ExpectMsg<StopWatching>();
        ExpectNoMsg(TimeSpan.FromMilliseconds(100));
        watcher.Reply(WatchingStopped.Instance);

        Assert.Equal(["config watcher stopped"], ExpectReport(ShutdownPhases.StopNewWork).Cleaned);
    }

    [Fact]
    public void A_phase_that_times_out_names_what_was_pending()
    {
        Run(ShutdownPhases.StopNewWork);
        _root.ExpectMsg<StopNewWork>();
        _root.Reply(new PhaseTargets(["web", "db", "cache"]));
        _coordinator.Tell(new ForwardActor.Frozen("web"));
        ExpectNoMsg(TimeSpan.FromMilliseconds(100));

        Advance(TimeSpan.FromSeconds(1.8));

        var report = ExpectReport(ShutdownPhases.StopNewWork);
        Assert.True(report.TimedOut);
        Assert.Equal(["cache", "db"], report.Pending);
    }

    [Fact]
    public void Answers_that_overtake_the_target_list_still_count()
    {
        Run(ShutdownPhases.StopNewWork);
        _root.ExpectMsg<StopNewWork>();
        _coordinator.Tell(new ForwardActor.Frozen("web"));
        _coordinator.Tell(new PhaseTargets(["web"]), _root.Ref);
        Assert.False(ExpectReport(ShutdownPhases.StopNewWork).TimedOut);
    }

    [Fact]
    public void A_later_phase_asked_for_mid_phase_waits_for_the_current_one()
    {
        Run(ShutdownPhases.StopNewWork);
        _root.ExpectMsg<StopNewWork>();
        Run(ShutdownPhases.CompleteCurrent);
        _root.ExpectNoMsg(TimeSpan.FromMilliseconds(200));

        _coordinator.Tell(new PhaseTargets([]), _root.Ref);

        ExpectReport(ShutdownPhases.StopNewWork);
        _root.ExpectMsg<DrainConnections>();
    }

    [Fact]
    public void Asking_twice_for_the_same_phase_runs_it_once_and_answers_both()
    {
        var other = CreateTestProbe();
        Run(ShutdownPhases.StopNewWork);
        _coordinator.Tell(new ShutdownCoordinator.RunPhase(ShutdownPhases.StopNewWork), other.Ref);
        AnswerStopNewWork("web");

        ExpectReport(ShutdownPhases.StopNewWork);
        Assert.Equal(ShutdownPhases.StopNewWork, other.ExpectMsg<PhaseReport>().Phase);
        _root.ExpectNoMsg(TimeSpan.FromMilliseconds(100));
    }

    [Fact]
    public void Status_queries_are_answered_while_a_phase_runs()
    {
        Run(ShutdownPhases.StopNewWork);
        _root.ExpectMsg<StopNewWork>();

        _coordinator.Tell(GetStatus.Instance, TestActor);

        _root.ExpectMsg<GetStatus>();
        _root.Reply(new StatusSnapshot([]));
        ExpectMsg<StatusSnapshot>();
    }

    [Fact]
    public void Force_cleanup_kills_a_child_that_ignored_sigterm_and_empties_the_ledger()
    {
        using var stubborn = ChildProcess.Start(new ProcessSpec("sh", ["-c", "trap '' TERM; while :; do sleep 1; done"]) { Ledger = _ledger });
        var file = Path.Combine(Path.GetTempPath(), $"lp-ledger-{Guid.NewGuid():N}.sock");
        File.WriteAllText(file, "");
        _ledger.TrackFile(file, "test socket");

        Run(ShutdownPhases.ForceCleanup);

        var report = ExpectReport(ShutdownPhases.ForceCleanup);
        Assert.Contains(report.Cleaned, c => c.StartsWith($"SIGKILL process {stubborn.Pid}"));
        Assert.Contains(report.Cleaned, c => c.Contains(file));
        Assert.True(stubborn.Exited.Wait(TimeSpan.FromSeconds(3)));
        Assert.False(File.Exists(file));
        AwaitCondition(() => _final is not null, TimeSpan.FromSeconds(3));
        Assert.Empty(_final!.Leftovers);
    }

    [Fact]
    public void Escalation_skips_straight_to_force_cleanup_and_answers_the_waiting_phase()
    {
        Run(ShutdownPhases.StopNewWork);
        AnswerStopNewWork();
        ExpectReport(ShutdownPhases.StopNewWork);
        Run(ShutdownPhases.CompleteCurrent);
        _root.ExpectMsg<DrainConnections>();

        _coordinator.Tell(ShutdownCoordinator.Escalate.Instance);

        Assert.Contains("escalated", ExpectReport(ShutdownPhases.CompleteCurrent).Note);
        AwaitCondition(() => _final is not null, TimeSpan.FromSeconds(3));
        Run(ShutdownPhases.CancelTasks);
        Assert.Contains("skipped", ExpectReport(ShutdownPhases.CancelTasks).Note);
        _root.ExpectNoMsg(TimeSpan.FromMilliseconds(100));
    }

    /// <summary>A coordinator whose signal actions are recorded instead of run: starts and exit codes go to probes.</summary>
    private (IActorRef Coordinator, TestProbe Starts, TestProbe Exits, TestProbe Events) WithSignals(IActorRef? watcher = null)
    {
        var starts = CreateTestProbe();
        var exits = CreateTestProbe();
        var events = CreateTestProbe();
        Sys.EventStream.Subscribe(events.Ref, typeof(SignalHandled));
        var coordinator = Sys.ActorOf(ShutdownCoordinator.Props(_root.Ref, _ledger, p => Timeouts[p], onCompleted: r => _final = r,
            configWatcher: watcher, startShutdown: () => starts.Ref.Tell("start"), exit: code => exits.Ref.Tell(code)));
        return (coordinator, starts, exits, events);
    }

    private static void Signal(IActorRef coordinator, PosixSignal signal) =>
        coordinator.Tell(new ShutdownCoordinator.SignalReceived(signal));

    [Fact]
    public void A_burst_of_sigterm_starts_one_shutdown()
    {
        var (coordinator, starts, _, events) = WithSignals();

        for (var i = 0; i < 5; i++) Signal(coordinator, PosixSignal.SIGTERM);

        Assert.Equal(new SignalHandled(PosixSignal.SIGTERM, 1, SignalOutcome.ShutdownStarted), events.ExpectMsg<SignalHandled>());
        for (var count = 2; count <= 5; count++)
            Assert.Equal(new SignalHandled(PosixSignal.SIGTERM, count, SignalOutcome.AlreadyStopping), events.ExpectMsg<SignalHandled>());
        starts.ExpectMsg("start");
        starts.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public void A_signal_after_a_shutdown_started_elsewhere_does_not_start_another()
    {
        var (coordinator, starts, _, events) = WithSignals();
        coordinator.Tell(new ShutdownCoordinator.RunPhase(ShutdownPhases.StopNewWork), TestActor);
        _root.ExpectMsg<StopNewWork>();

        Signal(coordinator, PosixSignal.SIGINT);

        Assert.Equal(SignalOutcome.AlreadyStopping, events.ExpectMsg<SignalHandled>().Outcome);
        starts.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public void A_second_sigint_escalates_to_force_cleanup()
    {
        var (coordinator, starts, exits, events) = WithSignals();
        var phases = CreateTestProbe();
        Sys.EventStream.Subscribe(phases.Ref, typeof(ShutdownPhaseStarted));

        Signal(coordinator, PosixSignal.SIGINT);
        Signal(coordinator, PosixSignal.SIGINT);

        starts.ExpectMsg("start");
        Assert.Equal(SignalOutcome.ShutdownStarted, events.ExpectMsg<SignalHandled>().Outcome);
        Assert.Equal(new SignalHandled(PosixSignal.SIGINT, 2, SignalOutcome.Escalated), events.ExpectMsg<SignalHandled>());
        Assert.Equal(ShutdownPhases.ForceCleanup, phases.ExpectMsg<ShutdownPhaseStarted>().Phase);
        AwaitCondition(() => _final is not null, TimeSpan.FromSeconds(3));
        Assert.Equal([ShutdownPhases.ForceCleanup], _final!.Phases.Select(p => p.Phase));
        exits.ExpectNoMsg(TimeSpan.FromMilliseconds(100));
    }

    [Fact]
    public void A_third_sigint_kills_every_child_and_exits_130_once()
    {
        var (coordinator, _, exits, events) = WithSignals();
        using var stubborn = ChildProcess.Start(new ProcessSpec("sh", ["-c", "trap '' TERM INT; while :; do sleep 1; done"]) { Ledger = _ledger });

        for (var i = 0; i < 4; i++) Signal(coordinator, PosixSignal.SIGINT);

        Assert.Equal(130, exits.ExpectMsg<int>(TimeSpan.FromSeconds(5)));
        AwaitCondition(() => stubborn.Exited.IsCompleted, TimeSpan.FromSeconds(3), "the child outlived the exit");
        Assert.Equal([SignalOutcome.ShutdownStarted, SignalOutcome.Escalated, SignalOutcome.ExitingNow, SignalOutcome.ExitingNow],
            Enumerable.Range(0, 4).Select(_ => events.ExpectMsg<SignalHandled>().Outcome));
        exits.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
    }

    [Fact]
    public void Sigquit_asks_the_root_for_a_status_dump()
    {
        var (coordinator, starts, _, _) = WithSignals();

        Signal(coordinator, PosixSignal.SIGQUIT);

        _root.ExpectMsg<DumpStatus>();
        starts.ExpectNoMsg(TimeSpan.FromMilliseconds(100));
    }

    [Fact]
    public void Sighup_reloads_through_the_root_without_a_watcher_and_is_ignored_once_stopping()
    {
        var (coordinator, _, _, events) = WithSignals();

        Signal(coordinator, PosixSignal.SIGHUP);
        _root.ExpectMsg<ReloadConfig>();
        Signal(coordinator, PosixSignal.SIGTERM);
        Signal(coordinator, PosixSignal.SIGHUP);

        Assert.Equal([SignalOutcome.ReloadRequested, SignalOutcome.ShutdownStarted, SignalOutcome.ReloadIgnored],
            Enumerable.Range(0, 3).Select(_ => events.ExpectMsg<SignalHandled>().Outcome));
        _root.ExpectNoMsg(TimeSpan.FromMilliseconds(100));
    }

    [Fact]
    public void Escalation_before_the_first_phase_still_freezes_restarts()
    {
        var (coordinator, _, _, _) = WithSignals();

        Signal(coordinator, PosixSignal.SIGINT);
        Signal(coordinator, PosixSignal.SIGINT);

        _root.ExpectMsg<StopNewWork>();
        AwaitCondition(() => _final is not null, TimeSpan.FromSeconds(3));
        Assert.Equal([ShutdownPhases.ForceCleanup], _final!.Phases.Select(p => p.Phase));
    }

    [Fact]
    public void Escalation_between_phases_does_not_report_the_finished_phase_again()
    {
        var completed = CreateTestProbe();
        Sys.EventStream.Subscribe(completed.Ref, typeof(ShutdownPhaseCompleted));
        Run(ShutdownPhases.StopNewWork);
        AnswerStopNewWork("web");
        ExpectReport(ShutdownPhases.StopNewWork);

        _coordinator.Tell(ShutdownCoordinator.Escalate.Instance);

        Assert.Equal(ShutdownPhases.StopNewWork, completed.ExpectMsg<ShutdownPhaseCompleted>().Report.Phase);
        Assert.Equal(ShutdownPhases.ForceCleanup, completed.ExpectMsg<ShutdownPhaseCompleted>().Report.Phase);
        AwaitCondition(() => _final is not null, TimeSpan.FromSeconds(3));
        Assert.Equal([ShutdownPhases.StopNewWork, ShutdownPhases.ForceCleanup], _final!.Phases.Select(p => p.Phase));
    }
}
