using System.Threading.Channels;
using Akka.Actor;

namespace LocalPort.Actors.Hosting;

/// <summary>
/// EventStream events of the given types, handed to a channel for code outside the actor system (an HTTP event
/// stream, console output). Dispose to unsubscribe; the channel completes when the actor system terminates.
/// </summary>
public sealed class EventStreamChannel<T> : IDisposable
{
    private readonly ActorSystem _system;
    private readonly IActorRef _subscriber;
    private readonly Channel<T> _channel;

    private EventStreamChannel(ActorSystem system, IActorRef subscriber, Channel<T> channel)
    {
        _system = system;
        _subscriber = subscriber;
        _channel = channel;
    }

    public ChannelReader<T> Reader => _channel.Reader;

    /// <param name="select">What the channel carries for an event; null leaves the event out.</param>
    /// <param name="channel">Where to write (e.g. bounded, dropping the oldest); null is an unbounded one.</param>
    /// <param name="name">The subscriber actor's name; null lets Akka name it.</param>
    public static EventStreamChannel<T> Open(ActorSystem system, IReadOnlyCollection<Type> events, Func<object, T?> select,
        Channel<T>? channel = null, string? name = null)
    {
        channel ??= Channel.CreateUnbounded<T>(new UnboundedChannelOptions { SingleReader = true });
        var writer = channel.Writer;
        // A system actor: the user tree's stop would drop the last events (a service's "stopped") still in its mailbox.
        var subscriber = ((ExtendedActorSystem)system).SystemActorOf(Props.Create(() => new Subscriber(writer, select)), name);
        foreach (var type in events) system.EventStream.Subscribe(subscriber, type);
        _ = system.WhenTerminated.ContinueWith(_ => writer.TryComplete(), TaskScheduler.Default);
        return new EventStreamChannel<T>(system, subscriber, channel);
    }

    /// <summary>
    /// Completes the channel once every event published before the call is in it (the subscriber has handled what its
    /// mailbox held), so a reader that drains it has seen them all; bounded by <paramref name="timeout"/>.
    /// </summary>
    public async Task CompleteAsync(TimeSpan timeout)
    {
        try
        {
            await _subscriber.Ask<ActorIdentity>(new Identify(null), timeout);
        }
        catch (Exception e) when (e is AskTimeoutException or TaskCanceledException)
        {
            // A subscriber this far behind (or already stopped) is not waited for any longer.
        }
        _channel.Writer.TryComplete();
    }

    public void Dispose()
    {
        _system.Stop(_subscriber);
        _channel.Writer.TryComplete();
    }

    private sealed class Subscriber : ReceiveActor
    {
        public Subscriber(ChannelWriter<T> writer, Func<object, T?> select)
        {
            // Only the subscribed event types arrive here.
            ReceiveAny(e =>
            {
                if (select(e) is { } item) writer.TryWrite(item);
            });
        }
    }
}
