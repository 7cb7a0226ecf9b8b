using LocalPort.Core.Config;
using static LocalPort.Core.Tests.Config.ConfigTestKit;

namespace LocalPort.Core.Tests.Config;

public sealed class RestartPolicyParsingTests
{
    private static string WithPolicy(string policy) => "services:\n" + TcpService(extra: "    restart_policy:\n" + policy);

    [Fact]
    public void Every_field_is_read()
    {
        var policy = OnlyService(WithPolicy("""
                  enabled: false
                  max_attempts: 0
                  initial_delay: 250ms
                  max_delay: 2m
                  backoff_multiplier: 1.5
                  jitter: 0
                  reset_after: 10m
            """)).RestartPolicy;

        Assert.Equal(new RestartPolicy(false, 0, TimeSpan.FromMilliseconds(250), TimeSpan.FromMinutes(2), 1.5, 0, TimeSpan.FromMinutes(10)), policy);
    }

    [Theory]
    [InlineData("max_attempts: -1", "max_attempts: -1 is out of range; use a value of at least 0")]
    [InlineData("backoff_multiplier: 0.5", "backoff_multiplier: 0.5 is out of range; use 1-1000")]
    [InlineData("jitter: 1.5", "jitter: 1.5 is out of range; use 0-1")]
    [InlineData("jitter: lots", "jitter: 'lots' is not a number; use 0-1")]
    [InlineData("initial_delay: -5", "initial_delay: '-5' is not a duration")]
    public void Values_outside_their_range_are_errors(string line, string message)
    {
        Error(Load(WithPolicy("      " + line)), message);
    }

    [Fact]
    public void A_max_delay_below_the_initial_delay_is_a_warning()
    {
        var result = Load(WithPolicy("      initial_delay: 10\n      max_delay: 5"));

        Assert.True(result.Ok);
        Warning(result, "max_delay: 5s is shorter than initial_delay 10s");
    }
}
