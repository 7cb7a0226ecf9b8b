using System.Text.Json;
using System.Text.RegularExpressions;
using LocalPort.IntegrationTests.Fixtures;

namespace LocalPort.IntegrationTests;

/// <summary>The `localport` CLI's config commands and usage errors, run as a real subprocess.</summary>
public sealed class CliConfigTests(ITestOutputHelper output) : Scenario(output)
{
    private const string StackTraceMarker = "   at ";

    [Fact]
    public void Config_validate_accepts_a_valid_file_with_exit_code_0()
    {
        var path = WriteConfig(Yaml.File(Yaml.Tcp("web", 18080, 19080), Yaml.Tcp("echo", 18081, 19081)));

        var result = Invoke("config", "validate", "-c", path);

        Assert.True(result.ExitCode == 0, Dump(result));
        Assert.Contains("2 service(s)", result.Stdout);
    }

    /// <summary>A NUL would cut ssh's host argument short at exec, so ssh would connect elsewhere (issue 11 item 7).</summary>
    [Fact]
    public void Config_validate_refuses_a_nul_in_host_at_its_line_and_column_with_exit_code_2()
    {
        var path = WriteConfig("""
            version: "1.0"
            services:
              - name: db
                technology: tcp
                local_port: 18997
                remote_port: 5432
                connection:
                  host: "127.0.0.1\0evil"
            """, "nul.yaml");

        var result = Invoke("config", "validate", "-c", path);

        Assert.True(result.ExitCode == 2, Dump(result));
        Assert.Matches($@"(?m)^{Regex.Escape(path)}:8:13: error: services\[0\]\.connection\.host: contains the control character U\+0000 \(NUL\)", result.Stderr);
        Assert.DoesNotContain('\0', result.Stderr + result.Stdout);
    }

    [Fact]
    public void Config_validate_lists_all_three_problems_with_file_line_and_column_and_exits_2()
    {
        var path = WriteConfig("""
            version: "1.0"
            services:
              - name: a
                technology: tcp
                local_port: 70000
                remote_port: 80
                connection:
                  host: 127.0.0.1
              - name: b
                technology: warp
                local_port: 18999
                remote_port: 80
                connection:
                  host: 127.0.0.1
              - name: c
                technology: tcp
                local_port: 18998
                remote_port: 80
                health_check:
                  interval: soon
                connection:
                  host: 127.0.0.1
            """, "bad.yaml");

        var result = Invoke("config", "validate", "-c", path);

        Assert.True(result.ExitCode == 2, Dump(result));
        var errors = result.Stderr.Split('\n').Where(l => l.Contains(": error:")).ToList();
        Assert.True(errors.Count == 3, Dump(result));
        Assert.Contains(errors, l => Regex.IsMatch(l, $@"^{Regex.Escape(path)}:5:\d+: error: .*70000"));
        Assert.Contains(errors, l => Regex.IsMatch(l, $@"^{Regex.Escape(path)}:10:\d+: error: .*warp"));
        Assert.Contains(errors, l => Regex.IsMatch(l, $@"^{Regex.Escape(path)}:20:\d+: error: .*soon"));
        Assert.DoesNotContain(StackTraceMarker, result.Stderr + result.Stdout);
    }

    [Fact]
    public void Run_with_a_bad_config_exits_2_and_listens_on_none_of_its_ports()
    {
        var upstream = Own(new EchoServer());
        var ports = FreePort.Next(2);
        var path = WriteConfig(Yaml.File(
            Yaml.Tcp("good", ports[0], upstream.Port),
            Yaml.Tcp("bad", ports[1], upstream.Port, "health_check:\n  type: telepathy")));

        var run = Start("run", "-c", path);
        var code = run.WaitForExit(TimeSpan.FromSeconds(20));

        Assert.True(code == 2, run.Describe());
        Assert.Contains(run.Stderr, l => l.StartsWith($"{path}:", StringComparison.Ordinal) && l.Contains("telepathy"));
        Assert.Empty(run.Statuses);
        Assert.All(ports, port => Assert.True(Traffic.Refuses(port), $"port {port} should not be listening"));
        Assert.Equal(0, upstream.Accepted);
        Assert.DoesNotContain(StackTraceMarker, string.Join('\n', run.Stderr));
    }

    [Theory]
    [InlineData("frobnicate")]
    [InlineData("config", "frobnicate")]
    [InlineData("--frobnicate", "config", "paths")]
    [InlineData("config", "validate", "--frobnicate")]
    [InlineData("run", "--frobnicate")]
    [InlineData("-o", "yaml", "config", "paths")]
    public void Unknown_commands_and_options_exit_2_without_a_stack_trace(params string[] arguments)
    {
        WriteConfig(Yaml.File(Yaml.Tcp("web", FreePort.Next(), FreePort.Next())));

        var result = Invoke(arguments);

        Assert.True(result.ExitCode == 2, Dump(result));
        Assert.Contains(arguments.First(a => a is "frobnicate" or "--frobnicate" or "yaml"), result.Stderr);
        Assert.DoesNotContain(StackTraceMarker, result.Stderr + result.Stdout);
    }

    [Fact]
    public void Config_export_masks_the_ssh_password_and_the_postgres_password()
    {
        var path = WriteConfig("""
            version: "1.0"
            services:
              - name: db
                technology: ssh
                local_port: 15432
                remote_port: 5432
                connection:
                  host: 127.0.0.1
                  user: me
                  password: ssh-secret-0xC0FFEE
                health_check:
                  type: postgres
                  config:
                    database: app
                    user: app
                    password: pg-secret-0xBEEF
            """);

        var result = Invoke("config", "export", "-c", path);

        Assert.True(result.ExitCode == 0, Dump(result));
        Assert.DoesNotContain("ssh-secret-0xC0FFEE", result.Stdout + result.Stderr);
        Assert.DoesNotContain("pg-secret-0xBEEF", result.Stdout + result.Stderr);
        Assert.Equal(2, Regex.Matches(result.Stdout, @"password: ""?\*{3,}""?").Count);
        Assert.Contains("name: db", result.Stdout);
    }

    [Fact]
    public void Config_export_masks_the_password_in_a_health_check_url()
    {
        var path = WriteConfig("""
            version: "1.0"
            services:
              - name: api
                technology: tcp
                local_port: 18080
                remote_port: 8080
                connection:
                  host: 127.0.0.1
                health_check:
                  type: http
                  config:
                    url: http://admin:url-secret-0xF00D@localhost:18080/health
            """);

        var result = Invoke("config", "export", "-c", path);

        Assert.True(result.ExitCode == 0, Dump(result));
        Assert.DoesNotContain("url-secret-0xF00D", result.Stdout + result.Stderr);
        Assert.Contains("http://admin:********@localhost:18080/health", result.Stdout);
    }

    [Fact]
    public void A_config_over_the_size_cap_exits_2_naming_the_file_and_the_cap()
    {
        var path = WriteConfig("services:\n" + new string('#', 5 * 1024 * 1024) + "\n", "huge.yaml");

        var result = Invoke("config", "validate", "-c", path);

        Assert.True(result.ExitCode == 2, Dump(result));
        Assert.Contains(path, result.Stderr);
        Assert.Contains("4 MB cap", result.Stderr);
        Assert.DoesNotContain(StackTraceMarker, result.Stderr + result.Stdout);
    }

    [Fact]
    public void Config_init_writes_a_file_that_config_validate_accepts()
    {
        var init = Invoke("config", "init");
        Assert.True(init.ExitCode == 0, Dump(init));
        Assert.True(File.Exists(Path.Combine(WorkingDirectory, "localport.yaml")), Dump(init));

        // No -c: the file is found in the current directory, as a user would run it.
        var validate = Invoke("config", "validate");

        Assert.True(validate.ExitCode == 0, Dump(validate));
        Assert.Contains(Path.Combine(WorkingDirectory, "localport.yaml"), validate.Stdout);
    }

    [Fact]
    public void Config_paths_searches_the_current_directory_before_the_home_directory_and_uses_the_first_that_exists()
    {
        var local = WriteConfig(Yaml.File(Yaml.Tcp("web", FreePort.Next(), FreePort.Next())));
        File.WriteAllText(Path.Combine(Home, ".localport.yaml"), File.ReadAllText(local));

        var json = Invoke("-o", "json", "config", "paths");
        var text = Invoke("config", "paths");

        Assert.True(json.ExitCode == 0, Dump(json));
        using var document = JsonDocument.Parse(json.Stdout);
        var search = document.RootElement.GetProperty("search").EnumerateArray()
            .Select(e => e.GetProperty("path").GetString()!).ToList();
        string[] expected =
        [
            Path.Combine(WorkingDirectory, "localport.yaml"),
            Path.Combine(WorkingDirectory, "localport.yml"),
            Path.Combine(WorkingDirectory, ".localport.yaml"),
            Path.Combine(Home, ".config", "localport", "config.yaml"),
            Path.Combine(Home, ".localport.yaml"),
            "/etc/localport/config.yaml",
        ];
        Assert.Equal(expected, search);
        Assert.Equal(local, document.RootElement.GetProperty("config").GetString());

        Assert.True(text.ExitCode == 0, Dump(text));
        var lines = text.Stdout.Split('\n');
        Assert.Contains(lines, l => l.StartsWith("=> " + local + " ", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith(" + " + Path.Combine(Home, ".localport.yaml") + " ", StringComparison.Ordinal));
        Assert.Contains($"Using: {local}", text.Stdout);
        Assert.True(IndexOf(lines, "localport.yaml  (current directory)") < IndexOf(lines, ".localport.yaml  (home directory)"), text.Stdout);
    }

    private static int IndexOf(string[] lines, string fragment) =>
        Array.FindIndex(lines, l => l.Contains(fragment, StringComparison.Ordinal));

    private static string Dump(Run.Result result) =>
        $"exit {result.ExitCode}\n--- stdout ---\n{result.Stdout}\n--- stderr ---\n{result.Stderr}";
}
