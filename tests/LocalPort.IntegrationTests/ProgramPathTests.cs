using System.Text.Json;
using LocalPort.IntegrationTests.Fixtures;

namespace LocalPort.IntegrationTests;

/// <summary>
/// Programs run by absolute path, never from the working directory (issue 11 item 1), as a user meets it: a planted
/// executable named ssh (or like an exec check's program) in the directory `localport` was started from never
/// runs, even with PATH listing "." and an empty entry; the daemon itself leaves that directory for /.
/// </summary>
[Collection(SshCollection.Name)]
public sealed class ProgramPathTests(SshServer ssh, ITestOutputHelper output) : Scenario(output)
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(20);

    private string Marker => Path.Combine(Root, "planted-program-ran");

    /// <summary>An executable in the working directory that leaves a marker outside it and fails.</summary>
    private void Plant(string name)
    {
        var path = Path.Combine(WorkingDirectory, name);
        File.WriteAllText(path, $"#!/bin/sh\necho \"$0 $*\" >> '{Marker}'\nexit 1\n");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    /// <summary>PATH as a careless profile leaves it: the working directory first, twice over.</summary>
    private static string CarelessPath => ":.:" + Environment.GetEnvironmentVariable("PATH");

    private LocalPortProcess RunWith(string path, string configPath) => Own(LocalPortProcess.Start(Home, WorkingDirectory,
        new Dictionary<string, string?> { ["PATH"] = path }, "run", "-c", configPath));

    private static string? Executable(int pid)
    {
        try { return new FileInfo($"/proc/{pid}/exe").LinkTarget; }
        catch (IOException) { return null; }
    }

    [Fact]
    public async Task A_planted_ssh_and_exec_check_program_in_the_working_directory_never_run_while_the_real_ones_serve()
    {
        Plant("ssh");
        Plant("true");
        var web = Own(new HttpServer());
        var port = FreePort.Next();
        var config = WriteConfig(Yaml.File(Yaml.Ssh("web-via-ssh", port, web.Port, ssh, healthCheck: """
            health_check:
              type: exec
              interval: 500ms
              config:
                command: ["true"]
            """)));

        var run = RunWith(CarelessPath, config);

        var healthy = run.WaitForStatus(s => s.Name == "web-via-ssh" && s.IsRunning && s.Healthy == true, Bound);
        Assert.Equal(HttpServer.Body, await Traffic.TryHttpGetAsync(port, TimeSpan.FromSeconds(5)));
        var sshExecutable = Executable(healthy.Pid!.Value);
        Output.WriteLine($"ssh pid {healthy.Pid} runs {sshExecutable}");
        Assert.NotNull(sshExecutable);
        Assert.StartsWith("/", sshExecutable);
        Assert.NotEqual(Path.Combine(WorkingDirectory, "ssh"), sshExecutable);
        Assert.False(File.Exists(Marker), $"a planted program ran: {(File.Exists(Marker) ? File.ReadAllText(Marker) : "")}");
    }

    [Fact]
    public void An_ssh_found_only_in_the_working_directory_is_not_run_and_last_error_names_the_program_and_path()
    {
        Plant("ssh");
        var port = FreePort.Next();
        var config = WriteConfig(Yaml.File(Yaml.Ssh("db-via-ssh", port, 5432, ssh)));
        const string path = "/nonexistent-localport-bin::.";

        var run = RunWith(path, config);

        var failed = run.WaitForStatus(s => s.Name == "db-via-ssh" && s.LastError is not null, Bound);
        Output.WriteLine(failed.Raw);
        Assert.Contains("program 'ssh' not found", failed.LastError);
        Assert.Contains($"PATH={path}", failed.LastError);
        Assert.False(File.Exists(Marker), "the planted ./ssh ran");
    }

    [Fact]
    public async Task The_daemon_runs_from_root_with_relative_config_and_home_resolved_where_it_was_started()
    {
        var echo = Own(new EchoServer());
        var port = FreePort.Next();
        WriteConfig(Yaml.File(Yaml.Tcp("echo", port, echo.Port)));
        var environment = new Dictionary<string, string?> { ["LOCALPORT_HOME"] = "relative-home" };
        Run.Result Cli(params string[] arguments) => LocalPortProcess.Invoke(Home, WorkingDirectory, environment, arguments);
        int? daemonPid = null;
        try
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var start = Cli("daemon", "start", "-c", "localport.yaml");
            Output.WriteLine($"daemon start after {clock.ElapsedMilliseconds} ms: {start.Stdout}");
            Assert.True(start.ExitCode == 0, start.Stdout + start.Stderr);
            var status = Cli("status", "-o", "json");
            Assert.True(status.ExitCode == 0, status.Stderr);
            var root = JsonDocument.Parse(status.Stdout).RootElement;
            daemonPid = root.GetProperty("pid").GetInt32();

            Assert.Equal("/", new FileInfo($"/proc/{daemonPid}/cwd").LinkTarget);
            Assert.Equal(Path.Combine(WorkingDirectory, "localport.yaml"), root.GetProperty("config").GetString());
            Assert.True(File.Exists(Path.Combine(WorkingDirectory, "relative-home", "run", "localport.sock")));
            Assert.True(await Traffic.EchoEventuallyAsync(port, Bound));

            clock.Restart();
            var stop = Cli("daemon", "stop");
            Output.WriteLine($"daemon stop after {clock.ElapsedMilliseconds} ms: {stop.Stdout}");
            Assert.True(stop.ExitCode == 0, stop.Stderr);
            Assert.False(Native.IsAlive(daemonPid.Value));
        }
        finally
        {
            if (daemonPid is { } pid && Native.IsAlive(pid)) Native.Signal(pid, Native.SIGKILL);
        }
    }
}
