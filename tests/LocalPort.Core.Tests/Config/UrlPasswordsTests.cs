using LocalPort.Core.Config;
using static LocalPort.Core.Tests.Config.ConfigTestKit;

namespace LocalPort.Core.Tests.Config;

public sealed class UrlPasswordsTests
{
    [Theory]
    [InlineData("http://admin:pw@host/", "http://admin:********@host/")]
    [InlineData("https://admin:p%40ss:w0rd@127.0.0.1:8443/health?x=a:b@c#f", "https://admin:********@127.0.0.1:8443/health?x=a:b@c#f")]
    [InlineData("http://admin@host/", "http://admin@host/")]
    [InlineData("http://admin:@host/", "http://admin:@host/")]
    [InlineData("http://host:8080/a:b@c", "http://host:8080/a:b@c")]
    [InlineData("http://localhost:8080/", "http://localhost:8080/")]
    public void Only_the_userinfo_password_is_masked(string url, string masked)
    {
        Assert.Equal(masked, UrlPasswords.Mask(url));
    }

    [Fact]
    public void Redact_masks_the_password_as_written_and_unescaped_in_any_message()
    {
        const string url = "http://admin:s3cr%21t@127.0.0.1:9/";

        var redacted = UrlPasswords.Redact($"GET {url} failed; password was s3cr!t", url);

        Assert.DoesNotContain("s3cr", redacted);
        Assert.Contains("admin:********@127.0.0.1:9", redacted);
        Assert.Equal("connection refused", UrlPasswords.Redact("connection refused", "http://127.0.0.1:9/"));
    }

    [Fact]
    public void Export_masks_a_health_check_url_password_and_keeps_the_rest_of_the_url()
    {
        var config = LoadValid("services:\n" + TcpService(extra: """
                health_check:
                  type: http
                  config: {url: "http://admin:url-secret-0xF00D@localhost:8080/health"}
            """));

        var yaml = ConfigExporter.ToYaml(config);

        Assert.DoesNotContain("url-secret-0xF00D", yaml);
        Assert.Contains("http://admin:********@localhost:8080/health", yaml);
        var reloaded = LoadValid(yaml).Services[0].HealthCheck.Settings.Url;
        Assert.Equal("http://admin:********@localhost:8080/health", reloaded);
    }
}
