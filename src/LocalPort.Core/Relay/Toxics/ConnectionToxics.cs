namespace LocalPort.Core.Relay.Toxics;

/// <summary>Where a relay publishes its current toxics; its connections read from here.</summary>
internal sealed class ToxicSource
{
    private ToxicSet _current = ToxicSet.Empty;

    public ToxicSet Current
    {
        get => Volatile.Read(ref _current);
        set => Volatile.Write(ref _current, value);
    }

    /// <summary>Makes the per-connection dice differ between relays and runs.</summary>
    public ulong Seed { get; } = (ulong)Random.Shared.NextInt64();
}

/// <summary>What a connection needs from its owner to act on toxics.</summary>
internal interface IToxicTarget
{
    long Id { get; }
    /// <summary>Cancelled once the connection is closing.</summary>
    CancellationToken Closing { get; }
    /// <summary>Closes both sides: with a reset (RST) or a plain close (FIN).</summary>
    void Close(bool reset);
}

/// <summary>
/// The toxics as one connection sees them: which ones apply (a per-connection dice roll against each
/// toxic's toxicity, stable for the life of the connection), and the clocks of the connection-wide
/// ones (down, reset_peer, a closing timeout), started when the toxic first reaches the connection.
/// </summary>
internal sealed class ConnectionToxics(IToxicTarget connection, ToxicSource source)
{
    private readonly object _gate = new();
    private readonly HashSet<Toxic> _started = new(ReferenceEqualityComparer.Instance);
    private sealed record Resolved(ToxicSet Set, Toxic[] Up, Toxic[] Down);
    private Resolved _cache = new(ToxicSet.Empty, [], []);

    /// <summary>
    /// Whether the toxic applies to this connection. A hash of (connection, toxic name) rather than a stored
    /// roll: both pumps and the clocks agree without sharing state, and raising the toxicity only adds connections.
    /// </summary>
    public bool Applies(Toxic toxic) => toxic.Toxicity >= 1 || (toxic.Toxicity > 0 && Roll(toxic.Name) < toxic.Toxicity);

    /// <summary>The data toxics of one direction that apply here, in order; cached per published set.</summary>
    public Toxic[] Active(ToxicStream stream, ToxicSet set)
    {
        var cache = Volatile.Read(ref _cache);
        if (!ReferenceEquals(cache.Set, set))
        {
            cache = new Resolved(set, set.For(ToxicStream.Upstream).Where(Applies).ToArray(), set.For(ToxicStream.Downstream).Where(Applies).ToArray());
            Volatile.Write(ref _cache, cache);
        }
        return stream == ToxicStream.Upstream ? cache.Up : cache.Down;
    }

    /// <summary>Called when the connection starts and whenever the relay's toxics change.</summary>
    public void OnChanged(ToxicSet set)
    {
        foreach (var toxic in set.OnConnection)
        {
            if (!Applies(toxic)) continue;
            lock (_gate)
            {
                if (!_started.Add(toxic)) continue;
            }
            switch (toxic.Type)
            {
                case ToxicType.Down:
                    connection.Close(reset: true);
                    return;
                case ToxicType.ResetPeer:
                    After(toxic, reset: true);
                    break;
                case ToxicType.Timeout:
                    After(toxic, reset: false);
                    break;
            }
        }
    }

    private void After(Toxic toxic, bool reset)
    {
        if (toxic.Timeout <= TimeSpan.Zero)
        {
            connection.Close(reset);
            return;
        }
        Task.Delay(toxic.Timeout, connection.Closing).ContinueWith(t =>
        {
            // Removed (or replaced) in the meantime: its clock no longer counts.
            if (t.IsCompletedSuccessfully && source.Current.All.Contains(toxic, ReferenceEqualityComparer.Instance))
                connection.Close(reset);
        }, TaskScheduler.Default);
    }

    private double Roll(string name)
    {
        var hash = source.Seed ^ ((ulong)connection.Id * 0x9E3779B97F4A7C15UL);
        foreach (var c in name) hash = (hash ^ c) * 0x100000001B3UL;
        // SplitMix64's finaliser spreads neighbouring ids and names over the whole range.
        hash ^= hash >> 30;
        hash *= 0xBF58476D1CE4E5B9UL;
        hash ^= hash >> 27;
        hash *= 0x94D049BB133111EBUL;
        hash ^= hash >> 31;
        return (hash >> 11) * (1.0 / (1UL << 53));
    }
}
