namespace LocalPort.Core.Forwarding;

/// <summary>
/// The forwards of one shared ssh connection group and where each stands: waiting for a master, being added to one
/// (<c>-O forward</c> in flight), carried by one, or being taken off one (<c>-O cancel</c> in flight). Pure bookkeeping:
/// it says which forwards to add, cancel, fail or let go, and its owner (SshMasterActor) runs the commands.
/// A release asked for while a forward is being added is honoured when that answer comes.
/// </summary>
/// <typeparam name="TForward">One service's forward (its tunnel).</typeparam>
/// <typeparam name="TMaster">A master process, compared by reference.</typeparam>
public sealed class SshForwardBook<TForward, TMaster> where TForward : notnull where TMaster : class
{
    public enum Stage { Waiting, Adding, Carried, Cancelling }

    /// <summary>What a release means now.</summary>
    public enum Released
    {
        /// <summary>Not in the book (its master died and took it, or it failed): nothing to undo.</summary>
        Unknown,
        /// <summary>Out of the book: let it go now.</summary>
        Dropped,
        /// <summary>Its -O forward (or -O cancel) is in flight: settled by that answer.</summary>
        Deferred,
        /// <summary>Carried by a live master: cancel it there.</summary>
        ToCancel,
    }

    private sealed class Entry(TForward forward, string name)
    {
        public TForward Forward { get; } = forward;
        public string Name { get; } = name;
        public Stage Stage { get; set; }
        public TMaster? On { get; set; }
        public bool ReleaseAsked { get; set; }
    }

    private readonly Dictionary<TForward, Entry> _entries = [];

    public int Count => _entries.Count;
    public IReadOnlyCollection<TForward> Forwards => _entries.Keys;
    public bool AnyWaiting => _entries.Values.Any(e => e.Stage == Stage.Waiting);
    public bool AnyAdding => _entries.Values.Any(e => e.Stage == Stage.Adding);

    /// <summary>Forwards someone still wants: carried, or waiting/being added and not released.</summary>
    public bool HasLive => _entries.Values.Any(e => e.Stage == Stage.Carried || (e.Stage is Stage.Waiting or Stage.Adding && !e.ReleaseAsked));

    /// <summary>Services waiting for a forward (for messages).</summary>
    public IReadOnlyList<string> WaitingNames => _entries.Values.Where(e => e.Stage is Stage.Waiting or Stage.Adding).Select(e => e.Name).ToList();

    public IReadOnlySet<string> WaitingNameSet => _entries.Values.Where(e => e.Stage == Stage.Waiting).Select(e => e.Name).ToHashSet(StringComparer.Ordinal);

    /// <summary>The services <paramref name="master"/> carries, sorted.</summary>
    public IReadOnlyList<string> CarriedBy(TMaster master) =>
        _entries.Values.Where(e => e.On == master && e.Stage == Stage.Carried).Select(e => e.Name).Order(StringComparer.Ordinal).ToList();

    public Stage? StageOf(TForward forward) => _entries.TryGetValue(forward, out var entry) ? entry.Stage : null;

    /// <summary>A new forward, waiting for a master.</summary>
    public void Add(TForward forward, string name) => _entries[forward] = new Entry(forward, name);

    /// <param name="masterGone">Whether a master has died or is about to stop: a forward it carries needs no -O cancel.</param>
    public (Released What, TMaster? On) Release(TForward forward, Func<TMaster, bool> masterGone)
    {
        if (!_entries.TryGetValue(forward, out var entry)) return (Released.Unknown, null);
        switch (entry.Stage)
        {
            case Stage.Waiting:
            case Stage.Carried when masterGone(entry.On!):
                _entries.Remove(forward);
                return (Released.Dropped, entry.On);
            case Stage.Carried:
                entry.Stage = Stage.Cancelling;
                return (Released.ToCancel, entry.On);
            default:
                entry.ReleaseAsked = true;
                return (Released.Deferred, entry.On);
        }
    }

    /// <summary>The next -O forward for <paramref name="master"/>: every waiting forward (or one, while a batch is being split).</summary>
    public IReadOnlyList<TForward> TakeForwards(TMaster master, bool oneByOne)
    {
        var waiting = _entries.Values.Where(e => e.Stage == Stage.Waiting);
        var batch = (oneByOne ? waiting.Take(1) : waiting).ToList();
        foreach (var entry in batch)
        {
            entry.Stage = Stage.Adding;
            entry.On = master;
        }
        return batch.Select(e => e.Forward).ToList();
    }

    /// <summary>The next -O cancel for <paramref name="master"/>: every forward being taken off it.</summary>
    public IReadOnlyList<TForward> TakeCancels(TMaster master) =>
        _entries.Values.Where(e => e.Stage == Stage.Cancelling && e.On == master).Select(e => e.Forward).ToList();

    /// <summary>-O forward answered ok: the batch is carried, except what was released meanwhile (now to be cancelled).</summary>
    /// <returns>The forwards now carried.</returns>
    public IReadOnlyList<TForward> Forwarded(IEnumerable<TForward> batch, TMaster master)
    {
        var carried = new List<TForward>();
        foreach (var entry in Landed(batch, master))
        {
            entry.Stage = entry.ReleaseAsked ? Stage.Cancelling : Stage.Carried;
            if (!entry.ReleaseAsked) carried.Add(entry.Forward);
        }
        return carried;
    }

    /// <summary>-O forward did not land (the master went, or a batch is split): back in line, released ones out.</summary>
    /// <returns>The released forwards, to let go.</returns>
    public IReadOnlyList<TForward> Requeue(IEnumerable<TForward> batch, TMaster master)
    {
        var released = Landed(batch, master).Where(e => !BackInLine(e)).ToList();
        foreach (var entry in released) _entries.Remove(entry.Forward);
        return released.Select(e => e.Forward).ToList();
    }

    /// <summary>-O forward of these (one, alone) was refused: they are out, failed unless released meanwhile.</summary>
    public (IReadOnlyList<TForward> Failed, IReadOnlyList<TForward> Released) Refused(IEnumerable<TForward> batch, TMaster master) =>
        Remove(Landed(batch, master));

    /// <summary>-O cancel answered (either way): those forwards are off the master and out of the book.</summary>
    public IReadOnlyList<TForward> Cancelled(IEnumerable<TForward> batch)
    {
        var done = batch.Where(f => _entries.TryGetValue(f, out var e) && e.Stage == Stage.Cancelling).ToList();
        foreach (var forward in done) _entries.Remove(forward);
        return done;
    }

    /// <summary>
    /// <paramref name="master"/> ended. What it carried is out of the book (those tunnels end with it, and their owners
    /// ask again); what was being added to it waits for the next; what was being taken off it is let go.
    /// </summary>
    public (IReadOnlyList<string> Carried, IReadOnlyList<TForward> Released) MasterDown(TMaster master)
    {
        var carried = new List<string>();
        var released = new List<TForward>();
        foreach (var entry in _entries.Values.Where(e => e.On == master).ToList())
        {
            if (entry.Stage == Stage.Carried)
            {
                carried.Add(entry.Name);
                _entries.Remove(entry.Forward);
            }
            else if (entry.Stage != Stage.Adding || !BackInLine(entry))
                released.Add(entry.Forward);
        }
        foreach (var forward in released) _entries.Remove(forward);
        return (carried, released);
    }

    /// <summary>No master could be had for the waiting forwards: they are out, failed unless released meanwhile.</summary>
    public (IReadOnlyList<TForward> Failed, IReadOnlyList<TForward> Released) FailWaiting() =>
        Remove(_entries.Values.Where(e => e.Stage == Stage.Waiting).ToList());

    /// <summary>Everything, out of the book (the owner stops).</summary>
    public IReadOnlyList<TForward> Clear()
    {
        var all = _entries.Keys.ToList();
        _entries.Clear();
        return all;
    }

    private List<Entry> Landed(IEnumerable<TForward> batch, TMaster master) =>
        batch.Select(f => _entries.GetValueOrDefault(f)).OfType<Entry>().Where(e => e.Stage == Stage.Adding && e.On == master).ToList();

    /// <summary>Puts an entry being added back to waiting; false (and it stays as it is) when it was released meanwhile.</summary>
    private static bool BackInLine(Entry entry)
    {
        if (entry.ReleaseAsked) return false;
        entry.Stage = Stage.Waiting;
        entry.On = null;
        return true;
    }

    private (IReadOnlyList<TForward> Failed, IReadOnlyList<TForward> Released) Remove(List<Entry> entries)
    {
        foreach (var entry in entries) _entries.Remove(entry.Forward);
        return (entries.Where(e => !e.ReleaseAsked).Select(e => e.Forward).ToList(), entries.Where(e => e.ReleaseAsked).Select(e => e.Forward).ToList());
    }
}
