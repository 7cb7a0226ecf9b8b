using LocalPort.Core.Config;
using static LocalPort.Core.Tests.Config.ConfigTestKit;

namespace LocalPort.Core.Tests.Config;

public sealed class DefaultsMergeTests
{
    private const string Defaults = """
        defaults:
          health_check:
            type: http
            interval: 15
            timeout: 3.0
            failure_threshold: 4
            config:
              url: http://localhost:8080/health
              method: HEAD
          restart_policy:
            max_attempts: 3
            initial_delay: 2
            max_delay: 30
        """;

    [Fact]
    public void A_service_without_health_check_or_restart_policy_gets_the_defaults()
    {
        var service = OnlyService(Defaults + "\nservices:\n" + TcpService());

        Assert.Equal(HealthCheckType.Http, service.HealthCheck.Type);
        Assert.Equal(TimeSpan.FromSeconds(15), service.HealthCheck.Interval);
        Assert.Equal(TimeSpan.FromSeconds(3), service.HealthCheck.Timeout);
        Assert.Equal(4, service.HealthCheck.FailureThreshold);
        Assert.Equal(HealthCheckSpec.Default.SuccessThreshold, service.HealthCheck.SuccessThreshold);
        Assert.Equal("http://localhost:8080/health", service.HealthCheck.Settings.Url);
        Assert.Equal(RestartPolicy.Default with { MaxAttempts = 3, InitialDelay = TimeSpan.FromSeconds(2), MaxDelay = TimeSpan.FromSeconds(30) },
            service.RestartPolicy);
    }

    [Fact]
    public void The_services_own_keys_win_and_the_rest_come_from_defaults()
    {
        var service = OnlyService(Defaults + "\nservices:\n" + TcpService(extra: """
                health_check:
                  interval: 5
                restart_policy:
                  max_attempts: 9
            """));

        Assert.Equal(TimeSpan.FromSeconds(5), service.HealthCheck.Interval);
        Assert.Equal(4, service.HealthCheck.FailureThreshold);
        Assert.Equal(HealthCheckType.Http, service.HealthCheck.Type);
        Assert.Equal(9, service.RestartPolicy.MaxAttempts);
        Assert.Equal(TimeSpan.FromSeconds(30), service.RestartPolicy.MaxDelay);
    }

    [Fact]
    public void The_config_sub_mapping_is_merged_key_by_key()
    {
        var service = OnlyService(Defaults + "\nservices:\n" + TcpService(extra: """
                health_check:
                  config:
                    url: http://localhost:8080/ready
                    expected_status: 204
            """));

        Assert.Equal("http://localhost:8080/ready", service.HealthCheck.Settings.Url);
        Assert.Equal("HEAD", service.HealthCheck.Settings.Method);
        Assert.Equal([204], service.HealthCheck.Settings.ExpectedStatusCodes);
    }

    [Fact]
    public void A_bad_default_is_reported_once_at_the_line_where_it_is_written()
    {
        var result = Load($"""
            defaults:
              health_check:
                interval: soon
            services:
            {TcpService("a", 8080)}
            {TcpService("b", 8081)}
            """);

        var error = Assert.Single(result.Errors);
        Assert.Equal("test.yaml:3:15: error: defaults.health_check.interval: 'soon' is not a duration; use seconds (5, 1.5) or a number with a unit (500ms, 2s, 1m, 1h)",
            error.ToString());
    }

    [Fact]
    public void An_unknown_key_in_defaults_is_warned_about_once()
    {
        var result = Load($"""
            defaults:
              restart_policy:
                retries: 3
            services:
            {TcpService("a", 8080)}
            {TcpService("b", 8081)}
            """);

        Assert.True(result.Ok);
        Assert.Equal(3, Warning(result, "defaults.restart_policy: unknown key 'retries' is ignored").Line);
    }

    [Fact]
    public void Defaults_that_are_not_a_mapping_are_an_error()
    {
        var result = Load("defaults:\n  health_check: fast\nservices:\n" + TcpService());

        Assert.Equal(2, Error(result, "defaults.health_check: expected a mapping of keys to values, found 'fast'").Line);
    }
}
