using Akka.Actor;
using LocalPort.Core.Cluster;

namespace LocalPort.Actors.Cluster;

/// <summary>
/// Compares the wall clock with the monotonic clock every <c>checkEvery</c>; when the wall clock got ahead
/// by more than <c>threshold</c>, the machine slept, and the parent is told (<see cref="Woke"/>).
/// </summary>
public sealed class SleepWatcher : ReceiveActor, IWithTimers
{
    public sealed record Woke(TimeSpan Slept);
    private sealed class Check { public static readonly Check Instance = new(); }

    private readonly TimeSpan _checkEvery;
    private readonly SleepDetector _detector;

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(IClock clock, TimeSpan checkEvery, TimeSpan threshold) =>
        Akka.Actor.Props.Create(() => new SleepWatcher(clock, checkEvery, threshold));

    public SleepWatcher(IClock clock, TimeSpan checkEvery, TimeSpan threshold)
    {
        _checkEvery = checkEvery;
        _detector = new SleepDetector(clock, threshold);
        Receive<Check>(_ =>
        {
            if (_detector.Check() is { } slept) Context.Parent.Tell(new Woke(slept));
        });
    }

    protected override void PreStart() => Timers.StartPeriodicTimer("check", Check.Instance, _checkEvery);
}
