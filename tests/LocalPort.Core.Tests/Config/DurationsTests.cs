using LocalPort.Core.Config;

namespace LocalPort.Core.Tests.Config;

public sealed class DurationsTests
{
    [Theory]
    [InlineData("5", 5_000)]
    [InlineData("3.0", 3_000)]
    [InlineData("0.25", 250)]
    [InlineData("500ms", 500)]
    [InlineData("2s", 2_000)]
    [InlineData("1.5m", 90_000)]
    [InlineData("1h", 3_600_000)]
    [InlineData(" 2 s ", 2_000)]
    [InlineData("10S", 10_000)]
    [InlineData("0", 0)]
    public void Numbers_are_seconds_and_units_are_honoured(string text, int milliseconds)
    {
        Assert.True(Durations.TryParse(text, out var duration));
        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), duration);
    }

    [Theory]
    [InlineData("")]
    [InlineData("soon")]
    [InlineData("-1s")]
    [InlineData("5 minutes")]
    [InlineData("1e3")]
    [InlineData("ms")]
    [InlineData("1.2.3s")]
    [InlineData("99999999999999999999999999999h")]
    public void Anything_else_is_not_a_duration(string text)
    {
        Assert.False(Durations.TryParse(text, out _));
    }

    [Theory]
    [InlineData(5_000, "5s")]
    [InlineData(500, "500ms")]
    [InlineData(90_000, "90s")]
    [InlineData(0, "0s")]
    public void Durations_are_written_in_seconds_or_milliseconds(int milliseconds, string expected)
    {
        Assert.Equal(expected, Durations.Format(TimeSpan.FromMilliseconds(milliseconds)));
    }

    [Fact]
    public void Any_duration_written_reads_back_exactly()
    {
        foreach (var ticks in new long[] { 1, 9_999, 12_345_678, TimeSpan.TicksPerDay + 1 })
        {
            Assert.True(Durations.TryParse(Durations.Format(TimeSpan.FromTicks(ticks)), out var back));
            Assert.Equal(ticks, back.Ticks);
        }
    }

    [Fact]
    public void A_config_rejects_zero_and_overlong_durations_where_they_make_no_sense()
    {
        var result = ConfigTestKit.Load("services:\n" + ConfigTestKit.TcpService(extra: """
                health_check:
                  timeout: 0
                  interval: 48h
            """));

        ConfigTestKit.Error(result, "services[0].health_check.timeout: 0 must be longer than zero");
        ConfigTestKit.Error(result, "services[0].health_check.interval: 48h is too long; use at most 24h");
    }
}
