using System.Net;

namespace LocalPort.Core.Relay;

/// <summary>One <see cref="RelayListener.SetTarget"/>: where its connections were dialled, and the exchanges it carried.</summary>
internal sealed class RelayTarget(EndPoint endpoint, RelayTarget.Totals totals)
{
    /// <summary>Counters shared by all the targets of one relay.</summary>
    internal sealed class Totals
    {
        public long Exchanges;
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
}
