using LocalPort.Core.Config;
using static LocalPort.Core.Tests.Config.ConfigTestKit;

namespace LocalPort.Core.Tests.Config;

public sealed class ConfigLoaderTests
{
    [Fact]
    public void A_minimal_service_gets_every_default()
    {
        var config = LoadValid("""
            version: "1.0"
            services:
              - name: web
                technology: tcp
                local_port: 8080
                remote_port: 80
                connection:
                  host: example.com
            """);

        Assert.Equal("1.0", config.Version);
        Assert.Equal(ShutdownTimeouts.Default, config.Shutdown);
        var web = Assert.Single(config.Services);
        Assert.Equal(("web", Technology.Tcp, 8080, 80), (web.Name, web.Technology, web.LocalPort, web.RemotePort));
        Assert.Equal(new TcpConnection("example.com"), web.Connection);
        Assert.True(web.Enabled);
        Assert.Empty(web.Tags);
        Assert.Null(web.Description);
        Assert.Equal(0, web.Priority);
        Assert.Equal(RestartPolicy.Default, web.RestartPolicy);
        AssertEquivalent(HealthCheckSpec.Default, web.HealthCheck, (a, b) => a.Reveal() == b.Reveal());
    }

    [Fact]
    public void Tags_description_and_priority_are_read()
    {
        var web = OnlyService("services:\n" + TcpService(extra: """
                tags: [frontend, demo]
                description: "The web tier"
                priority: 7
            """));

        Assert.Equal(["frontend", "demo"], web.Tags);
        Assert.Equal("The web tier", web.Description);
        Assert.Equal(7, web.Priority);
    }

    [Fact]
    public void Technology_is_case_insensitive()
    {
        var service = OnlyService("""
            services:
              - name: web
                technology: TCP
                local_port: 8080
                remote_port: 80
                connection: {host: example.com}
            """);

        Assert.Equal(Technology.Tcp, service.Technology);
    }

    [Fact]
    public void Services_written_as_a_mapping_take_their_name_from_the_key()
    {
        var config = LoadValid("""
            services:
              test-service:
                local_port: 8080
                technology: "ssh"
                connection:
                  host: "localhost"
                  port: 22
                  user: "testuser"
                remote_port: 80
                enabled: false
                health_check:
                  enabled: false
              other:
                technology: tcp
                local_port: 8081
                remote_port: 81
                connection: {host: example.com}
            """);

        Assert.Equal(["test-service", "other"], config.Services.Select(s => s.Name));
        Assert.False(config.Services[0].HealthCheck.Enabled);
    }

    [Fact]
    public void A_name_that_differs_from_its_mapping_key_wins_with_a_warning()
    {
        var result = Load("""
            services:
              key-name:
                name: real-name
                technology: tcp
                local_port: 8080
                remote_port: 80
                connection: {host: example.com}
            """);

        Assert.Equal("real-name", Assert.Single(result.Config!.Services).Name);
        Warning(result, "services.key-name.name: 'real-name' differs from its key 'key-name'");
    }

    [Fact]
    public void Disabled_services_are_kept_with_enabled_false()
    {
        var config = LoadValid($"""
            services:
            {TcpService("on", 8080)}
            {TcpService("off", 8081, "    enabled: false")}
            """);

        Assert.Equal(2, config.Services.Count);
        Assert.False(config.Services.Single(s => s.Name == "off").Enabled);
        Assert.Equal(["on"], config.Enabled.Select(s => s.Name));
    }

    [Fact]
    public void Every_problem_is_reported_at_once_with_its_line_and_column()
    {
        var result = Load("""
            services:
              - name: a
                technology: sssh
                local_port: 70000
                remote_port: 80
                connection:
                  host: example.com
              - name: a
                technology: tcp
                local_port: 8080
                remote_port: 0
                connection: {}
            """);

        Assert.Null(result.Config);
        Assert.False(result.Ok);
        Assert.Equal(
            [
                "test.yaml:3:17: error: services[0].technology: 'sssh' is not one of kubectl, ssh, tcp",
                "test.yaml:4:17: error: services[0].local_port: 70000 is out of range; use 1-65535",
                "test.yaml:8:11: error: services[1].name: 'a' is already the name of services[0] (line 2); names must be unique",
                "test.yaml:11:18: error: services[1].remote_port: 0 is out of range; use 1-65535",
                "test.yaml:12:17: error: services[1].connection.host is missing; add the server's host name or address",
            ],
            result.Diagnostics.Select(d => d.ToString()));
    }

    [Fact]
    public void A_port_that_is_not_a_number_names_the_value()
    {
        var result = Load(TcpService().Replace("local_port: 8080", "local_port: http").Insert(0, "services:\n"));

        Assert.Equal("services[0].local_port: 'http' is not a whole number; use 1-65535", Error(result, "local_port").Message);
    }

    [Fact]
    public void Missing_required_keys_are_reported_at_the_service()
    {
        var result = Load("""
            services:
              - name: web
                local_port: 8080
            """);

        Assert.Equal((2, 5), (Error(result, "technology is missing").Line, Error(result, "technology is missing").Column));
        Error(result, "services[0].remote_port is missing; add a port number 1-65535");
        Error(result, "services[0].connection is missing");
    }

    [Theory]
    [InlineData("web server")]
    [InlineData("web/api")]
    [InlineData("héllo")]
    public void Names_outside_letters_digits_dot_underscore_and_dash_are_rejected(string name)
    {
        var result = Load("services:\n" + TcpService().Replace("name: web", $"name: \"{name}\""));

        Error(result, "is not a valid name; use letters, digits, '.', '_' and '-' only");
    }

    [Fact]
    public void Two_enabled_services_on_one_local_port_are_an_error()
    {
        var result = Load($"""
            services:
            {TcpService("first", 8080)}
            {TcpService("second", 8080)}
            """);

        var clash = Error(result, "8080 is already the local_port of services[0] ('first', enabled); local ports must be unique");
        Assert.StartsWith("services[1].local_port", clash.Message);
    }

    [Fact]
    public void A_local_port_shared_with_a_disabled_service_is_only_a_warning()
    {
        var result = Load($"""
            services:
            {TcpService("first", 8080, "    enabled: false")}
            {TcpService("second", 8080)}
            """);

        Assert.True(result.Ok);
        Warning(result, "8080 is already the local_port of services[0] ('first', disabled); they cannot both be enabled");
    }

    [Theory]
    [InlineData("services: []", "services is empty")]
    [InlineData("services:", "services is missing")]
    [InlineData("version: '1.0'", "services is missing")]
    [InlineData("services: web", "services: expected a list of services, found 'web'")]
    [InlineData("services:\n  - just-a-string", "services[0]: expected a service")]
    public void A_config_without_usable_services_is_rejected(string yaml, string message)
    {
        var result = Load(yaml);

        Assert.Null(result.Config);
        Error(result, message);
    }

    [Theory]
    [InlineData("")]
    [InlineData("# only a comment\n")]
    public void An_empty_file_is_an_error_that_points_to_config_init(string yaml)
    {
        Error(Load(yaml), "localport config init");
    }

    [Fact]
    public void A_file_that_is_not_a_mapping_is_an_error()
    {
        Error(Load("- a\n- b\n"), "must be a mapping with a 'services:' key, found a list");
    }

    [Fact]
    public void Unknown_keys_are_warnings_that_name_the_key_and_its_place()
    {
        var result = Load("""
            colour: blue
            services:
              - name: web
                technology: tcp
                techology: tcp
                local_port: 8080
                remote_port: 80
                connection:
                  host: example.com
                  hots: example.org
            """);

        Assert.True(result.Ok);
        Assert.Equal((1, 1), (Warning(result, "unknown key 'colour'").Line, Warning(result, "unknown key 'colour'").Column));
        Assert.Equal("services[0]: unknown key 'techology' is ignored; did you mean 'technology'?", Warning(result, "techology").Message);
        Assert.Equal(10, Warning(result, "services[0].connection: unknown key 'hots' is ignored; did you mean 'host'?").Line);
    }

    [Fact]
    public void Cluster_health_and_cluster_contexts_are_accepted_without_warnings()
    {
        var result = Load($$"""
            defaults:
              cluster_health:
                enabled: true
                interval: 240
                commands: {cluster_info: true}
            cluster_contexts:
              minikube:
                cluster_health: {interval: 180}
            services:
            {{TcpService()}}
            """);

        Assert.True(result.Ok);
        Assert.Empty(result.Diagnostics);
    }

    [Fact]
    public void A_yaml_syntax_error_is_a_diagnostic_with_its_position()
    {
        var result = Load("""
            services:
              - name: web
                technology: [tcp
            """);

        Assert.Null(result.Config);
        var error = Assert.Single(result.Diagnostics);
        Assert.Equal(Severity.Error, error.Severity);
        Assert.StartsWith("YAML syntax error: ", error.Message);
        Assert.DoesNotContain("Idx:", error.Message);
        Assert.True(error.Line >= 3, error.ToString());
    }

    [Fact]
    public void A_duplicate_key_is_a_syntax_error_at_the_second_key()
    {
        var result = Load("services:\n" + TcpService(extra: "    local_port: 9090"));

        var error = Assert.Single(result.Errors);
        Assert.Contains("Duplicate key", error.Message);
        Assert.Equal(8, error.Line);
    }

    [Theory]
    [InlineData("defaults:\n  restart_policy: {max+XB\naT[\\who_attempts: 3}\nservices: []\n", 2)]
    [InlineData("services:\n  - name: a\n    health_check:\n      : type: postgres\n      config: {}\n", 5)]
    public void Text_that_trips_the_yaml_library_is_still_a_located_syntax_error(string yaml, int line)
    {
        var error = Assert.Single(Load(yaml).Diagnostics);

        Assert.StartsWith("YAML syntax error: ", error.Message);
        Assert.Equal(line, error.Line);
    }

    [Fact]
    public void Absurdly_deep_nesting_is_refused_instead_of_overflowing_the_stack()
    {
        var yaml = "services: " + new string('[', 100_000) + new string(']', 100_000);

        Error(Load(yaml), "nesting is deeper than");
    }

    [Fact]
    public void Yaml_merge_keys_work_like_in_upstream()
    {
        var config = LoadValid("""
            x-common: &common
              technology: tcp
              remote_port: 80
              connection: {host: example.com}
            services:
              - <<: *common
                name: a
                local_port: 8080
              - <<: *common
                name: b
                local_port: 8081
                remote_port: 81
            """);

        Assert.Equal([80, 81], config.Services.Select(s => s.RemotePort));
        Assert.All(config.Services, s => Assert.Equal(new TcpConnection("example.com"), s.Connection));
    }

    [Fact]
    public void Shutdown_timeouts_are_read_as_durations()
    {
        var config = LoadValid($"""
            shutdown:
              stop_new_work: 500ms
              complete_current: 3
              cancel_tasks: 1.5s
              force_cleanup: 1m
            services:
            {TcpService()}
            """);

        Assert.Equal(new ShutdownTimeouts(TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(1.5), TimeSpan.FromMinutes(1)),
            config.Shutdown);
    }

    [Fact]
    public void A_missing_file_is_reported_with_how_to_create_one()
    {
        var path = Path.Combine(Path.GetTempPath(), $"lp-missing-{Guid.NewGuid():N}", "localport.yaml");

        var result = ConfigLoader.Load(path, Options());

        var error = Assert.Single(result.Diagnostics);
        Assert.Equal((Severity.Error, path, 1, 1), (error.Severity, error.File, error.Line, error.Column));
        Assert.Contains("not found", error.Message);
        Assert.Contains("localport config init", error.Message);
    }

    [Fact]
    public void A_loaded_file_records_its_path_and_resolves_relative_key_files_next_to_it()
    {
        var directory = Directory.CreateTempSubdirectory("lp-config-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(directory, "id_test"), "key");
            var path = Path.Combine(directory, "localport.yaml");
            File.WriteAllText(path, """
                services:
                  - name: db
                    technology: ssh
                    local_port: 5432
                    remote_port: 5432
                    connection: {host: bastion, key_file: id_test}
                """);

            var result = ConfigLoader.Load(path, Options());

            Assert.True(result.Ok, string.Join("\n", result.Diagnostics));
            Assert.Empty(result.Diagnostics);
            Assert.Equal(path, result.Config!.SourcePath);
            Assert.Equal(Path.Combine(directory, "id_test"), ((SshConnection)result.Config.Services[0].Connection).KeyFile);
            Assert.All(result.Diagnostics, d => Assert.Equal(path, d.File));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void A_directory_given_as_the_config_is_reported_not_thrown()
    {
        var error = Assert.Single(ConfigLoader.Load(Path.GetTempPath(), Options()).Errors);

        Assert.Contains("is a directory", error.Message);
    }

    [Fact]
    public void A_config_over_the_4_MB_cap_is_refused_unparsed_naming_the_file_the_size_and_the_cap()
    {
        var directory = Directory.CreateTempSubdirectory("lp-config-").FullName;
        try
        {
            var atCap = Path.Combine(directory, "at-cap.yaml");
            var overCap = Path.Combine(directory, "over-cap.yaml");
            File.WriteAllText(atCap, PaddedTo("services:\n" + TcpService(), ConfigLoader.MaxFileBytes));
            File.WriteAllText(overCap, PaddedTo("services:\n" + TcpService(), ConfigLoader.MaxFileBytes + 1));

            var accepted = ConfigLoader.Load(atCap, Options());
            var refused = ConfigLoader.Load(overCap, Options());

            Assert.True(accepted.Ok, string.Join("\n", accepted.Diagnostics));
            var error = Assert.Single(refused.Diagnostics);
            Assert.Null(refused.Config);
            Assert.Equal((Severity.Error, overCap, 1, 1), (error.Severity, error.File, error.Line, error.Column));
            Assert.Contains(overCap, error.Message);
            Assert.Contains($"{ConfigLoader.MaxFileBytes + 1} bytes", error.Message);
            Assert.Contains("4 MB cap", error.Message);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>The YAML followed by comment lines up to exactly <paramref name="size"/> bytes (ASCII).</summary>
    private static string PaddedTo(string yaml, long size)
    {
        var text = new System.Text.StringBuilder(yaml.TrimEnd('\n')).Append('\n');
        while (text.Length + 81 <= size) text.Append('#').Append('x', 79).Append('\n');
        var rest = (int)(size - text.Length);
        if (rest > 0) text.Append('#').Append('x', Math.Max(0, rest - 2)).Append(rest >= 2 ? "\n" : "");
        Assert.Equal(size, text.Length);
        return text.ToString();
    }
}
