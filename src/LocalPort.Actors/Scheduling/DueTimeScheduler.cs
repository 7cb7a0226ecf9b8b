using System.Collections.Concurrent;
using System.Diagnostics;
using Akka.Actor;
using Akka.Configuration;
using Akka.Dispatch;
using Akka.Event;

namespace LocalPort.Actors.Scheduling;

/// <summary>
/// An Akka scheduler that sleeps until the next due item instead of ticking. Akka's default timer wheel wakes every
/// tick (10 ms, or 50 ms as the CLI sets it) whether anything is due or not: 20 to 100 wake-ups a second, each one a
/// timer thread and a thread-pool worker, in a supervisor that is otherwise idle for hours. Here every scheduled item
/// is a .NET timer; the runtime's one timer thread waits for the earliest. Items are due to the millisecond, not
/// to the next tick. Select it with
/// <c>akka.scheduler.implementation = "LocalPort.Actors.Scheduling.DueTimeScheduler, LocalPort.Actors"</c>
/// (the CLI does; a host that embeds LocalPort keeps whatever scheduler it has).
/// </summary>
public sealed class DueTimeScheduler : SchedulerBase, IDateTimeOffsetNowTimeProvider, IDisposable
{
    // .NET timers take at most 0xFFFFFFFE ms (~49.7 days); LocalPort never waits longer than a day.
    private static readonly TimeSpan Longest = TimeSpan.FromMilliseconds(uint.MaxValue - 1);

    private static readonly long Origin = Stopwatch.GetTimestamp();
    private readonly ConcurrentDictionary<Item, byte> _pending = new();
    private volatile bool _disposed;

    public DueTimeScheduler(Config scheduler, ILoggingAdapter log) : base(scheduler, log) { }

    public DateTimeOffset Now => DateTimeOffset.Now;
    protected override DateTimeOffset TimeNow => DateTimeOffset.Now;
    public override TimeSpan MonotonicClock => Stopwatch.GetElapsedTime(Origin);
    public override TimeSpan HighResMonotonicClock => Stopwatch.GetElapsedTime(Origin);

    /// <summary>Items waiting to fire (a one-shot leaves when it fires or is cancelled, a repeated one when cancelled).</summary>
    public int Pending => _pending.Count;

    protected override void InternalScheduleTellOnce(TimeSpan delay, ICanTell receiver, object message, IActorRef sender, ICancelable cancelable) =>
        Add(delay, null, () => receiver.Tell(message, sender), cancelable);

    protected override void InternalScheduleTellRepeatedly(TimeSpan initialDelay, TimeSpan interval, ICanTell receiver, object message,
        IActorRef sender, ICancelable cancelable) =>
        Add(initialDelay, interval, () => receiver.Tell(message, sender), cancelable);

    protected override void InternalScheduleOnce(TimeSpan delay, Action action, ICancelable cancelable) => Add(delay, null, action, cancelable);

    protected override void InternalScheduleOnce(TimeSpan delay, IRunnable action, ICancelable cancelable) => Add(delay, null, action.Run, cancelable);

    protected override void InternalScheduleRepeatedly(TimeSpan initialDelay, TimeSpan interval, Action action, ICancelable cancelable) =>
        Add(initialDelay, interval, action, cancelable);

    protected override void InternalScheduleRepeatedly(TimeSpan initialDelay, TimeSpan interval, IRunnable action, ICancelable cancelable) =>
        Add(initialDelay, interval, action.Run, cancelable);

    private void Add(TimeSpan delay, TimeSpan? interval, Action action, ICancelable? cancelable)
    {
        if (_disposed || cancelable is { IsCancellationRequested: true }) return;
        var item = new Item(this, action, interval is null, cancelable);
        _pending[item] = 0;
        item.Start(Clamp(delay), interval is { } every ? Clamp(every) : Timeout.InfiniteTimeSpan);
        // Disposed meanwhile: the sweep in Dispose may have missed this one.
        if (_disposed) item.Stop();
    }

    private static TimeSpan Clamp(TimeSpan wait) => wait < TimeSpan.Zero ? TimeSpan.Zero : wait > Longest ? Longest : wait;

    public void Dispose()
    {
        _disposed = true;
        foreach (var item in _pending.Keys) item.Stop();
    }

    /// <summary>One scheduled action: its timer, and its way out when it is cancelled, fires for the last time, or the scheduler goes.</summary>
    private sealed class Item(DueTimeScheduler owner, Action action, bool once, ICancelable? cancelable)
    {
        private Timer? _timer;
        private CancellationTokenRegistration _cancelled;

        public void Start(TimeSpan delay, TimeSpan period)
        {
            // The timer is created stopped and armed after the registration: a cancel in between cannot be missed.
            _timer = new Timer(static state => ((Item)state!).Fire(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            if (cancelable is not null) _cancelled = cancelable.Token.UnsafeRegister(static state => ((Item)state!).Stop(), this);
            try
            {
                _timer.Change(delay, period);
            }
            catch (ObjectDisposedException)
            {
                // Cancelled (or the scheduler disposed) while it was being set up: nothing to fire.
            }
        }

        private void Fire()
        {
            if (cancelable is { IsCancellationRequested: true } || owner._disposed)
            {
                Stop();
                return;
            }
            if (once) Stop();
            try
            {
                action();
            }
            catch (Exception e)
            {
                owner.Log.Error(e, "A scheduled action threw");
            }
        }

        public void Stop()
        {
            if (!owner._pending.TryRemove(this, out _)) return;
            _timer?.Dispose();
            _cancelled.Dispose();
        }
    }
}
