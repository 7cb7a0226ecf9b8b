using LocalPort.Core.Config;
using LocalPort.Core.Health;
using static LocalPort.Core.Tests.Health.ProbeTestSupport;

namespace LocalPort.Core.Tests.Health;

public sealed class HealthProbesTests
{
    [Theory]
    [InlineData(HealthCheckType.Tcp, typeof(TcpProbe))]
    [InlineData(HealthCheckType.Http, typeof(HttpProbe))]
    [InlineData(HealthCheckType.Https, typeof(HttpProbe))]
    [InlineData(HealthCheckType.Postgres, typeof(PostgresProbe))]
    [InlineData(HealthCheckType.Redis, typeof(RedisProbe))]
    [InlineData(HealthCheckType.Kafka, typeof(KafkaProbe))]
    [InlineData(HealthCheckType.Exec, typeof(ExecProbe))]
    public void Each_check_type_gets_its_own_probe(HealthCheckType type, Type expected)
    {
        var probe = HealthProbes.Create(Service(type, 8080));

        Assert.IsType(expected, probe);
        (probe as IDisposable)?.Dispose();
    }

    [Fact]
    public void An_https_check_without_a_url_targets_https_on_the_local_port()
    {
        using var probe = (HttpProbe)HealthProbes.Create(Service(HealthCheckType.Https, 8443));

        Assert.Equal("https://127.0.0.1:8443/", probe.Url?.ToString());
    }

    [Theory]
    [InlineData(HealthCheckType.Tcp)]
    [InlineData(HealthCheckType.Http)]
    [InlineData(HealthCheckType.Postgres)]
    [InlineData(HealthCheckType.Redis)]
    [InlineData(HealthCheckType.Kafka)]
    public async Task An_already_cancelled_token_gives_a_timed_out_failure_not_an_exception(HealthCheckType type)
    {
        var probe = HealthProbes.Create(Service(type, FreePort.Next()));
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();

        var result = await probe.CheckAsync(cancelled.Token);

        Assert.False(result.Healthy);
        Assert.Equal("timed out after 2s", result.Error);
        (probe as IDisposable)?.Dispose();
    }

    [Theory]
    [InlineData(2000, "2s")]
    [InlineData(1500, "1.5s")]
    [InlineData(500, "500ms")]
    [InlineData(2050, "2050ms")]
    public void Timeouts_are_written_the_way_people_configure_them(int milliseconds, string expected)
    {
        Assert.Equal(expected, ProbeErrors.Format(TimeSpan.FromMilliseconds(milliseconds)));
    }
}
