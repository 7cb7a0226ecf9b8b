using LocalPort.Core.Config;
using static LocalPort.Core.Tests.Config.ConfigTestKit;

namespace LocalPort.Core.Tests.Config;

/// <summary>
/// NUL and other control characters are refused in every value that reaches argv or a file name (a NUL cuts an
/// argument short at exec), at the value's line:column; free text such as a description may still hold a tab.
/// </summary>
public sealed class ControlCharacterParsingTests
{
    private const string SshBase = """
              host: 127.0.0.1
              user: deploy
        """;

    private static string Ssh(string line) => $"""
        services:
          - name: db
            technology: ssh
            local_port: 5432
            remote_port: 5432
            connection:
        {SshBase}
              {line}
        """;

    private static string Kubectl(string line) => $"""
        services:
          - name: api
            technology: kubectl
            local_port: 8080
            remote_port: 80
            connection:
              resource_name: api
              {line}
        """;

    private static string Tcp(string connection, string check = "") => $"""
        services:
          - name: web
            technology: tcp
            local_port: 8080
            remote_port: 80
            connection:
              {connection}
        {check}
        """;

    private static string Check(string type, string config) => $"""
            health_check:
              type: {type}
              config:
                {config}
        """;

    public static TheoryData<string, string> NulEverywhere => new()
    {
        { Tcp(@"host: ""127.0.0.1\0evil"""), "services[0].connection.host" },
        { Ssh(@"remote_host: ""db\0evil"""), "services[0].connection.remote_host" },
        { Ssh(@"jump_host: ""bastion\0evil"""), "services[0].connection.jump_host" },
        { Ssh(@"key_file: ""/keys/id\0evil"""), "services[0].connection.key_file" },
        { Ssh(@"ssh_path: ""/usr/bin/ssh\0evil"""), "services[0].connection.ssh_path" },
        { Ssh(@"password: ""pw\0evil"""), "services[0].connection.password" },
        { Ssh("options:\n          ServerAliveInterval: \"5\\0evil\""), "services[0].connection.options.ServerAliveInterval" },
        { Kubectl(@"namespace: ""prod\0evil"""), "services[0].connection.namespace" },
        { Kubectl(@"context: ""kind\0evil"""), "services[0].connection.context" },
        { Kubectl(@"kubeconfig: ""/kube/config\0evil"""), "services[0].connection.kubeconfig" },
        { Kubectl(@"kubectl_path: ""/usr/bin/kubectl\0evil"""), "services[0].connection.kubectl_path" },
        { Tcp("host: 127.0.0.1", Check("exec", @"command: [pg_isready, ""-h\0evil""]")), "services[0].health_check.config.command[1]" },
        { Tcp("host: 127.0.0.1", Check("exec", @"command: ""pg_isready -h\0evil""")), "services[0].health_check.config.command" },
        { Tcp("host: 127.0.0.1", Check("http", @"url: ""http://localhost/\0evil""")), "services[0].health_check.config.url" },
        { Tcp("host: 127.0.0.1", Check("http", "url: http://localhost/\n        headers:\n          X-Token: \"t\\0evil\"")), "services[0].health_check.config.headers.X-Token" },
    };

    [Theory]
    [MemberData(nameof(NulEverywhere))]
    public void A_nul_in_a_value_that_reaches_argv_or_a_file_is_an_error(string yaml, string path)
    {
        var result = Load(yaml);

        Assert.False(result.Ok);
        var error = Error(result, $"{path}: contains the control character U+0000 (NUL)");
        Assert.DoesNotContain("evil", error.Message);
    }

    [Fact]
    public void The_error_names_the_values_line_and_column()
    {
        var result = Load(Tcp(@"host: ""127.0.0.1\0evil"""));

        var error = Error(result, "U+0000");
        Assert.Equal((7, 13), (error.Line, error.Column));
        Assert.StartsWith("test.yaml:7:13: error: services[0].connection.host", error.ToString());
    }

    [Theory]
    [InlineData(@"host: ""127.0.0.1\e[2J""", "services[0].connection.host: contains the control character U+001B (escape)")]
    [InlineData(@"host: ""127.0.0.1\x7f""", "services[0].connection.host: contains the control character U+007F")]
    [InlineData(@"host: ""127.0.0.1\x9b""", "services[0].connection.host: contains the control character U+009B")]
    public void Escape_del_and_c1_characters_are_errors_too(string connection, string message)
    {
        Error(Load(Tcp(connection)), message);
    }

    [Theory]
    [InlineData(@"key_file: ""/keys/id\tx""", "services[0].connection.key_file: contains the control character U+0009 (tab)")]
    [InlineData(@"ssh_path: ""/usr/bin/ssh\nx""", "services[0].connection.ssh_path: contains the control character U+000A (line feed)")]
    [InlineData("options:\n          ServerAliveInterval: \"5\\t6\"", "services[0].connection.options.ServerAliveInterval: contains the control character U+0009 (tab)")]
    public void A_single_argument_may_not_hold_a_tab_or_line_break(string line, string message)
    {
        Error(Load(Ssh(line)), message);
    }

    [Fact]
    public void A_kubernetes_context_may_not_hold_a_tab()
    {
        Error(Load(Kubectl(@"context: ""kind\tdev""")), "services[0].connection.context: contains the control character U+0009 (tab)");
    }

    [Fact]
    public void A_user_or_host_with_a_tab_is_not_a_host_name()
    {
        Error(Load(Ssh(@"jump_host: ""bastion\tx""")), "services[0].connection.jump_host: 'bastion\\tx' is not a host name");
    }

    [Fact]
    public void A_description_may_hold_tabs_and_line_breaks()
    {
        var service = OnlyService("""
            services:
              - name: web
                technology: tcp
                local_port: 8080
                remote_port: 80
                description: "first\tcolumn\nsecond line"
                connection:
                  host: 127.0.0.1
            """);

        Assert.Equal("first\tcolumn\nsecond line", service.Description);
    }

    [Fact]
    public void A_nul_from_an_environment_variable_is_caught_too()
    {
        var result = Load(Tcp("host: ${TARGET}"), new Dictionary<string, string> { ["TARGET"] = "127.0.0.1\0evil" });

        Error(result, "services[0].connection.host: contains the control character U+0000 (NUL)");
    }

    [Fact]
    public void A_control_character_in_an_unknown_key_is_shown_escaped()
    {
        var result = Load(Tcp("host: 127.0.0.1\n      \"bad\\ekey\": 1"));

        var warning = Assert.Single(result.Diagnostics, d => d.Message.Contains("bad"));
        Assert.DoesNotContain('\u001b', warning.Message);
        Assert.Contains("\\u001b", warning.Message);
    }
}
