using LocalPort.Core.Cluster;

namespace LocalPort.Core.Tests.Cluster;

public sealed class SleepDetectorTests
{
    private sealed class Clocks : IClock
    {
        public DateTimeOffset WallNow { get; set; } = new(2025, 1, 6, 22, 0, 0, TimeSpan.Zero);
        public TimeSpan Monotonic { get; set; }

        public void Awake(TimeSpan time)
        {
            WallNow += time;
            Monotonic += time;
        }
    }

    private readonly Clocks _clocks = new();

    [Fact]
    public void Awake_time_is_no_sleep()
    {
        var detector = new SleepDetector(_clocks, TimeSpan.FromSeconds(5));
        _clocks.Awake(TimeSpan.FromMinutes(10));

        Assert.Null(detector.Check());
    }

    [Fact]
    public void Wall_time_the_monotonic_clock_did_not_see_is_the_sleep()
    {
        var detector = new SleepDetector(_clocks, TimeSpan.FromSeconds(5));
        _clocks.Awake(TimeSpan.FromSeconds(1));
        _clocks.WallNow += TimeSpan.FromHours(9);

        Assert.Equal(TimeSpan.FromHours(9), detector.Check());
        _clocks.Awake(TimeSpan.FromSeconds(1));
        Assert.Null(detector.Check());
    }

    [Fact]
    public void A_clock_set_back_or_a_small_correction_is_no_sleep()
    {
        var detector = new SleepDetector(_clocks, TimeSpan.FromSeconds(5));
        _clocks.WallNow -= TimeSpan.FromHours(1);
        Assert.Null(detector.Check());
        _clocks.WallNow += TimeSpan.FromSeconds(4);
        Assert.Null(detector.Check());
    }
}
