namespace LocalPort.Core.Relay.Toxics;

/// <summary>
/// The toxics of one relay, immutable: a change makes a new set, which the relay publishes with one
/// reference write. Pumps read it once per chunk; <see cref="Empty"/> keeps them on the plain path.
/// </summary>
public sealed class ToxicSet
{
    public static ToxicSet Empty { get; } = new([]);

    private readonly Toxic[] _upstream;
    private readonly Toxic[] _downstream;

    public IReadOnlyList<Toxic> All { get; }
    public bool IsEmpty { get; }
    /// <summary>The toxics that cut or close whole connections (down, reset_peer, a closing timeout).</summary>
    internal Toxic[] OnConnection { get; }

    private ToxicSet(IReadOnlyList<Toxic> toxics)
    {
        All = toxics;
        IsEmpty = toxics.Count == 0;
        _upstream = toxics.Where(t => t.ShapesData && t.Stream == ToxicStream.Upstream).ToArray();
        _downstream = toxics.Where(t => t.ShapesData && t.Stream == ToxicStream.Downstream).ToArray();
        OnConnection = toxics.Where(t => t.ActsOnConnection).ToArray();
    }

    /// <exception cref="ArgumentException">Two toxics share a name.</exception>
    public static ToxicSet Of(IEnumerable<Toxic> toxics)
    {
        var list = toxics.ToList();
        if (list.Count == 0) return Empty;
        var duplicate = list.GroupBy(t => t.Name, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null) throw new ArgumentException($"two toxics are named '{duplicate.Key}'", nameof(toxics));
        return new ToxicSet(list);
    }

    /// <summary>The toxics that shape the bytes of one direction, in the order they were added.</summary>
    internal Toxic[] For(ToxicStream stream) => stream == ToxicStream.Upstream ? _upstream : _downstream;

    public Toxic? Find(string name) => All.FirstOrDefault(t => t.Name == name);

    /// <summary>Adds the toxic, or replaces the one with its name in place (its order is kept).</summary>
    public ToxicSet With(Toxic toxic) => Find(toxic.Name) is null
        ? new ToxicSet([.. All, toxic])
        : new ToxicSet(All.Select(t => t.Name == toxic.Name ? toxic : t).ToList());

    public ToxicSet Without(string name) => Find(name) is null ? this : Of(All.Where(t => t.Name != name));

    public override string ToString() => IsEmpty ? "no toxics" : string.Join("; ", All);
}
