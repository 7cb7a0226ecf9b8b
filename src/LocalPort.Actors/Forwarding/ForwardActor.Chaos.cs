using Akka.Actor;
using Akka.Event;
using LocalPort.Actors.Chaos;
using LocalPort.Core.Chaos;
using LocalPort.Core.Config;
using LocalPort.Core.Forwarding;
using LocalPort.Core.Processes;
using LocalPort.Core.Relay.Toxics;

namespace LocalPort.Actors.Forwarding;

/// <summary>
/// Chaos on this forward: toxics on the relay (kept here, so they outlive tunnel restarts and a stop/start
/// that rebinds the port) and process faults on the current tunnel. Answered in every state.
/// </summary>
public sealed partial class ForwardActor
{
    /// <summary>To the parent: this forward's toxics changed by command.</summary>
    public sealed record ToxicsChanged(string Name, ToxicSet Toxics);

    private sealed record ResumeTunnel(ITunnel Tunnel);
    private sealed record HoldOpened(ConnectionHold Hold, int Asked, TimeSpan Duration, IActorRef ReplyTo);
    private sealed record ReleaseHold(ConnectionHold Hold);

    /// <summary>Connections held by `chaos hold`; released on their timer, or when the forward stops.</summary>
    private readonly List<ConnectionHold> _holds = [];
    private sealed record PausedTunnel(ITunnel Tunnel, int Pid, DateTimeOffset Until);

    private const string ResumeTimer = "chaos-resume";

    private ToxicSet? _toxics;
    private PausedTunnel? _paused;

    /// <summary>The relay's toxics: the file's <c>chaos:</c> until a command changes them.</summary>
    private ToxicSet CurrentToxics => _toxics ??= ToxicSet.Of(_spec.Chaos);

    private void ChaosHandlers()
    {
        Receive<AddToxic>(m =>
        {
            if (CurrentToxics.Find(m.Toxic.Name) is not null)
                Sender.Tell(new ChaosRejected(_spec.Name, $"{_spec.Name} already has a toxic named '{m.Toxic.Name}'; remove it first or choose another name"));
            else
                Applied($"added {m.Toxic}", CurrentToxics.With(m.Toxic));
        });
        Receive<RemoveToxic>(m =>
        {
            if (CurrentToxics.Find(m.Name) is null)
                Sender.Tell(new ChaosRejected(_spec.Name, $"{_spec.Name} has no toxic named '{m.Name}'{Known()}"));
            else
                Applied($"removed {m.Name}", CurrentToxics.Without(m.Name));
        });
        Receive<SetToxics>(m =>
        {
            var duplicate = m.Toxics.GroupBy(t => t.Name).FirstOrDefault(g => g.Count() > 1);
            if (duplicate is not null) Sender.Tell(new ChaosRejected(_spec.Name, $"two toxics are named '{duplicate.Key}'"));
            else Applied($"{m.Toxics.Count} toxic(s) set", ToxicSet.Of(m.Toxics));
        });
        Receive<ResetToxics>(_ => Applied(CurrentToxics.IsEmpty ? "no toxics to remove" : $"removed {CurrentToxics.All.Count} toxic(s)", ToxicSet.Empty));
        Receive<ListToxics>(_ => Sender.Tell(ChaosStateNow()));
        Receive<KillTunnel>(_ => Signal(Posix.SIGKILL, "kill", pid =>
        {
            _log.Warning("{Service}: chaos: SIGKILL to tunnel pid {Pid}", _spec.Name, pid);
            return $"sent SIGKILL to pid {pid}";
        }));
        Receive<PauseTunnel>(m => Signal(Posix.SIGSTOP, "pause", pid =>
        {
            var until = DateTimeOffset.Now + m.Duration;
            _paused = new PausedTunnel(_tunnel!, pid, until);
            Timers.StartSingleTimer(ResumeTimer, new ResumeTunnel(_tunnel!), m.Duration);
            _log.Warning("{Service}: chaos: SIGSTOP to tunnel pid {Pid} for {Duration}", _spec.Name, pid, Durations.Format(m.Duration));
            return $"sent SIGSTOP to pid {pid}; SIGCONT in {Durations.Format(m.Duration)}";
        }));
        Receive<ResumeTunnel>(m =>
        {
            if (_paused?.Tunnel == m.Tunnel) ResumePaused();
        });
        Receive<HoldConnections>(HandleHold);
        Receive<HoldOpened>(m =>
        {
            _holds.Add(m.Hold);
            Timers.StartSingleTimer(m.Hold, new ReleaseHold(m.Hold), m.Duration);
            var shortBy = m.Hold.Count < m.Asked ? $" (stopped at {m.Hold.Count}: {m.Hold.StoppedBy})" : "";
            _log.Warning("{Service}: chaos: holding {Connections} connections to port {Port} for {Duration}{Shortfall}", _spec.Name, m.Hold.Count, BoundPort, Durations.Format(m.Duration), shortBy);
            m.ReplyTo.Tell(new ChaosApplied(_spec.Name,
                $"holding {m.Hold.Count} connection(s) to port {BoundPort} for {Durations.Format(m.Duration)}{shortBy}", ChaosStateNow()));
        });
        Receive<ReleaseHold>(m => ReleaseHolds(m.Hold));
    }

    private void HandleHold(HoldConnections hold)
    {
        if (_relay is null)
        {
            Sender.Tell(new ChaosNotApplicable(_spec.Name, $"{_spec.Name} has no open port right now"));
            return;
        }
        var replyTo = Sender;
        var port = BoundPort;
        ConnectionHold.OpenAsync(port, hold.Count, TimeSpan.FromSeconds(2))
            .ContinueWith(t => new HoldOpened(t.Result, hold.Count, hold.Duration, replyTo), TaskScheduler.Default).PipeTo(Self);
    }

    /// <summary>Closes one hold, or every hold (a stop or crash must not leave our own clients behind).</summary>
    private void ReleaseHolds(ConnectionHold? only = null)
    {
        foreach (var hold in _holds.Where(h => only is null || h == only).ToList())
        {
            hold.Dispose();
            _holds.Remove(hold);
            Timers.Cancel(hold);
            if (only is not null) _log.Info("{Service}: chaos: released {Connections} held connection(s)", _spec.Name, hold.Count);
        }
    }

    private void Applied(string detail, ToxicSet toxics)
    {
        _toxics = toxics;
        if (_relay is not null) _relay.Toxics = toxics;
        // The parent keeps them for a replacement actor, should this one crash.
        Context.Parent.Tell(new ToxicsChanged(_spec.Name, toxics));
        _log.Info("{Service}: chaos: {Detail}; now {Toxics}", _spec.Name, detail, toxics);
        Sender.Tell(new ChaosApplied(_spec.Name, detail, ChaosStateNow()));
    }

    /// <summary>Signals the current tunnel process, or explains why there is none to signal.</summary>
    private void Signal(int signal, string what, Func<int, string> done)
    {
        if (_spec.Technology == Technology.Tcp)
        {
            Sender.Tell(new ChaosNotApplicable(_spec.Name,
                $"{_spec.Name} is a tcp service: its relay runs inside LocalPort and there is no process to {what}; " +
                "use a toxic instead (reset_peer, timeout or down)"));
            return;
        }
        if (_tunnel is not { Pid: { } pid } tunnel || tunnel.Exited.IsCompleted)
        {
            Sender.Tell(new ChaosNotApplicable(_spec.Name, $"{_spec.Name} has no tunnel process running right now"));
            return;
        }
        if (!Posix.Signal(pid, signal))
        {
            Sender.Tell(new ChaosNotApplicable(_spec.Name, $"could not signal pid {pid} (it may have just exited)"));
            return;
        }
        var detail = done(pid) + SshMasters.SharedSshTunnel.AlsoHit(tunnel);
        Sender.Tell(new ChaosApplied(_spec.Name, detail, ChaosStateNow()));
    }

    /// <summary>SIGCONT to a tunnel we paused, if it is still the one running (a dead pid may belong to someone else by now).</summary>
    private void ResumePaused()
    {
        if (_paused is not { } paused) return;
        _paused = null;
        Timers.Cancel(ResumeTimer);
        if (paused.Tunnel.Exited.IsCompleted) return;
        Posix.Signal(paused.Pid, Posix.SIGCONT);
        _log.Info("{Service}: chaos: SIGCONT to tunnel pid {Pid}", _spec.Name, paused.Pid);
    }

    /// <summary>Re-applies <c>chaos:</c> when a reload changed it; otherwise toxics set by hand stay.</summary>
    private void ReapplySpecChaos(ServiceSpec before)
    {
        if (before.Chaos.SequenceEqual(_spec.Chaos)) return;
        _toxics = ToxicSet.Of(_spec.Chaos);
        if (_relay is not null) _relay.Toxics = _toxics;
        _log.Info("{Service}: chaos from the configuration: {Toxics}", _spec.Name, _toxics);
    }

    private ChaosState ChaosStateNow() => new(_spec.Name, CurrentToxics.All, _relay?.Active ?? 0,
        _paused?.Pid, _paused?.Until);

    private string Known() => CurrentToxics.IsEmpty ? " (it has none)" : $"; it has {string.Join(", ", CurrentToxics.All.Select(t => t.Name))}";
}
