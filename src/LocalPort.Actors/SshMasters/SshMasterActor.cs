using Akka.Actor;
using Akka.Event;
using LocalPort.Core.Config;
using LocalPort.Core.Forwarding;
using LocalPort.Core.Processes;
using LocalPort.Core.Recovery;

namespace LocalPort.Actors.SshMasters;

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

    private sealed record MasterUp(Master Master, bool Up);
    private sealed record MasterDown(Master Master, int Code);
    private sealed record StartTimedOut(Master Master);
    private sealed record ControlDone(Master Master, string Command, IReadOnlyList<Member> Batch, SshControl.Outcome Outcome);
    private sealed record CheckDone(Master Master, SshControl.Outcome Outcome);
    private sealed class Tick { public static readonly Tick Instance = new(); }
    private sealed class StartDue { public static readonly StartDue Instance = new(); }
    private sealed class StandbyDue { public static readonly StandbyDue Instance = new(); }
    private sealed class IdleDue { public static readonly IdleDue Instance = new(); }
    private sealed class RegatherDue { public static readonly RegatherDue Instance = new(); }

    private enum Stage { Waiting, Adding, Carried, Cancelling }

    private sealed class Member(SharedSshTunnel tunnel)
    {
        public SharedSshTunnel Tunnel { get; } = tunnel;
        public Stage Stage { get; set; }
        public Master? On { get; set; }
        public bool ReleaseAsked { get; set; }
        public string Name => Tunnel.Service.Name;
    }

    private sealed class Master(SshMaster process)
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

    private const string TickTimer = "tick", StartTimer = "start", StandbyTimer = "standby", IdleTimer = "idle", RegatherTimer = "regather";
    /// <summary>After a master dies, its services' new requests are gathered this long into one -O forward (they come within ms).</summary>
    private static readonly TimeSpan RegatherWindow = TimeSpan.FromMilliseconds(30);
    /// <summary>A master that failed to start answers the next requests for this long with its reason, without another try.</summary>
    private static readonly TimeSpan StartFailureReuse = TimeSpan.FromSeconds(1);
    /// <summary>Masters killed by a signal while starting (not their own failure) are replaced this many times in a row for the same waiters.</summary>
    private const int MaxKilledWhileStarting = 3;
    private static int s_sequence;

    private readonly SshGroup _group;
    private readonly SshMasterSettings _settings;
    private readonly ResourceLedger? _ledger;
    private readonly Func<double> _random;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Dictionary<SharedSshTunnel, Member> _members = [];
    private readonly List<Master> _stopping = [];
    private Master? _active;
    private Master? _standby;
    private bool _frozen;
    private bool _oneByOne;
    private TimeSpan _nextStartAt;
    private TimeSpan _standbyNotBefore;
    private int _standbyFailures;
    private int _killedWhileStarting;
    private (string Reason, TimeSpan At)? _lastStartFailure;
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
            if (!HasLiveMembers) StopMasters("no service uses it any more");
        });
    }

    private TimeSpan Now => Context.System.Scheduler.MonotonicClock;

    private bool HasLiveMembers => _members.Values.Any(m => m.Stage == Stage.Carried || (m.Stage is Stage.Waiting or Stage.Adding && !m.ReleaseAsked));

    private bool AnyWaiting => _members.Values.Any(m => m.Stage == Stage.Waiting);

    private void HandleAdd(Add add)
    {
        Timers.Cancel(IdleTimer);
        NoticeExits();
        if (_frozen)
        {
            add.Tunnel.Failed("LocalPort is shutting down");
            return;
        }
        if (_active is null && _lastStartFailure is { } failure && Now - failure.At < StartFailureReuse)
        {
            add.Tunnel.Failed(failure.Reason);
            return;
        }
        _members[add.Tunnel] = new Member(add.Tunnel);
        Pump();
    }

    private void HandleRelease(Release release)
    {
        NoticeExits();
        if (!_members.TryGetValue(release.Tunnel, out var member))
        {
            release.Tunnel.Released();
            return;
        }
        var master = member.On;
        switch (member.Stage)
        {
            case Stage.Waiting:
                Drop(member);
                break;
            case Stage.Adding:
                member.ReleaseAsked = true; // settled when its -O forward answers
                break;
            case Stage.Carried when master is null || master.Down || _frozen:
                // A master that is gone, or about to stop, needs no -O cancel.
                Drop(member);
                break;
            case Stage.Carried:
                member.Stage = Stage.Cancelling;
                break;
        }
        if (master is not null) UpdateCarries(master);
        if (release.Failed && master is { Down: false, Ready: true } && master == _active) Inspect(master);
        if (!HasLiveMembers)
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
        if (!HasLiveMembers) StopMasters("shutting down");
    }

    /// <summary>Moves everything forward: a master for waiting members, their forwards, pending cancels, the standby.</summary>
    private void Pump()
    {
        NoticeExits();
        if (_frozen) return;
        if (_active is null && AnyWaiting)
        {
            if (_standby is { } standby) Promote(standby);
            else StartActive();
        }
        if (_active is { Ready: true, Down: false } active)
        {
            SendForwards(active);
            SendCancels(active);
        }
        if (!AnyWaiting && !_members.Values.Any(m => m.Stage == Stage.Adding)) StartStandbyIfWanted();
        UpdateTick();
    }

    /// <summary>An exit the Exited message has not brought yet is handled now, so no -O command goes to a dead master.</summary>
    private void NoticeExits()
    {
        if (_active is { Down: false, Process.Exited.IsCompleted: true } active) HandleDown(active, active.Process.Exited.Result, pump: false);
        if (_standby is { Down: false, Process.Exited.IsCompleted: true } standby) HandleDown(standby, standby.Process.Exited.Result, pump: false);
    }

    private void StartActive()
    {
        var wait = _nextStartAt - Now;
        if (wait > TimeSpan.Zero)
        {
            // No two masters start closer than the retry floor, whatever asks.
            if (!Timers.IsTimerActive(StartTimer)) Timers.StartSingleTimer(StartTimer, StartDue.Instance, wait);
            return;
        }
        var firstWaiting = _members.Values.First(m => m.Stage == Stage.Waiting);
        if (Launch(firstWaiting.Tunnel.Service, out var error) is { } master)
        {
            _active = master;
            return;
        }
        _lastStartFailure = (error!, Now);
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
        _nextStartAt = Now + FailureAccount.RetryFloor;
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
            _killedWhileStarting = 0;
            _lastStartFailure = null;
            _log.Info("ssh connection to {0} is up (pid {1}); forwarding for {2}", _group.Destination, master.Pid, WaitingNames());
        }
        else if (master == _standby)
        {
            _standbyFailures = 0;
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
        var carried = new List<string>();
        foreach (var member in _members.Values.Where(m => m.On == master).ToList())
        {
            if (member.Stage == Stage.Carried) carried.Add(member.Name);
            if (member.Stage == Stage.Adding && !member.ReleaseAsked)
            {
                // Its -O forward never landed: it goes on the next master, no failure of its own.
                member.Stage = Stage.Waiting;
                member.On = null;
            }
            else if (member.Stage == Stage.Carried)
                _members.Remove(member.Tunnel); // its tunnel exits with the master; its ForwardActor asks again
            else
                Drop(member);
        }
        if (master == _standby)
        {
            _standby = null;
            if (!master.Ready) _standbyFailures++;
            _standbyNotBefore = Now + StandbyDelay();
            _log.Warning("ssh connection to {0}: standby pid {1} ended with code {2}{3}", _group.Destination, master.Pid, code,
                master.Ready ? "" : $": {master.Process.DescribeFailure()}");
        }
        else if (master == _active)
        {
            _active = null;
            if (master.Ready && carried.Count > 1)
            {
                _expected.Clear();
                _expected.UnionWith(carried);
                _expectedUntil = Now + RegatherWindow;
                Timers.StartSingleTimer(RegatherTimer, RegatherDue.Instance, RegatherWindow);
            }
            if (master.Ready)
                _log.Warning("ssh connection to {0} (pid {1}) ended with code {2}; {3} forward(s) move to {4}: {5}", _group.Destination, master.Pid, code,
                    carried.Count, _standby is { } standby ? $"the standby (pid {standby.Pid})" : "a new connection", string.Join(", ", carried));
            else
                StartFailed(master, code);
        }
        if (pump) Pump();
    }

    private void StartFailed(Master master, int code)
    {
        // Its own words: the exit is complete (output drained) when this runs, even if Ready's fault is still on its way.
        var reason = master.TimedOut
            ? $"ssh connection to {_group.Destination} not ready within {Durations.Format(_settings.StartTimeout)}"
            : master.Process.Ready.Exception?.InnerException is TunnelStartException { Message: var said } && !said.StartsWith("exited with code", StringComparison.Ordinal)
                ? said
                : $"exited with code {code} before it was ready: {master.Process.DescribeFailure()}";
        if (!master.TimedOut && SshMaster.EndedBySignal(code) && ++_killedWhileStarting <= MaxKilledWhileStarting)
        {
            // Someone else's signal, not ssh giving up: the waiting services keep waiting for the next one.
            _log.Warning("ssh connection to {0}: pid {1} was killed (code {2}) before it was ready; starting another", _group.Destination, master.Pid, code);
            return;
        }
        _killedWhileStarting = 0;
        _lastStartFailure = (reason, Now);
        _log.Warning("ssh connection to {0} failed: {1}; waiting: {2}", _group.Destination, reason, WaitingNames());
        FailWaiting(reason);
    }

    private void FailWaiting(string reason)
    {
        foreach (var member in _members.Values.Where(m => m.Stage == Stage.Waiting).ToList())
        {
            _members.Remove(member.Tunnel);
            if (member.ReleaseAsked) member.Tunnel.Released();
            else member.Tunnel.Failed(reason);
        }
    }

    private void Promote(Master standby)
    {
        _standby = null;
        _active = standby;
        _standbyNotBefore = Now;
        _log.Info("ssh connection to {0}: switching to the standby (pid {1}{2})", _group.Destination, standby.Pid, standby.Ready ? "" : ", still connecting");
    }

    private void SendForwards(Master master)
    {
        if (master.ForwardBusy) return;
        var waiting = _members.Values.Where(m => m.Stage == Stage.Waiting);
        if (_expected.Count > 0)
        {
            // One -O forward for all the services of a dead master, rather than one for the first and one for the rest.
            if (Now < _expectedUntil && !_expected.IsSubsetOf(waiting.Select(m => m.Name))) return;
            _expected.Clear();
            Timers.Cancel(RegatherTimer);
        }
        var batch = (_oneByOne ? waiting.Take(1) : waiting).ToList();
        if (batch.Count == 0) return;
        foreach (var member in batch)
        {
            member.Stage = Stage.Adding;
            member.On = master;
        }
        master.ForwardBusy = true;
        RunControl(master, SshControl.Forward, batch);
    }

    private void SendCancels(Master master)
    {
        if (master.CancelBusy) return;
        var batch = _members.Values.Where(m => m.Stage == Stage.Cancelling && m.On == master).ToList();
        if (batch.Count == 0) return;
        master.CancelBusy = true;
        RunControl(master, SshControl.Cancel, batch);
    }

    private void RunControl(Master master, string command, IReadOnlyList<Member> batch)
    {
        var connection = _group.Connection;
        var path = master.Process.ControlPath;
        var forwards = batch.Select(m => m.Tunnel.Forward).ToList();
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
        var landed = done.Batch.Where(m => m.Stage == Stage.Adding && m.On == master && _members.ContainsKey(m.Tunnel)).ToList();
        if (done.Outcome.Ok)
        {
            foreach (var member in landed)
            {
                if (member.ReleaseAsked)
                {
                    member.Stage = Stage.Cancelling;
                    continue;
                }
                member.Stage = Stage.Carried;
                member.Tunnel.Carried(master.Process);
            }
            UpdateCarries(master);
        }
        else if (master.Down || master.Process.Exited.IsCompleted || master != _active)
        {
            // The master went meanwhile: HandleDown put them back in line (or will, when its exit is noticed).
            foreach (var member in landed) Requeue(member);
        }
        else if (done.Outcome.TimedOut)
        {
            _log.Warning("ssh connection to {0}: pid {1} does not answer -O forward; killed it", _group.Destination, master.Pid);
            foreach (var member in landed) Requeue(member);
            master.Process.Kill();
        }
        else if (landed.Count > 1)
        {
            // Which one failed is not said: each tries alone (those already added answer ok again).
            _log.Debug("ssh connection to {0}: -O forward of {1} forwards failed ({2}); trying each alone", _group.Destination, landed.Count, done.Outcome.Detail);
            foreach (var member in landed) Requeue(member);
            _oneByOne = true;
        }
        else
        {
            foreach (var member in landed)
            {
                _members.Remove(member.Tunnel);
                if (member.ReleaseAsked) member.Tunnel.Released();
                else member.Tunnel.Failed(done.Outcome.Detail);
            }
        }
        if (!AnyWaiting) _oneByOne = false;
        if (!HasLiveMembers && _members.Count == 0 && !Timers.IsTimerActive(IdleTimer)) StopMasters("no service uses it any more");
        Pump();
    }

    private void Requeue(Member member)
    {
        if (member.ReleaseAsked)
        {
            Drop(member);
            return;
        }
        member.Stage = Stage.Waiting;
        member.On = null;
    }

    private void HandleCancelled(ControlDone done)
    {
        done.Master.CancelBusy = false;
        if (!done.Outcome.Ok && !done.Master.Down)
            _log.Debug("ssh connection to {0}: -O cancel: {1}", _group.Destination, done.Outcome.Detail);
        // Cancelled or not, the forward's socket goes, and nothing here points at it any more.
        foreach (var member in done.Batch.Where(m => m.Stage == Stage.Cancelling && _members.ContainsKey(m.Tunnel))) Drop(member);
        Pump();
    }

    private void Drop(Member member)
    {
        _members.Remove(member.Tunnel);
        member.Tunnel.Released();
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
        var threshold = _members.Count == 0 ? HealthCheckSpec.Default.FailureThreshold : _members.Keys.Min(t => t.Service.HealthCheck.FailureThreshold);
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

    /// <summary>Checks every member's interval (the shortest) while a master runs.</summary>
    private void UpdateTick()
    {
        TimeSpan? interval = _active is null && _standby is null ? null
            : _members.Count == 0 ? HealthCheckSpec.Default.Interval
            : _members.Keys.Min(t => t.Service.HealthCheck.Interval);
        if (interval == _tickInterval) return;
        _tickInterval = interval;
        if (interval is { } every) Timers.StartPeriodicTimer(TickTimer, Tick.Instance, every);
        else Timers.Cancel(TickTimer);
    }

    private void StartStandbyIfWanted()
    {
        if (!_group.Connection.Standby || _frozen || _standby is not null || _active is not { Ready: true } || !HasLiveMembers) return;
        var wait = _standbyNotBefore - Now;
        if (wait > TimeSpan.Zero)
        {
            if (!Timers.IsTimerActive(StandbyTimer)) Timers.StartSingleTimer(StandbyTimer, StandbyDue.Instance, wait);
            return;
        }
        var service = _members.Keys.First().Service;
        _standby = Launch(service, out var error);
        if (_standby is null)
        {
            _standbyFailures++;
            _standbyNotBefore = Now + StandbyDelay();
            _log.Warning("ssh connection to {0}: no standby: {1}", _group.Destination, error!);
        }
    }

    /// <summary>A standby that keeps failing is retried with the default backoff, never in a loop.</summary>
    private TimeSpan StandbyDelay()
    {
        var delay = Backoff.Delay(RestartPolicy.Default, _standbyFailures + 1, _random());
        return delay < FailureAccount.RetryFloor ? FailureAccount.RetryFloor : delay;
    }

    private void StopMasters(string why)
    {
        Timers.Cancel(TickTimer);
        Timers.Cancel(StandbyTimer);
        Timers.Cancel(StartTimer);
        Timers.Cancel(IdleTimer);
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

    private void UpdateCarries(Master master) => master.Process.Carries =
        _members.Values.Where(m => m.On == master && m.Stage == Stage.Carried).Select(m => m.Name).Order(StringComparer.Ordinal).ToList();

    private string WaitingNames() => string.Join(", ", _members.Values.Where(m => m.Stage is Stage.Waiting or Stage.Adding).Select(m => m.Name));

    protected override void PostStop()
    {
        // Nothing we started may outlive the actor; its members' ForwardActors see their tunnels fail and ask again.
        foreach (var master in new[] { _active, _standby }.Concat(_stopping)) master?.Process.Kill();
        foreach (var member in _members.Values) member.Tunnel.Failed("the ssh connection's actor stopped");
        _members.Clear();
    }
}
