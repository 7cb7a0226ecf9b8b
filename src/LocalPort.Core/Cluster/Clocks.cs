using System.Diagnostics;

namespace LocalPort.Core.Cluster;

/// <summary>Two clocks: the wall clock, which moves on while the machine sleeps, and a monotonic one, which does not.</summary>
public interface IClock
{
    DateTimeOffset WallNow { get; }
    /// <summary>Time since an arbitrary start; stands still while the machine is suspended (CLOCK_MONOTONIC).</summary>
    TimeSpan Monotonic { get; }
}

public sealed class SystemClock : IClock
{
    public static readonly SystemClock Instance = new();

    private SystemClock() { }

    public DateTimeOffset WallNow => DateTimeOffset.UtcNow;
    public TimeSpan Monotonic => Stopwatch.GetElapsedTime(0);
}

/// <summary>
/// Tells a sleep from the two clocks: between two checks the wall clock moved on by more than the
/// monotonic clock, by more than <c>threshold</c>. A wall clock set back is not a sleep.
/// </summary>
public sealed class SleepDetector
{
    private readonly IClock _clock;
    private readonly TimeSpan _threshold;
    private DateTimeOffset _wall;
    private TimeSpan _monotonic;

    public SleepDetector(IClock clock, TimeSpan threshold)
    {
        _clock = clock;
        _threshold = threshold;
        _wall = clock.WallNow;
        _monotonic = clock.Monotonic;
    }

    /// <summary>How long the machine slept since the last check, or null when it did not.</summary>
    public TimeSpan? Check()
    {
        var wall = _clock.WallNow;
        var monotonic = _clock.Monotonic;
        var unaccounted = (wall - _wall) - (monotonic - _monotonic);
        _wall = wall;
        _monotonic = monotonic;
        return unaccounted > _threshold ? unaccounted : null;
    }
}
