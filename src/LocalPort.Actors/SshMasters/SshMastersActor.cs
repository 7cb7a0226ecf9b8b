using Akka.Actor;
using LocalPort.Core.Forwarding;
using LocalPort.Core.Processes;

namespace LocalPort.Actors.SshMasters;

/// <summary>
/// ssh-masters, under the root: one <see cref="SshMasterActor"/> per connection group (ssh-master-1, -2, …), made on
/// the first forward asked of it. A group's actor stays (idle, with no process and no timer) after its last service
/// stops, so a forward in flight never meets a stopping actor; there are only as many as distinct connections seen.
/// </summary>
public sealed class SshMastersActor : ReceiveActor
{
    private readonly Dictionary<SshGroup, IActorRef> _groups = [];
    private readonly SshMasterSettings _settings;
    private readonly ResourceLedger? _ledger;
    private readonly Func<double> _random;
    private bool _frozen;
    /// <summary>Groups whose <see cref="SshMasterActor.MastersStopped"/> is awaited, and who asked.</summary>
    private readonly HashSet<IActorRef> _stopping = [];
    private readonly List<IActorRef> _stopWaiters = [];

    public static Props Props(SshMasterSettings settings, ResourceLedger? ledger, Func<double> random) =>
        Akka.Actor.Props.Create(() => new SshMastersActor(settings, ledger, random));

    public SshMastersActor(SshMasterSettings settings, ResourceLedger? ledger, Func<double> random)
    {
        _settings = settings;
        _ledger = ledger;
        _random = random;
        Receive<SshMasterActor.Add>(m => GroupOf(m.Tunnel.Group).Forward(m));
        Receive<SshMasterActor.Release>(m =>
        {
            if (_groups.TryGetValue(m.Tunnel.Group, out var group)) group.Forward(m);
            else m.Tunnel.Released();
        });
        Receive<SshMasterActor.Freeze>(m =>
        {
            _frozen = true;
            foreach (var group in _groups.Values) group.Forward(m);
        });
        Receive<SshMasterActor.Leaving>(m =>
        {
            foreach (var group in _groups.Values) group.Tell(m);
        });
        // Answered once every group's masters have exited: each group answers by its own exits, never by a poll.
        Receive<SshMasterActor.AwaitStopped>(m =>
        {
            _stopWaiters.Add(Sender);
            foreach (var group in _groups.Values.Where(_stopping.Add)) group.Tell(m);
            AnswerIfStopped();
        });
        Receive<SshMasterActor.MastersStopped>(_ =>
        {
            _stopping.Remove(Sender);
            AnswerIfStopped();
        });
    }

    private void AnswerIfStopped()
    {
        if (_stopping.Count > 0) return;
        foreach (var waiter in _stopWaiters) waiter.Tell(SshMasterActor.MastersStopped.Instance);
        _stopWaiters.Clear();
    }

    private IActorRef GroupOf(SshGroup group)
    {
        if (_groups.TryGetValue(group, out var actor)) return actor;
        actor = Context.ActorOf(SshMasterActor.Props(group, _settings, _ledger, _random), $"ssh-master-{_groups.Count + 1}");
        _groups[group] = actor;
        if (_frozen) actor.Tell(SshMasterActor.Freeze.Instance);
        return actor;
    }
}
