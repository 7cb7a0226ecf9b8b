using System.Text.Json;
using System.Text.RegularExpressions;
using LocalPort.IntegrationTests.Fixtures;

namespace LocalPort.IntegrationTests;

/// <summary>
/// Upstream localport 1.2's habits, tried as a new user would: the real CLI as a subprocess (issue 13). Commands that
/// need no daemon come first; one scenario then walks the daemon commands against a real daemon and a real upstream.
/// </summary>
public sealed class UpstreamCliTests(ITestOutputHelper output) : Scenario(output)
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    private Run.Result Cli(IReadOnlyDictionary<string, string?>? environment, params string[] arguments) =>
        LocalPortProcess.Invoke(Home, WorkingDirectory, environment, Bound, arguments);

    private Run.Result Cli(params string[] arguments) => Cli(null, arguments);

    private static string Dump(Run.Result result) => $"exit {result.ExitCode}\n--- stdout ---\n{result.Stdout}\n--- stderr ---\n{result.Stderr}";

    private string TwoServices(int upstreamPort) => WriteConfig("""
        version: "1.0"
        # Two forwards; this comment must survive config add and remove.
        services:
          # The website.
          - name: web
            technology: tcp
            local_port: {web}
            remote_port: {upstream}
            tags: [front]
            connection:
              host: 127.0.0.1

          - name: cache
            technology: tcp
            local_port: {cache}
            remote_port: {upstream}
            connection:
              host: 127.0.0.1
        """.Replace("{web}", FreePort.Next().ToString()).Replace("{cache}", FreePort.Next().ToString()).Replace("{upstream}", upstreamPort.ToString()));

    [Theory]
    [InlineData("")]
    [InlineData("--help")]
    [InlineData("-h")]
    public void Bare_localport_and_help_print_the_help_and_exit_0(string argument)
    {
        var result = Cli(argument.Length == 0 ? [] : [argument]);

        Assert.True(result.ExitCode == 0, Dump(result));
        Assert.Contains("Usage:", result.Stdout);
        Assert.Contains("Commands:", result.Stdout);
        Assert.DoesNotContain("Required command", result.Stdout + result.Stderr);
    }

    [Theory]
    [InlineData("-V")]
    [InlineData("--version")]
    public void Version_prints_the_version_and_exits_0(string flag)
    {
        var result = Cli(flag);

        Assert.True(result.ExitCode == 0, Dump(result));
        Assert.Matches(@"^\d+\.\d+\.\d+", result.Stdout.Trim());
    }

    [Fact]
    public void Help_shows_durations_as_written_and_option_values_in_lowercase_without_windows_aliases()
    {
        var result = Cli("start", "--help");

        Assert.True(result.ExitCode == 0, Dump(result));
        Assert.Contains("[default: 30s]", result.Stdout);
        Assert.Contains("<table|json|text>", result.Stdout);
        Assert.Contains("-a, --all", result.Stdout);
        Assert.DoesNotContain("00:00:30", result.Stdout);
        Assert.DoesNotContain("/?", result.Stdout);
    }

    [Theory]
    [InlineData("status ", "web", "/?")]
    [InlineData("logs ", "localport", "/h")]
    [InlineData("config remove c", "cache", "web")]
    [InlineData("-o ", "json", "Json")]
    public void Completion_offers_service_names_from_the_active_config_and_lowercase_values(string line, string offered, string notOffered)
    {
        TwoServices(FreePort.Next());
        var commandLine = "localport " + line;

        // What the bash, zsh and fish scripts of `localport completion` ask.
        var result = Cli($"[suggest:{commandLine.Length}]", commandLine);

        var words = result.Stdout.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        Assert.True(result.ExitCode == 0, Dump(result));
        Assert.Contains(offered, words);
        Assert.DoesNotContain(notOffered, words);
        Assert.DoesNotContain("/?", words);
    }

    [Theory]
    [InlineData("config", "export", "--format", "json")]
    [InlineData("config", "export", "-f", "json")]
    [InlineData("config", "export", "-o", "json")]
    [InlineData("-o", "json", "config", "export")]
    public void Config_export_as_json_is_valid_json_of_the_services(params string[] arguments)
    {
        TwoServices(FreePort.Next());

        var result = Cli(arguments);

        Assert.True(result.ExitCode == 0, Dump(result));
        var services = JsonDocument.Parse(result.Stdout).RootElement.GetProperty("services");
        Assert.Equal(["web", "cache"], services.EnumerateArray().Select(s => s.GetProperty("name").GetString()));
        Assert.Equal("5s", services[0].GetProperty("health_check").GetProperty("interval").GetString());
    }

    [Fact]
    public void Config_export_to_a_file_writes_it_private_and_only_the_services_asked_for()
    {
        TwoServices(FreePort.Next());
        var file = Path.Combine(WorkingDirectory, "backup.json");

        var result = Cli("config", "export", "--output", file, "--tag", "front", "--no-defaults");

        Assert.True(result.ExitCode == 0, Dump(result));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
        var exported = JsonDocument.Parse(File.ReadAllText(file)).RootElement;
        Assert.Equal(["web"], exported.GetProperty("services").EnumerateArray().Select(s => s.GetProperty("name").GetString()));
        Assert.False(exported.GetProperty("services")[0].TryGetProperty("restart_policy", out _));
        // JSON is YAML: the export is a config file of its own.
        Assert.Equal(0, Cli("config", "validate", "-c", file).ExitCode);
    }

    [Fact]
    public void LOCALPORT_CONFIG_FILE_names_the_file_config_validate_checks()
    {
        var elsewhere = Directory.CreateDirectory(Path.Combine(Root, "elsewhere")).FullName;
        var path = Path.Combine(elsewhere, "mine.yaml");
        File.WriteAllText(path, Yaml.File(Yaml.Tcp("only", FreePort.Next(), FreePort.Next())));

        var result = Cli(new Dictionary<string, string?> { ["LOCALPORT_CONFIG_FILE"] = path }, "config", "validate");

        Assert.True(result.ExitCode == 0, Dump(result));
        Assert.Contains($"ok: {path}: 1 service(s)", result.Stdout);
    }

    [Fact]
    public void Config_list_add_and_remove_edit_the_file_keeping_its_comments_and_mode()
    {
        var path = TwoServices(FreePort.Next());
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead);
        var port = FreePort.Next();

        var added = Cli("config", "add", "--name", "api", "--technology", "tcp", "--local-port", port.ToString(), "--remote-port", "80",
            "--host", "127.0.0.1", "--tag", "back");
        var removed = Cli("config", "remove", "web", "--force");
        var list = Cli("config", "list", "-o", "json");

        Assert.True(added.ExitCode == 0, Dump(added));
        Assert.True(removed.ExitCode == 0, Dump(removed));
        Assert.True(list.ExitCode == 0, Dump(list));
        var services = JsonDocument.Parse(list.Stdout).RootElement.GetProperty("services").EnumerateArray().ToList();
        Assert.Equal(["cache", "api"], services.Select(s => s.GetProperty("name").GetString()));
        Assert.Equal(port, services[1].GetProperty("local_port").GetInt32());
        var text = File.ReadAllText(path);
        Assert.Contains("# Two forwards; this comment must survive config add and remove.", text);
        Assert.DoesNotContain("# The website.", text);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead, File.GetUnixFileMode(path));
        Assert.Empty(Directory.GetFiles(WorkingDirectory, "*.tmp"));
    }

    [Theory]
    [InlineData("'stauts'", "did you mean 'status'?", "stauts")]
    [InlineData("'--watc'", "did you mean '--watch'?", "status", "--watc")]
    [InlineData("'jsn'", "did you mean 'json'?", "-o", "jsn", "config", "paths")]
    [InlineData("'debg'", "did you mean 'debug'?", "--log-level", "debg", "config", "paths")]
    [InlineData("'-x'", "unknown option", "start", "-x")]
    [InlineData("'nosuch'", "unknown service", "config", "export", "--service", "nosuch")]
    [InlineData("'nosuch'", "unknown ssh service", "ssh", "test", "nosuch")]
    [InlineData("'wbe'", "did you mean 'web'?", "run", "wbe")]
    [InlineData("'nosuch'", "unknown service", "status", "nosuch")]
    [InlineData("'nosuch'", "unknown service", "logs", "nosuch")]
    public void Unknown_names_flags_and_values_exit_2_naming_them_with_the_closest_valid_one(string named, string hint, params string[] arguments)
    {
        TwoServices(FreePort.Next());

        var result = Cli(arguments);

        Assert.True(result.ExitCode == 2, Dump(result));
        Assert.Contains(named, result.Stderr);
        Assert.Contains(hint, result.Stderr);
        // A mistake starts nothing: no daemon was left behind.
        Assert.False(File.Exists(Path.Combine(Home, "state", "run", "localport.sock")), Dump(result));
    }

    [Fact]
    public void An_unknown_LOCALPORT_LOG_LEVEL_exits_2_naming_it()
    {
        var result = Cli(new Dictionary<string, string?> { ["LOCALPORT_LOG_LEVEL"] = "loud" }, "config", "paths");

        Assert.True(result.ExitCode == 2, Dump(result));
        Assert.Contains("'loud'", result.Stderr);
    }

    public static TheoryData<string[], string?> DebugRequests => new()
    {
        { ["--debug"], null },
        { ["--log-level", "debug"], null },
        { ["--log-level", "DEBUG"], null },
        { [], "debug" },
    };

    [Theory]
    [MemberData(nameof(DebugRequests))]
    public void Debug_and_log_level_debug_print_debug_lines(string[] flags, string? environmentLevel)
    {
        using var echo = new EchoServer();
        var path = TwoServices(echo.Port);
        using var run = LocalPortProcess.Start(Home, WorkingDirectory,
            new Dictionary<string, string?> { ["LOCALPORT_LOG_LEVEL"] = environmentLevel }, ["run", "-c", path, .. flags]);

        run.WaitForStatus(s => s.Name == "web" && s.IsRunning, Bound);
        run.SendSignal(Native.SIGINT);

        Assert.Equal(0, run.WaitForExit(Bound));
        Assert.Contains(run.Stderr, l => l.Contains("DBG]") && l.Contains("log level: console Debug"));
    }

    [Fact]
    public void Without_a_debug_request_there_are_no_debug_lines()
    {
        using var echo = new EchoServer();
        var path = TwoServices(echo.Port);
        using var run = LocalPortProcess.Start(Home, WorkingDirectory, "run", "-c", path);

        run.WaitForStatus(s => s.Name == "web" && s.IsRunning, Bound);
        run.SendSignal(Native.SIGINT);

        Assert.Equal(0, run.WaitForExit(Bound));
        Assert.DoesNotContain(run.Stderr, l => l.Contains("DBG]"));
    }
}
