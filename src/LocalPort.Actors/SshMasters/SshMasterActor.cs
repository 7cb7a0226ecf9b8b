using Akka.Actor;
using Akka.Event;
using LocalPort.Core.Config;
using LocalPort.Core.Forwarding;
using LocalPort.Core.Processes;
using LocalPort.Core.Recovery;

namespace LocalPort.Actors.SshMasters;

using Book = SshForwardBook<SharedSshTunnel, SshMasterActor.Master>;

/// <summary>
/// One ssh connection group: the master that carries every member's forward (added with <c>-O forward</c>, removed with
/// <c>-O cancel</c>, batched while one is in flight), and with <c>standby: true</c> a second authenticated master kept
/// ready. A master that dies or is found hung (stopped, or not answering <c>-O check</c>) ends every forward on it: the
/// members' ForwardActors count that as their tunnel's failure, as the <see cref="FailureAccount"/> judges it, and ask
/// again, which lands on the standby (one round trip) or on a new master (a handshake, shared by all of them).
/// The master stops when its last member stops.
/// </summary>
public sealed class SshMasterActor : ReceiveActor, IWithTimers
{
    public sealed record Add(SharedSshTunnel Tunnel);
    /// <param name="Failed">The forward failed (the master is checked); false for an orderly stop.</param>
    public sealed record Release(SharedSshTunnel Tunnel, bool Failed);
    /// <summary>Shutdown has begun: no new master or standby, and masters stop as soon as nobody uses them.</summary>
    public sealed class Freeze { public static readonly Freeze Instance = new(); private Freeze() { } }
    /// <summary>
    /// These services are stopping for good (the root's stop of all): once every member is leaving, the master goes at
    /// once, without a <c>-O cancel</c> per forward, and the members' tunnels are released.
    /// </summary>
    public sealed record Leaving(IReadOnlyCollection<string> Services);
    /// <summary>Answered with <see cref="MastersStopped"/> once no master of this group runs (or the stop grace has passed).</summary>
    public sealed class AwaitStopped { public static readonly AwaitStopped Instance = new(); private AwaitStopped() { } }
    public sealed class MastersStopped { public static readonly MastersStopped Instance = new(); private MastersStopped() { } }

    private sealed record MasterUp(Master Master, bool Up);
    private sealed record MasterDown(Master Master, int Code);
    private sealed record StartTimedOut(Master Master);
    private sealed record ControlDone(Master Master, string Command, IReadOnlyList<SharedSshTunnel> Batch, SshControl.Outcome Outcome);
    private sealed record CheckDone(Master Master, SshControl.Outcome Outcome);
    private sealed class Tick { public static readonly Tick Instance = new(); }
    private sealed class StartDue { public static readonly StartDue Instance = new(); }
    private sealed class StandbyDue { public static readonly StandbyDue Instance = new(); }
    private sealed class IdleDue { public static readonly IdleDue Instance = new(); }
    private sealed class RegatherDue { public static readonly RegatherDue Instance = new(); }
    private sealed class StopWaitOver { public static readonly StopWaitOver Instance = new(); }

    /// <summary>One master process and what this actor knows of it.</summary>
    internal sealed class Master(SshMaster process)
    {
        public SshMaster Process { get; } = process;
        public bool Ready { get; set; }
        public bool Down { get; set; }
        public bool TimedOut { get; set; }
        public int Suspended { get; set; }
        public bool ForwardBusy { get; set; }
        public bool CancelBusy { get; set; }
        public bool CheckBusy { get; set; }
        public int Pid => Process.Pid ?? 0;
    }

    private const string TickTimer = "tick", StartTimer = "start", StandbyTimer = "standby", IdleTimer = "idle", RegatherTimer = "regather",
        StopWaitTimer = "stop-wait";
    /// <summary>After a master dies, its services' new requests are gathered this long into one -O forward (they come within ms).</summary>
    private static readonly TimeSpan RegatherWindow = TimeSpan.FromMilliseconds(30);
    private static int s_sequence;

    private readonly SshGroup _group;
    private readonly SshMasterSettings _settings;
    private readonly ResourceLedger? _ledger;
    private readonly Func<double> _random;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Book _book = new();
    private readonly List<Master> _stopping = [];
    /// <summary>Services stopping for good (<see cref="Leaving"/>).</summary>
    private readonly HashSet<string> _leaving = new(StringComparer.Ordinal);
    /// <summary>Who waits for <see cref="MastersStopped"/>.</summary>
    private readonly List<IActorRef> _stopWaiters = [];
    private Master? _active;
    private Master? _standby;
    private bool _frozen;
    private bool _oneByOne;
    private readonly SshMasterStarts _starts = new();
    private TimeSpan? _tickInterval;
    /// <summary>Services whose forwards a dead master carried: their requests are expected back together.</summary>
    private readonly HashSet<string> _expected = new(StringComparer.Ordinal);
    private TimeSpan _expectedUntil;

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(SshGroup group, SshMasterSettings settings, ResourceLedger? ledger, Func<double> random) =>
        Akka.Actor.Props.Create(() => new SshMasterActor(group, settings, ledger, random));

    public SshMasterActor(SshGroup group, SshMasterSettings settings, ResourceLedger? ledger, Func<double> random)
    {
        _group = group;
        _settings = settings;
        _ledger = ledger;
        _random = random;
        Receive<Add>(HandleAdd);
        Receive<Release>(HandleRelease);
        Receive<Freeze>(_ => HandleFreeze());
        Receive<Leaving>(HandleLeaving);
        Receive<AwaitStopped>(_ =>
        {
            // Asked once every service has stopped: a master still up serves nobody.
            if (!_book.HasLive && (_active is not null || _standby is not null)) StopMasters("no service uses it any more");
            _stopWaiters.Add(Sender);
            if (!Timers.IsTimerActive(StopWaitTimer)) Timers.StartSingleTimer(StopWaitTimer, StopWaitOver.Instance, _settings.StopGrace);
            AnswerStopWaiters();
        });
        // A master that ignores SIGTERM is left to force-cleanup, as a service's own ssh is.
        Receive<StopWaitOver>(_ => AnswerStopWaiters(force: true));
        Receive<MasterUp>(m => HandleUp(m.Master, m.Up));
        Receive<MasterDown>(m => HandleDown(m.Master, m.Code, pump: true));
        Receive<StartTimedOut>(m => HandleStartTimedOut(m.Master));
        Receive<ControlDone>(m => m.Command == SshControl.Forward, HandleForwarded);
        Receive<ControlDone>(HandleCancelled);
        Receive<CheckDone>(m => HandleChecked(m.Master, m.Outcome));
        Receive<Tick>(_ => HandleTick());
        Receive<StartDue>(_ => Pump());
        Receive<RegatherDue>(_ => Pump());
        Receive<StandbyDue>(_ => Pump());
        Receive<IdleDue>(_ =>
        {
            if (!_book.HasLive) StopMasters("no service uses it any more");
        });
    }

    private TimeSpan Now => Context.System.Scheduler.MonotonicClock;

    private void HandleAdd(Add add)
    {
        Timers.Cancel(IdleTimer);
        NoticeExits();
        if (_frozen)
        {
            add.Tunnel.Failed("LocalPort is shutting down");
            return;
        }
        if (_active is null && _starts.RecentFailure(Now) is { } reason)
        {
            add.Tunnel.Failed(reason);
            return;
        }
        _book.Add(add.Tunnel, add.Tunnel.Service.Name);
        Pump();
    }

    private void HandleRelease(Release release)
    {
        NoticeExits();
        // A master that is gone, or about to stop, needs no -O cancel; one in flight settles the rest when it answers.
        var (what, master) = _book.Release(release.Tunnel, on => on.Down || _frozen);
        if (what is Book.Released.Unknown or Book.Released.Dropped) release.Tunnel.Released();
        if (master is not null) UpdateCarries(master);
        if (release.Failed && master is { Down: false, Ready: true } && master == _active) Inspect(master);
        if (!_book.HasLive)
        {
            if (!release.Failed || _frozen) StopMasters("no service uses it any more");
            else Timers.StartSingleTimer(IdleTimer, IdleDue.Instance, _settings.IdleLinger);
        }
        Pump();
    }

    private void HandleFreeze()
    {
        _frozen = true;
        Timers.Cancel(StandbyTimer);
        Timers.Cancel(StartTimer);
        if (!_book.HasLive) StopMasters("shutting down");
    }

    private void HandleLeaving(Leaving leaving)
    {
        _leaving.UnionWith(leaving.Services);
        if (_book.Count == 0 || !_book.Forwards.All(f => _leaving.Contains(f.Service.Name))) return;
        // Every member goes: the master goes now (signalled first), and its forwards with it (their ForwardActors are stopping).
        StopMasters("every service on it is stopping");
        foreach (var tunnel in _book.Clear()) tunnel.Released();
    }

    /// <summary>Tells those waiting for the masters' exits, once none runs (or, forced, whatever still runs).</summary>
    private void AnswerStopWaiters(bool force = false)
    {
        NoticeExits();
        if (_stopWaiters.Count == 0 || !force && (_active is not null || _standby is not null || _stopping.Count > 0)) return;
        Timers.Cancel(StopWaitTimer);
        foreach (var waiter in _stopWaiters) waiter.Tell(MastersStopped.Instance);
        _stopWaiters.Clear();
    }

    /// <summary>Moves everything forward: a master for waiting forwards, their -O forward, pending cancels, the standby.</summary>
    private void Pump()
    {
        NoticeExits();
        if (_frozen) return;
        if (_active is null && _book.AnyWaiting)
        {
            if (_standby is { } standby) Promote(standby);
            else StartActive();
        }
        if (_active is { Ready: true, Down: false } active)
        {
            SendForwards(active);
            SendCancels(active);
        }
        if (!_book.AnyWaiting && !_book.AnyAdding) StartStandbyIfWanted();
        UpdateTick();
    }

    /// <summary>An exit whose message has not come yet is handled now, so no -O command goes to a dead master.</summary>
    private void NoticeExits()
    {
        if (_active is { Down: false, Process.Exited.IsCompleted: true } active) HandleDown(active, active.Process.Exited.Result, pump: false);
        if (_standby is { Down: false, Process.Exited.IsCompleted: true } standby) HandleDown(standby, standby.Process.Exited.Result, pump: false);
    }

    private void StartActive()
    {
        var wait = _starts.WaitBeforeStart(Now);
        if (wait > TimeSpan.Zero)
        {
            if (!Timers.IsTimerActive(StartTimer)) Timers.StartSingleTimer(StartTimer, StartDue.Instance, wait);
            return;
        }
        if (Launch(_book.Forwards.First().Service, out var error) is { } master)
        {
            _active = master;
            return;
        }
        _starts.LaunchFailed(Now, error!);
        FailWaiting(error!);
    }

    private Master? Launch(ServiceSpec forService, out string? error)
    {
        error = null;
        var path = _group.ControlPath(_settings.ControlDirectory, Interlocked.Increment(ref s_sequence));
        if (path is null)
        {
            error = $"the control socket path in {_settings.ControlDirectory} would be too long for ssh";
            return null;
        }
        SshMaster process;
        try
        {
            process = new SshMaster(_group.Connection, path, _settings.ControlDirectory,
                Path.Combine(_settings.LogDirectory, $"{forService.Name}.log"), _ledger);
        }
        catch (Exception e)
        {
            // No executable, an unwritable helper: the same words a service's own ssh would give.
            error = $"could not start: {e.Message}";
            return null;
        }
        _starts.Started(Now);
        var master = new Master(process);
        process.Ready.ContinueWith(t => new MasterUp(master, t.IsCompletedSuccessfully), TaskScheduler.Default).PipeTo(Self);
        process.Exited.ContinueWith(t => new MasterDown(master, t.Result), TaskScheduler.Default).PipeTo(Self);
        Timers.StartSingleTimer(master, new StartTimedOut(master), _settings.StartTimeout);
        return master;
    }

    private void HandleUp(Master master, bool up)
    {
        Timers.Cancel(master);
        if (!up || master.Down || master.Process.Exited.IsCompleted) return;
        master.Ready = true;
        if (master == _active)
        {
            _starts.Up();
            _log.Info("ssh connection to {0} is up (pid {1}); forwarding for {2}", _group.Destination, master.Pid, string.Join(", ", _book.WaitingNames));
        }
        else if (master == _standby)
        {
            _starts.StandbyUp();
            _log.Info("ssh connection to {0}: standby pid {1} is ready", _group.Destination, master.Pid);
        }
        Pump();
    }

    private void HandleStartTimedOut(Master master)
    {
        if (master.Ready || master.Down) return;
        master.TimedOut = true;
        _log.Warning("ssh connection to {0}: pid {1} not ready within {2}; killed it", _group.Destination, master.Pid, Durations.Format(_settings.StartTimeout));
        master.Process.Kill();
    }

    /// <summary>A master ended (exited, killed, or stopped by us). Idempotent: the exit may be noticed before its message.</summary>
    private void HandleDown(Master master, int code, bool pump)
    {
        if (master.Down) return;
        master.Down = true;
        Timers.Cancel(master);
        _stopping.Remove(master);
        // What it carried ends with it (those tunnels exit; their ForwardActors ask again); -O forwards in flight wait for the next.
        var (carried, released) = _book.MasterDown(master);
        foreach (var tunnel in released) tunnel.Released();
        if (master == _standby)
        {
            _standby = null;
            _starts.StandbyEnded(Now, master.Ready, _random());
            _log.Warning("ssh connection to {0}: standby pid {1} ended with code {2}{3}", _group.Destination, master.Pid, code,
                master.Ready ? "" : $": {master.Process.DescribeFailure()}");
        }
        else if (master == _active)
        {
            _active = null;
            if (master.Ready)
            {
                ExpectBack(carried);
                _log.Warning("ssh connection to {0} (pid {1}) ended with code {2}; {3} forward(s) move to {4}: {5}", _group.Destination, master.Pid, code,
                    carried.Count, _standby is { } standby ? $"the standby (pid {standby.Pid})" : "a new connection", string.Join(", ", carried));
            }
            else
                StartFailed(master, code);
        }
        if (pump) Pump();
        AnswerStopWaiters();
    }

    private void StartFailed(Master master, int code)
    {
        // Its own words: the exit is complete (output drained) when this runs, even if Ready's fault is still on its way.
        var reason = master.TimedOut
            ? $"ssh connection to {_group.Destination} not ready within {Durations.Format(_settings.StartTimeout)}"
            : master.Process.Ready.Exception?.InnerException is TunnelStartException { Message: var said } && !said.StartsWith("exited with code", StringComparison.Ordinal)
                ? said
                : $"exited with code {code} before it was ready: {master.Process.DescribeFailure()}";
        if (!_starts.FailsWaiting(Now, code, master.TimedOut, reason))
        {
            _log.Warning("ssh connection to {0}: pid {1} was killed (code {2}) before it was ready; starting another", _group.Destination, master.Pid, code);
            return;
        }
        _log.Warning("ssh connection to {0} failed: {1}; waiting: {2}", _group.Destination, reason, string.Join(", ", _book.WaitingNames));
        FailWaiting(reason);
    }

    private void FailWaiting(string reason)
    {
        var (failed, released) = _book.FailWaiting();
        foreach (var tunnel in failed) tunnel.Failed(reason);
        foreach (var tunnel in released) tunnel.Released();
    }

    private void Promote(Master standby)
    {
        _standby = null;
        _active = standby;
        _starts.StandbyPromoted(Now);
        _log.Info("ssh connection to {0}: switching to the standby (pid {1}{2})", _group.Destination, standby.Pid, standby.Ready ? "" : ", still connecting");
    }

    /// <summary>The services a dead master carried ask again within ms: one -O forward for all of them, not one for the first.</summary>
    private void ExpectBack(IReadOnlyList<string> carried)
    {
        if (carried.Count < 2) return;
        _expected.Clear();
        _expected.UnionWith(carried);
        _expectedUntil = Now + RegatherWindow;
        Timers.StartSingleTimer(RegatherTimer, RegatherDue.Instance, RegatherWindow);
    }

    private void SendForwards(Master master)
    {
        if (master.ForwardBusy || !_book.AnyWaiting) return;
        if (_expected.Count > 0)
        {
            if (Now < _expectedUntil && !_expected.IsSubsetOf(_book.WaitingNameSet)) return;
            _expected.Clear();
            Timers.Cancel(RegatherTimer);
        }
        master.ForwardBusy = true;
        RunControl(master, SshControl.Forward, _book.TakeForwards(master, _oneByOne));
    }

    private void SendCancels(Master master)
    {
        if (master.CancelBusy) return;
        var batch = _book.TakeCancels(master);
        if (batch.Count == 0) return;
        master.CancelBusy = true;
        RunControl(master, SshControl.Cancel, batch);
    }

    private void RunControl(Master master, string command, IReadOnlyList<SharedSshTunnel> batch)
    {
        var connection = _group.Connection;
        var path = master.Process.ControlPath;
        var forwards = batch.Select(t => t.Forward).ToList();
        var timeout = _settings.ControlTimeout;
        var ledger = _ledger;
        Task.Run(() => SshControl.RunAsync(connection, path, command, forwards, timeout, ledger))
            .ContinueWith(t => new ControlDone(master, command, batch,
                t.IsCompletedSuccessfully ? t.Result : new SshControl.Outcome(false, t.Exception?.GetBaseException().Message ?? "cancelled")),
                TaskScheduler.Default)
            .PipeTo(Self);
    }

    private void HandleForwarded(ControlDone done)
    {
        var master = done.Master;
        master.ForwardBusy = false;
        if (done.Outcome.Ok)
        {
            foreach (var tunnel in _book.Forwarded(done.Batch, master)) tunnel.Carried(master.Process);
            UpdateCarries(master);
        }
        else if (master.Down || master.Process.Exited.IsCompleted || master != _active)
        {
            // The master went meanwhile: they wait for the next one.
            Requeue(done.Batch, master);
        }
        else if (done.Outcome.TimedOut)
        {
            _log.Warning("ssh connection to {0}: pid {1} does not answer -O forward; killed it", _group.Destination, master.Pid);
            Requeue(done.Batch, master);
            master.Process.Kill();
        }
        else if (done.Batch.Count > 1)
        {
            // Which one failed is not said: each tries alone (those already added answer ok again).
            _log.Debug("ssh connection to {0}: -O forward of {1} forwards failed ({2}); trying each alone", _group.Destination, done.Batch.Count, done.Outcome.Detail);
            Requeue(done.Batch, master);
            _oneByOne = true;
        }
        else
        {
            var (failed, released) = _book.Refused(done.Batch, master);
            foreach (var tunnel in failed) tunnel.Failed(done.Outcome.Detail);
            foreach (var tunnel in released) tunnel.Released();
        }
        if (!_book.AnyWaiting) _oneByOne = false;
        Pump();
    }

    private void Requeue(IReadOnlyList<SharedSshTunnel> batch, Master master)
    {
        foreach (var tunnel in _book.Requeue(batch, master)) tunnel.Released();
    }

    private void HandleCancelled(ControlDone done)
    {
        done.Master.CancelBusy = false;
        if (!done.Outcome.Ok && !done.Master.Down)
            _log.Debug("ssh connection to {0}: -O cancel: {1}", _group.Destination, done.Outcome.Detail);
        // Cancelled or not, the forward's socket goes, and nothing here points at it any more.
        foreach (var tunnel in _book.Cancelled(done.Batch)) tunnel.Released();
        Pump();
    }

    /// <summary>A member's forward failed: the master may be the reason (stopped, or not answering its control socket).</summary>
    private void Inspect(Master master)
    {
        if (master.Process.IsSuspended)
        {
            _log.Warning("ssh connection to {0}: pid {1} is stopped and carries no traffic; killed it", _group.Destination, master.Pid);
            master.Process.Kill();
            return;
        }
        if (master.CheckBusy) return;
        master.CheckBusy = true;
        var connection = _group.Connection;
        var path = master.Process.ControlPath;
        var timeout = _settings.ControlTimeout;
        var ledger = _ledger;
        Task.Run(() => SshControl.RunAsync(connection, path, SshControl.Check, [], timeout, ledger))
            .ContinueWith(t => new CheckDone(master, t.IsCompletedSuccessfully ? t.Result : new SshControl.Outcome(false, "check failed")), TaskScheduler.Default)
            .PipeTo(Self);
    }

    private void HandleChecked(Master master, SshControl.Outcome outcome)
    {
        master.CheckBusy = false;
        if (outcome.Ok || master.Down || master.Process.Exited.IsCompleted) return;
        _log.Warning("ssh connection to {0}: pid {1} does not answer ({2}); killed it", _group.Destination, master.Pid, outcome.Detail);
        master.Process.Kill();
    }

    /// <summary>A stopped master still accepts connections into the kernel backlog: only its state says it is hung.</summary>
    private void HandleTick()
    {
        var threshold = _book.Count == 0 ? HealthCheckSpec.Default.FailureThreshold : _book.Forwards.Min(t => t.Service.HealthCheck.FailureThreshold);
        foreach (var master in new[] { _active, _standby })
        {
            if (master is null || master.Down) continue;
            master.Suspended = master.Process.IsSuspended ? master.Suspended + 1 : 0;
            if (master.Suspended < Math.Max(threshold, 1)) continue;
            _log.Warning("ssh connection to {0}: {1} pid {2} is stopped and carries no traffic; killed it", _group.Destination,
                master == _standby ? "standby" : "master", master.Pid);
            master.Process.Kill();
        }
    }

    /// <summary>Checks at the members' shortest health-check interval while a master runs.</summary>
    private void UpdateTick()
    {
        TimeSpan? interval = _active is null && _standby is null ? null
            : _book.Count == 0 ? HealthCheckSpec.Default.Interval
            : _book.Forwards.Min(t => t.Service.HealthCheck.Interval);
        if (interval == _tickInterval) return;
        _tickInterval = interval;
        if (interval is { } every) Timers.StartPeriodicTimer(TickTimer, Tick.Instance, every);
        else Timers.Cancel(TickTimer);
    }

    private void StartStandbyIfWanted()
    {
        if (!_group.Connection.Standby || _frozen || _standby is not null || _active is not { Ready: true } || !_book.HasLive) return;
        var wait = _starts.WaitBeforeStandby(Now);
        if (wait > TimeSpan.Zero)
        {
            if (!Timers.IsTimerActive(StandbyTimer)) Timers.StartSingleTimer(StandbyTimer, StandbyDue.Instance, wait);
            return;
        }
        _standby = Launch(_book.Forwards.First().Service, out var error);
        if (_standby is not null) return;
        _starts.StandbyEnded(Now, wasReady: false, _random());
        _log.Warning("ssh connection to {0}: no standby: {1}", _group.Destination, error!);
    }

    private void StopMasters(string why)
    {
        foreach (var timer in new[] { TickTimer, StandbyTimer, StartTimer, IdleTimer, RegatherTimer }) Timers.Cancel(timer);
        _tickInterval = null;
        foreach (var master in new[] { _active, _standby })
        {
            if (master is null) continue;
            _stopping.Add(master);
            _ = master.Process.StopAsync(_settings.StopGrace, killAfterGrace: !_frozen);
            _log.Info("ssh connection to {0} (pid {1}) closed: {2}", _group.Destination, master.Pid, why);
        }
        _active = null;
        _standby = null;
    }

    private void UpdateCarries(Master master) => master.Process.Carries = _book.CarriedBy(master);

    protected override void PostStop()
    {
        // Nothing we started may outlive the actor; its members' ForwardActors see their tunnels fail and ask again.
        foreach (var master in new[] { _active, _standby }.Concat(_stopping)) master?.Process.Kill();
        foreach (var tunnel in _book.Clear()) tunnel.Failed("the ssh connection's actor stopped");
    }
}
