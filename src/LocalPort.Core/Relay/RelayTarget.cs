using System.Net;

namespace LocalPort.Core.Relay;

/// <summary>One <see cref="RelayListener.SetTarget"/>: where its connections were dialled, and the exchanges it carried.</summary>
internal sealed class RelayTarget(EndPoint endpoint, RelayTarget.Totals totals)
{
    /// <summary>Counters shared by all the targets of one relay.</summary>
    internal sealed class Totals
    {
        public long Exchanges;
        /// <summary>Bytes relayed client→target (up) and target→client (down), for the metrics.</summary>
        public long BytesUp;
        public long BytesDown;
        /// <summary>Of those, bytes that went through a kernel pipe (splice) instead of a managed buffer.</summary>
        public long BytesSpliced;
    }

    private long _exchanges;

    public EndPoint Endpoint => endpoint;
    public long Exchanges => Interlocked.Read(ref _exchanges);

    /// <summary>A connection got its first byte back through this target (once per connection).</summary>
    public void CountExchange()
    {
        Interlocked.Increment(ref _exchanges);
        Interlocked.Increment(ref totals.Exchanges);
    }

    /// <summary>Bytes a connection forwarded through this target (one add per chunk).</summary>
    public void CountBytes(bool up, int count, bool spliced = false)
    {
        if (spliced) Interlocked.Add(ref totals.BytesSpliced, count);
        if (up) Interlocked.Add(ref totals.BytesUp, count);
        else Interlocked.Add(ref totals.BytesDown, count);
    }
}
