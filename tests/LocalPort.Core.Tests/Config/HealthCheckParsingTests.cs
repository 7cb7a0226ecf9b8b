using LocalPort.Core.Config;
using static LocalPort.Core.Tests.Config.ConfigTestKit;

namespace LocalPort.Core.Tests.Config;

public sealed class HealthCheckParsingTests
{
    /// <summary>A tcp service whose health_check body is <paramref name="check"/>, indented 6 spaces.</summary>
    private static string WithCheck(string check) => "services:\n" + TcpService(extra: "    health_check:\n" + check);

    private static HealthCheckSpec Check(string check, IReadOnlyDictionary<string, string>? env = null) =>
        OnlyService(WithCheck(check), env).HealthCheck;

    [Theory]
    [InlineData("tcp", HealthCheckType.Tcp)]
    [InlineData("HTTP", HealthCheckType.Http)]
    [InlineData("https", HealthCheckType.Https)]
    [InlineData("postgres", HealthCheckType.Postgres)]
    [InlineData("postgresql", HealthCheckType.Postgres)]
    [InlineData("kafka", HealthCheckType.Kafka)]
    [InlineData("redis", HealthCheckType.Redis)]
    public void Every_check_type_is_recognised(string written, HealthCheckType expected)
    {
        Assert.Equal(expected, Check($"      type: {written}").Type);
    }

    [Fact]
    public void An_unknown_check_type_lists_the_choices()
    {
        Error(Load(WithCheck("      type: ping")),
            "services[0].health_check.type: 'ping' is not one of tcp, http, https, postgres, postgresql, kafka, redis, exec");
    }

    [Fact]
    public void Timing_and_thresholds_are_read()
    {
        var check = Check("""
                  enabled: false
                  interval: 30
                  timeout: 500ms
                  failure_threshold: 5
                  success_threshold: 3
                  cluster_aware: true
            """);

        AssertEquivalent(HealthCheckSpec.Default with
        {
            Enabled = false,
            Interval = TimeSpan.FromSeconds(30),
            Timeout = TimeSpan.FromMilliseconds(500),
            FailureThreshold = 5,
            SuccessThreshold = 3,
            ClusterAware = true,
        }, check, (a, b) => a.Reveal() == b.Reveal());
    }

    [Theory]
    [InlineData("failure_threshold: 0", "services[0].health_check.failure_threshold: 0 is out of range; use a value of at least 1")]
    [InlineData("success_threshold: -1", "success_threshold: -1 is out of range")]
    [InlineData("timeout: 0s", "timeout: 0s must be longer than zero")]
    [InlineData("cluster_aware: maybe", "cluster_aware: 'maybe' is not a boolean; use true or false")]
    public void Impossible_timing_values_are_errors(string line, string message)
    {
        Error(Load(WithCheck("      " + line)), message);
    }

    [Fact]
    public void Upstreams_single_expected_status_becomes_the_list_of_codes()
    {
        var settings = Check("""
                  type: http
                  config:
                    url: http://localhost:8080/health
                    expected_status: 200
            """).Settings;

        Assert.Equal([200], settings.ExpectedStatusCodes);
        Assert.Equal("GET", settings.Method);
        Assert.True(settings.VerifySsl);
    }

    [Fact]
    public void Http_settings_are_read_with_headers_as_secrets()
    {
        var settings = Check("""
                  type: https
                  config:
                    url: https://localhost:8443/ready
                    method: post
                    expected_status_codes: [200, 204]
                    expected_status: 202
                    expected_content: OK
                    verify_ssl: false
                    headers:
                      Authorization: Bearer ${TOKEN}
                      X-Plain: one
            """, new Dictionary<string, string> { ["TOKEN"] = "s3cret" }).Settings;

        Assert.Equal(("https://localhost:8443/ready", "POST", "OK", false), (settings.Url, settings.Method, settings.ExpectedContent, settings.VerifySsl));
        Assert.Equal([200, 204, 202], settings.ExpectedStatusCodes);
        Assert.Equal("Bearer s3cret", settings.Headers["Authorization"].Reveal());
        Assert.Equal("********", settings.Headers["Authorization"].ToString());
        Assert.Equal("one", settings.Headers["X-Plain"].Reveal());
    }

    [Theory]
    [InlineData("url: localhost:8080/health", "is not an http(s) URL")]
    [InlineData("expected_status: 999", "expected_status: 999 is out of range; use 100-599")]
    [InlineData("expected_status_codes: [200, ok]", "expected_status_codes[1]: 'ok' is not a whole number")]
    [InlineData("headers:\n          'Bad Header': x", "'Bad Header' is not a valid header name")]
    public void Bad_http_settings_are_errors(string line, string message)
    {
        Error(Load(WithCheck("      type: http\n      config:\n        " + line)), message);
    }

    [Fact]
    public void Postgres_settings_are_read_with_the_password_as_a_secret()
    {
        var settings = Check("""
                  type: postgresql
                  config:
                    database: app
                    user: reader
                    password: pw
                    sslmode: Require
            """).Settings;

        Assert.Equal(("app", "reader", "pw", "require"), (settings.Database, settings.User, settings.Password!.Reveal(), settings.SslMode));
    }

    [Fact]
    public void An_unknown_sslmode_is_an_error()
    {
        Error(Load(WithCheck("      type: postgres\n      config:\n        sslmode: strict")), "'strict' is not one of disable, allow, prefer, require, verify-ca, verify-full");
    }

    [Fact]
    public void Upstreams_host_and_port_check_settings_are_warned_about_and_ignored()
    {
        var result = Load(WithCheck("      type: postgres\n      config:\n        host: localhost\n        port: 5432"));

        Assert.True(result.Ok);
        Assert.Contains("checks always connect to the service's local_port", Warning(result, "unknown key 'host'").Message);
        Warning(result, "unknown key 'port'");
    }

    [Fact]
    public void Kafka_bootstrap_servers_are_read_as_written_or_joined_from_a_list()
    {
        Assert.Equal("localhost:9092", Check("      type: kafka\n      config:\n        bootstrap_servers: localhost:9092").Settings.BootstrapServers);
        Assert.Equal("a:1,b:2", Check("      type: kafka\n      config:\n        bootstrap_servers: [a:1, b:2]").Settings.BootstrapServers);
    }

    [Fact]
    public void An_exec_command_may_be_a_list_of_arguments()
    {
        var command = Check("      type: exec\n      config:\n        command: [pg_isready, -h, 127.0.0.1]").Settings.Command;

        Assert.Equal(["pg_isready", "-h", "127.0.0.1"], command);
    }

    [Fact]
    public void An_exec_command_string_is_split_honouring_quotes()
    {
        var command = Check("""
                  type: exec
                  config:
                    command: sh -c 'exit 0' "two words" plain
            """).Settings.Command;

        Assert.Equal(["sh", "-c", "exit 0", "two words", "plain"], command);
    }

    [Theory]
    [InlineData("      type: exec", "services[0].health_check.config.command is missing")]
    [InlineData("      type: exec\n      config:\n        command: []", "services[0].health_check.config.command is empty")]
    [InlineData("      type: exec\n      config:\n        command: \"echo 'oops\"", "cannot be split into arguments: the single quote is never closed")]
    public void An_exec_check_needs_a_usable_command(string check, string message)
    {
        Error(Load(WithCheck(check)), message);
    }

    [Fact]
    public void A_null_health_check_means_the_defaults()
    {
        var service = OnlyService("services:\n" + TcpService(extra: "    health_check:"));

        AssertEquivalent(HealthCheckSpec.Default, service.HealthCheck, (a, b) => a.Reveal() == b.Reveal());
    }
}
