using System.Diagnostics;
using LocalPort.Core.Config;
using static LocalPort.Core.Tests.Health.ProbeTestSupport;

namespace LocalPort.Core.Tests.Health;

public sealed class ExecProbeTests
{
    private static ServiceSpec ExecService(string name, params string[] command) =>
        Service(HealthCheckType.Exec, 15432, new HealthCheckSettings { Command = command }, TimeSpan.FromSeconds(5), name);

    [Fact]
    public async Task A_command_that_exits_zero_is_healthy()
    {
        var result = await CheckAsync(ExecService("svc", "true"));

        Assert.True(result.Healthy, result.Error);
    }

    [Fact]
    public async Task A_command_that_exits_non_zero_is_unhealthy_with_its_exit_code()
    {
        var result = await CheckAsync(ExecService("svc", "false"));

        Assert.False(result.Healthy);
        Assert.Equal("exit code 1", result.Error);
    }

    [Fact]
    public async Task The_failure_carries_the_last_line_of_stderr()
    {
        var result = await CheckAsync(ExecService("svc", "sh", "-c", "echo first >&2; echo 'replica lag 30s' >&2; echo noise; exit 3"));

        Assert.False(result.Healthy);
        Assert.Equal("exit code 3: replica lag 30s", result.Error);
    }

    [Fact]
    public async Task Terminal_escapes_in_stderr_never_reach_the_failure_message()
    {
        var result = await CheckAsync(ExecService("svc", "sh", "-c", @"printf '\033]0;owned\007\033[31mreplica lag\033[0m\n' >&2; exit 3"));

        Assert.Equal("exit code 3: replica lag", result.Error);
    }

    [Fact]
    public async Task A_program_missing_from_path_is_named_with_the_path_searched()
    {
        var result = await CheckAsync(ExecService("svc", "lp-no-such-health-check"));

        Assert.False(result.Healthy);
        Assert.Contains("program 'lp-no-such-health-check' not found", result.Error);
        Assert.Contains("PATH=", result.Error);
    }

    [Fact]
    public async Task The_command_sees_the_service_name_and_port_and_no_shell_expands_its_arguments()
    {
        var result = await CheckAsync(ExecService("orders-db",
            "sh", "-c", "[ \"$LOCALPORT_SERVICE\" = orders-db ] && [ \"$LOCALPORT_PORT\" = 15432 ] && [ \"$1\" = '$HOME *' ]",
            "sh", "$HOME *"));

        Assert.True(result.Healthy, result.Error);
    }

    [Fact]
    public async Task A_missing_program_is_unhealthy_with_a_clear_message()
    {
        var result = await CheckAsync(ExecService("svc", "/nonexistent/health-check"));

        Assert.False(result.Healthy);
        Assert.StartsWith("cannot start '/nonexistent/health-check'", result.Error);
    }

    [Fact]
    public async Task An_empty_command_is_unhealthy()
    {
        var result = await CheckAsync(ExecService("svc"));

        Assert.False(result.Healthy);
        Assert.Equal("no command configured", result.Error);
    }

    [Fact]
    public async Task Cancellation_kills_the_whole_process_tree_and_fails_quickly()
    {
        // The unique service name tags every process of the tree through LOCALPORT_SERVICE.
        var tag = "exec-cancel-" + Guid.NewGuid().ToString("N");
        var probe = LocalPort.Core.Health.HealthProbes.Create(ExecService(tag, "sh", "-c", "sleep 30 & sleep 30; wait"));
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
        var stopwatch = Stopwatch.StartNew();

        var result = await probe.CheckAsync(cancel.Token);

        Assert.False(result.Healthy);
        Assert.Equal("timed out after 5s", result.Error);
        Assert.InRange(stopwatch.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(3));
        Assert.Empty(LiveProcessesTagged(tag));
    }

    /// <summary>Live processes whose environment carries LOCALPORT_SERVICE=tag (zombies have no environment).</summary>
    private static List<int> LiveProcessesTagged(string tag)
    {
        var needle = "LOCALPORT_SERVICE=" + tag;
        var found = new List<int>();
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), out var pid)) continue;
            try
            {
                var environment = File.ReadAllText(Path.Combine(directory, "environ"));
                if (environment.Split('\0').Contains(needle)) found.Add(pid);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // The process ended while we looked.
            }
        }
        return found;
    }
}
