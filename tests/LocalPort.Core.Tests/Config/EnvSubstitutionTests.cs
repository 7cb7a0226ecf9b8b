using LocalPort.Core.Config;
using static LocalPort.Core.Tests.Config.ConfigTestKit;

namespace LocalPort.Core.Tests.Config;

public sealed class EnvSubstitutionTests
{
    private static readonly Dictionary<string, string> Env = new()
    {
        ["HOST"] = "db.example.com",
        ["EMPTY"] = "",
        ["NESTED"] = "${HOST}",
    };

    private static string Expand(string text) => EnvSubstitution.Expand(text, name => Env.GetValueOrDefault(name)).Value;

    [Theory]
    [InlineData("${HOST}", "db.example.com")]
    [InlineData("ssh://${HOST}:22", "ssh://db.example.com:22")]
    [InlineData("${MISSING:fallback}", "fallback")]
    [InlineData("${MISSING:-fallback}", "fallback")]
    [InlineData("${HOST:fallback}", "db.example.com")]
    [InlineData("${HOST:-fallback}", "db.example.com")]
    [InlineData("${EMPTY:-fallback}", "fallback")]
    [InlineData("${MISSING:}", "")]
    [InlineData("${MISSING:~/.ssh/key}", "~/.ssh/key")]
    [InlineData("${MISSING:a:b}", "a:b")]
    [InlineData("$$", "$")]
    [InlineData("$${HOST}", "${HOST}")]
    [InlineData("price: 5$", "price: 5$")]
    [InlineData("$HOST", "$HOST")]
    [InlineData("${NESTED}", "${HOST}")]
    public void Variables_defaults_and_escapes_expand(string text, string expected)
    {
        Assert.Equal(expected, Expand(text));
    }

    [Fact]
    public void An_unset_variable_without_default_expands_to_nothing_and_is_named()
    {
        var expansion = EnvSubstitution.Expand("a${NOPE}b${NOPE}", _ => null);

        Assert.Equal("ab", expansion.Value);
        Assert.Equal(["NOPE"], expansion.UnsetVariables);
    }

    [Theory]
    [InlineData("${not a name}")]
    [InlineData("${1ABC}")]
    [InlineData("${unclosed")]
    public void A_malformed_reference_is_kept_as_written_and_reported(string text)
    {
        var expansion = EnvSubstitution.Expand(text, _ => "x");

        Assert.Equal(text, expansion.Value);
        Assert.Single(expansion.Malformed);
    }

    [Fact]
    public void Values_are_substituted_before_they_are_converted()
    {
        var service = OnlyService("""
            services:
              - name: web
                technology: tcp
                local_port: ${PORT:8080}
                remote_port: ${REMOTE}
                enabled: ${ENABLED:true}
                connection: {host: example.com}
            """, new Dictionary<string, string> { ["REMOTE"] = "443" });

        Assert.Equal((8080, 443, true), (service.LocalPort, service.RemotePort, service.Enabled));
    }

    [Fact]
    public void An_unset_variable_is_a_warning_at_the_scalar()
    {
        var result = Load("services:\n" + TcpService(extra: "    description: ${WHO}"));

        Assert.True(result.Ok);
        Assert.Equal("test.yaml:8:18: warning: services[0].description: environment variable WHO is not set",
            Warning(result, "WHO").ToString());
    }

    [Fact]
    public void An_unset_variable_is_an_error_under_strict()
    {
        var result = Load("services:\n" + TcpService(extra: "    description: ${WHO}"), strict: true);

        Assert.Null(result.Config);
        Assert.Equal(8, Error(result, "services[0].description: environment variable WHO is not set").Line);
    }

    [Fact]
    public void An_unset_variable_in_a_required_value_is_an_error()
    {
        var result = Load("""
            services:
              - name: db
                technology: ssh
                local_port: 5432
                remote_port: 5432
                connection:
                  host: ${PROD_DB_HOST}
            """);

        var error = Assert.Single(result.Errors);
        Assert.Equal((7, 13), (error.Line, error.Column));
        Assert.StartsWith("services[0].connection.host: environment variable PROD_DB_HOST is not set", error.Message);
    }

    [Fact]
    public void A_variable_cannot_inject_yaml_structure()
    {
        var env = new Dictionary<string, string> { ["DESC"] = "a: b\nlocal_port: 1\n- [x" };

        var service = OnlyService("services:\n" + TcpService(extra: "    description: ${DESC}"), env);

        Assert.Equal("a: b\nlocal_port: 1\n- [x", service.Description);
        Assert.Equal(8080, service.LocalPort);
    }

    [Fact]
    public void A_variable_holding_a_comment_marker_or_quote_stays_part_of_the_value()
    {
        var env = new Dictionary<string, string> { ["PASS"] = "p#ss' \"word" };

        var service = OnlyService("""
            services:
              - name: db
                technology: ssh
                local_port: 5432
                remote_port: 5432
                connection: {host: bastion, password: "${PASS}"}
            """, env);

        Assert.Equal("p#ss' \"word", ((SshConnection)service.Connection).Password!.Reveal());
    }

    [Fact]
    public void A_dollar_escape_gives_a_literal_dollar()
    {
        var service = OnlyService("services:\n" + TcpService(extra: "    description: costs $$5 and $${X}"));

        Assert.Equal("costs $5 and ${X}", service.Description);
    }

    [Fact]
    public void Defaults_are_substituted_too()
    {
        var service = OnlyService("defaults:\n  health_check:\n    interval: ${EVERY:7s}\nservices:\n" + TcpService());

        Assert.Equal(TimeSpan.FromSeconds(7), service.HealthCheck.Interval);
    }

    [Fact]
    public void A_malformed_reference_in_a_value_is_a_warning()
    {
        var result = Load("services:\n" + TcpService(extra: "    description: ${two words}"));

        Assert.True(result.Ok);
        Warning(result, "services[0].description: '${two words}' is not a variable reference");
    }
}
