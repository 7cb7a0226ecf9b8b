using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using LocalPort.Core.Config;
using LocalPort.Core.Health;
using static LocalPort.Core.Tests.Health.ProbeTestSupport;

namespace LocalPort.Core.Tests.Health;

[Collection(PostgresCollection.Name)]
public sealed class PostgresProbeTests(PostgresCluster cluster)
{
    [Fact]
    public async Task Select_1_against_a_running_server_with_default_settings_is_healthy()
    {
        var result = await CheckAsync(Service(HealthCheckType.Postgres, cluster.Port, timeout: TimeSpan.FromSeconds(5)));

        Assert.True(result.Healthy, result.Error);
    }

    [Fact]
    public async Task Select_1_with_the_right_password_is_healthy()
    {
        var settings = new HealthCheckSettings
        {
            User = PostgresCluster.PasswordUser,
            Password = new Secret(PostgresCluster.Password),
            Database = "postgres",
            SslMode = "disable",
        };

        var result = await CheckAsync(Service(HealthCheckType.Postgres, cluster.Port, settings, TimeSpan.FromSeconds(5)));

        Assert.True(result.Healthy, result.Error);
    }

    [Fact]
    public async Task A_wrong_password_is_unhealthy_and_the_message_never_contains_the_password()
    {
        const string wrong = "definitely-not-it-91c2";
        var settings = new HealthCheckSettings { User = PostgresCluster.PasswordUser, Password = new Secret(wrong) };

        var result = await CheckAsync(Service(HealthCheckType.Postgres, cluster.Port, settings, TimeSpan.FromSeconds(5)));

        Assert.False(result.Healthy);
        Assert.StartsWith("28P01: password authentication failed", result.Error);
        Assert.DoesNotContain(wrong, result.Error);
    }

    [Fact]
    public async Task A_missing_database_is_unhealthy_with_the_server_message()
    {
        var settings = new HealthCheckSettings { Database = "no_such_db" };

        var result = await CheckAsync(Service(HealthCheckType.Postgres, cluster.Port, settings, TimeSpan.FromSeconds(5)));

        Assert.False(result.Healthy);
        Assert.StartsWith("3D000:", result.Error);
    }

    [Fact]
    public async Task Sslmode_require_against_a_server_without_tls_is_unhealthy()
    {
        var settings = new HealthCheckSettings { SslMode = "require" };

        var result = await CheckAsync(Service(HealthCheckType.Postgres, cluster.Port, settings, TimeSpan.FromSeconds(5)));

        Assert.False(result.Healthy);
        Assert.Contains("SSL", result.Error, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task An_unknown_sslmode_fails_every_check_instead_of_throwing()
    {
        var settings = new HealthCheckSettings { SslMode = "sometimes" };

        var result = await CheckAsync(Service(HealthCheckType.Postgres, cluster.Port, settings));

        Assert.False(result.Healthy);
        Assert.Equal("invalid sslmode 'sometimes'", result.Error);
    }

    [Theory]
    [InlineData("verify-full", Npgsql.SslMode.VerifyFull)]
    [InlineData("verify-ca", Npgsql.SslMode.VerifyCA)]
    [InlineData("Prefer", Npgsql.SslMode.Prefer)]
    [InlineData(null, Npgsql.SslMode.Prefer)]
    public void Sslmode_accepts_libpq_and_npgsql_spellings(string? value, Npgsql.SslMode expected)
    {
        Assert.True(PostgresProbe.TryParseSslMode(value, out var mode));
        Assert.Equal(expected, mode);
    }

    [Fact]
    public async Task A_port_with_nothing_listening_is_unhealthy()
    {
        var result = await CheckAsync(Service(HealthCheckType.Postgres, FreePort.Next()));

        Assert.False(result.Healthy);
        Assert.Equal("connection refused", result.Error);
    }

    [Fact]
    public async Task A_server_that_never_answers_fails_within_the_timeout()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var timeout = TimeSpan.FromMilliseconds(500);
        var stopwatch = Stopwatch.StartNew();

        var result = await CheckAsync(Service(HealthCheckType.Postgres, port, timeout: timeout));

        Assert.False(result.Healthy);
        Assert.Equal("timed out after 500ms", result.Error);
        Assert.InRange(stopwatch.Elapsed, TimeSpan.Zero, timeout + TimeSpan.FromSeconds(1));
    }
}
