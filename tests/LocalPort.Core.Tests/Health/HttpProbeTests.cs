using System.Diagnostics;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using LocalPort.Core.Config;
using LocalPort.Core.Health;
using static LocalPort.Core.Tests.Health.ProbeTestSupport;

namespace LocalPort.Core.Tests.Health;

public sealed class HttpProbeTests
{
    [Fact]
    public async Task A_200_response_is_healthy()
    {
        await using var server = new TestHttpServer(_ => new(200, "ok"));

        var result = await CheckAsync(Service(HealthCheckType.Http, server.Port));

        Assert.True(result.Healthy, result.Error);
        var request = Assert.Single(server.Requests);
        Assert.Equal("GET", request.Method);
        Assert.Equal("/", request.Target);
    }

    [Fact]
    public async Task A_503_response_is_unhealthy_and_says_what_was_expected()
    {
        await using var server = new TestHttpServer(_ => new(503, "down"));

        var result = await CheckAsync(Service(HealthCheckType.Http, server.Port));

        Assert.False(result.Healthy);
        Assert.Equal("HTTP 503 (expected 2xx or 3xx)", result.Error);
    }

    [Fact]
    public async Task A_redirect_is_healthy_by_default_and_is_not_followed()
    {
        await using var server = new TestHttpServer(_ => new(302));

        var result = await CheckAsync(Service(HealthCheckType.Http, server.Port));

        Assert.True(result.Healthy, result.Error);
        Assert.Single(server.Requests);
    }

    [Fact]
    public async Task Explicit_expected_status_codes_replace_the_default_range()
    {
        await using var server = new TestHttpServer(_ => new(204));
        var settings = new HealthCheckSettings { ExpectedStatusCodes = [200] };

        var result = await CheckAsync(Service(HealthCheckType.Http, server.Port, settings));

        Assert.False(result.Healthy);
        Assert.Equal("HTTP 204 (expected 200)", result.Error);
    }

    [Fact]
    public async Task A_body_without_the_expected_content_is_unhealthy()
    {
        await using var server = new TestHttpServer(_ => new(200, "{\"status\":\"starting\"}"));
        var settings = new HealthCheckSettings { ExpectedContent = "\"status\":\"up\"" };

        var result = await CheckAsync(Service(HealthCheckType.Http, server.Port, settings));

        Assert.False(result.Healthy);
        Assert.Contains("does not contain", result.Error);
    }

    [Fact]
    public async Task A_body_with_the_expected_content_is_healthy()
    {
        await using var server = new TestHttpServer(_ => new(200, "{\"status\":\"up\"}"));
        var settings = new HealthCheckSettings { ExpectedContent = "\"status\":\"up\"" };

        var result = await CheckAsync(Service(HealthCheckType.Http, server.Port, settings));

        Assert.True(result.Healthy, result.Error);
    }

    [Fact]
    public async Task Configured_method_url_and_secret_headers_are_sent()
    {
        await using var server = new TestHttpServer(_ => new(200));
        var settings = new HealthCheckSettings
        {
            Url = $"http://localhost:{server.Port}/healthz?deep=1",
            Method = "head",
            Headers = new Dictionary<string, Secret>
            {
                ["Authorization"] = new("Bearer s3cr3t"),
                ["X-Probe"] = new("localport"),
            },
        };

        var result = await CheckAsync(Service(HealthCheckType.Http, FreePort.Next(), settings));

        Assert.True(result.Healthy, result.Error);
        var request = Assert.Single(server.Requests);
        Assert.Equal("HEAD", request.Method);
        Assert.Equal("/healthz?deep=1", request.Target);
        Assert.Equal("Bearer s3cr3t", request.Headers["Authorization"]);
        Assert.Equal("localport", request.Headers["X-Probe"]);
        // The connection goes to 127.0.0.1, but the server still sees the host it was configured with.
        Assert.Equal($"localhost:{server.Port}", request.Headers["Host"]);
    }

    [Fact]
    public void A_localhost_url_is_rewritten_to_the_ipv4_loopback()
    {
        var (url, host) = HttpProbe.ResolveUrl("http://localhost:8080/health", 1234, https: false);

        Assert.Equal("http://127.0.0.1:8080/health", url.ToString());
        Assert.Equal("localhost:8080", host);
    }

    [Fact]
    public void Without_a_url_the_probe_targets_the_local_port()
    {
        Assert.Equal("https://127.0.0.1:4443/", HttpProbe.ResolveUrl(null, 4443, https: true).Url.ToString());
        Assert.Equal("http://127.0.0.1:8080/", HttpProbe.ResolveUrl("", 8080, https: false).Url.ToString());
    }

    [Fact]
    public async Task A_server_that_never_answers_fails_within_the_timeout()
    {
        await using var server = new TestHttpServer(_ => null);
        var timeout = TimeSpan.FromMilliseconds(500);
        var stopwatch = Stopwatch.StartNew();

        var result = await CheckAsync(Service(HealthCheckType.Http, server.Port, timeout: timeout));

        Assert.False(result.Healthy);
        Assert.Equal("timed out after 500ms", result.Error);
        Assert.InRange(stopwatch.Elapsed, TimeSpan.Zero, timeout + TimeSpan.FromSeconds(1));
    }

    [Fact]
    public async Task A_port_with_nothing_listening_fails_with_connection_refused()
    {
        var result = await CheckAsync(Service(HealthCheckType.Http, FreePort.Next()));

        Assert.False(result.Healthy);
        Assert.Equal("connection refused", result.Error);
    }

    [Fact]
    public async Task An_invalid_url_fails_every_check_instead_of_throwing()
    {
        var settings = new HealthCheckSettings { Url = "ftp://127.0.0.1/" };

        var result = await CheckAsync(Service(HealthCheckType.Http, FreePort.Next(), settings));

        Assert.False(result.Healthy);
        Assert.Contains("invalid http health check settings", result.Error);
    }

    [Fact]
    public async Task Https_with_verify_ssl_off_accepts_a_self_signed_certificate()
    {
        using var certificate = SelfSignedCertificate();
        await using var server = new TestHttpServer(_ => new(200), certificate);
        var settings = new HealthCheckSettings { VerifySsl = false };

        var result = await CheckAsync(Service(HealthCheckType.Https, server.Port, settings));

        Assert.True(result.Healthy, result.Error);
    }

    [Fact]
    public async Task Https_with_verify_ssl_on_rejects_a_self_signed_certificate()
    {
        using var certificate = SelfSignedCertificate();
        await using var server = new TestHttpServer(_ => new(200), certificate);

        var result = await CheckAsync(Service(HealthCheckType.Https, server.Port));

        Assert.False(result.Healthy);
        Assert.StartsWith("TLS handshake failed", result.Error);
    }

    private static X509Certificate2 SelfSignedCertificate()
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var now = DateTimeOffset.UtcNow;
        return request.CreateSelfSigned(now.AddMinutes(-5), now.AddHours(1));
    }

    [Fact]
    public async Task A_failing_check_never_shows_the_url_password()
    {
        await using var server = new TestHttpServer(_ => new(200, "ok"));
        var closedPort = FreePort.Next();
        const string password = "url-secret-0xF00D";

        // The one message that quotes config text: the expected content, which here repeats the password.
        var mismatch = await CheckAsync(Service(HealthCheckType.Http, server.Port,
            new HealthCheckSettings { Url = $"http://admin:{password}@127.0.0.1:{server.Port}/", ExpectedContent = $"token {password}" }));
        var refused = await CheckAsync(Service(HealthCheckType.Http, closedPort,
            new HealthCheckSettings { Url = $"http://admin:{password}@127.0.0.1:{closedPort}/" }));

        Assert.False(mismatch.Healthy);
        Assert.False(refused.Healthy);
        Assert.Equal("HTTP 200 body does not contain \"token ********\"", mismatch.Error);
        Assert.DoesNotContain(password, refused.Error);
    }
}
