using System.Runtime.CompilerServices;
using System.Text.Json;
using LocalPort.IntegrationTests.Fixtures;
using LocalPort.IntegrationTests.SshSharing;

namespace LocalPort.IntegrationTests.Chaos;

/// <summary>
/// CI's 10 s version of the shipped soak (config/examples/chaos-soak.yaml): 10 ssh tunnels and 10 tcp relays,
/// a random kill or pause every 200 ms, then every service healthy, no process of ours orphaned, no forward half-open.
/// </summary>
[Collection(SshCollection.Name)]
public sealed class SoakTests(SshServer ssh, ITestOutputHelper output) : Scenario(output)
{
    private static string Examples([CallerFilePath] string here = "") =>
        Path.GetFullPath(Path.Combine(Path.GetDirectoryName(here)!, "..", "..", "..", "config", "examples"));

    [Fact]
    public void The_shipped_soak_configuration_is_valid()
    {
        var result = LocalPortProcess.Invoke(Home, WorkingDirectory, new Dictionary<string, string?> { ["SSH_KEY"] = ssh.ClientKey },
            "config", "validate", "-c", Path.Combine(Examples(), "chaos-soak.localport.yaml"));

        Assert.True(result.ExitCode == 0, result.Stdout + result.Stderr);
        Assert.Contains("20 service(s)", result.Stdout);
    }

    [Fact]
    public void Ten_seconds_of_random_kills_and_pauses_leave_every_service_healthy_with_nothing_orphaned_or_half_open()
    {
        var echo = Own(new EchoServer());
        var ports = FreePort.Next(20);
        const string check = "health_check: { type: tcp, interval: 1s, timeout: 1s, failure_threshold: 2 }";
        var services = Enumerable.Range(0, 10).Select(i => Yaml.Ssh($"ssh-{i:00}", ports[i], echo.Port, ssh, check))
            .Concat(Enumerable.Range(0, 10).Select(i => Yaml.Tcp($"tcp-{i:00}", ports[10 + i], echo.Port, check)));
        var names = Enumerable.Range(0, 10).SelectMany(i => new[] { $"ssh-{i:00}", $"tcp-{i:00}" });
        var run = RunUntilRunning(WriteConfig(Yaml.File([.. services])), names, TimeSpan.FromSeconds(60));
        var instance = JsonDocument.Parse(Chaos(new Dictionary<string, string?>(), "list", "-o", "json").Stdout).RootElement.GetProperty("instance").GetString()!;

        // CI soaks for 10 s; LOCALPORT_SOAK_DURATION=60s (seconds) runs the shipped length.
        var duration = Environment.GetEnvironmentVariable("LOCALPORT_SOAK_DURATION") is { Length: > 0 } set ? set : "10s";
        _chaosBound = TimeSpan.FromSeconds(int.Parse(duration.TrimEnd('s'), System.Globalization.CultureInfo.InvariantCulture) + 30);
        var soak = Chaos(new Dictionary<string, string?> { ["SOAK_DURATION"] = duration },
            "run", Path.Combine(Examples(), "chaos-soak.yaml"), "--junit", Path.Combine(WorkingDirectory, "soak.xml"));

        Assert.True(soak.ExitCode == 0, soak.Stdout + soak.Stderr);
        Output.WriteLine(soak.Stdout);
        Assert.Matches($@"ok   line \d+: random kill or pause on \* every 200ms for {duration} \(\d+\.\d+s\): \d+ kill.*, \d+ pause", soak.Stdout);
        Assert.Contains("PASSED: 4 passed, 0 failed", soak.Stdout);
        var status = JsonDocument.Parse(Invoke("status", "-o", "json").Stdout).RootElement;
        var tunnels = status.GetProperty("services").EnumerateArray()
            .Where(s => s.GetProperty("pid").ValueKind == JsonValueKind.Number).Select(s => s.GetProperty("pid").GetInt32()).ToHashSet();
        // The ten ssh services to one host share one master (issue 14): one carrier pid for all of them.
        Assert.Single(tunnels);
        Assert.All(SshProcesses.Tagged(instance), pid => Assert.Contains(pid, tunnels));
        Assert.All(tunnels, pid => Assert.True(Native.IsAlive(pid) && Native.State(pid) != 'T', $"tunnel pid {pid} is {Native.State(pid)}"));

        Assert.True(run.SendSignal(Native.SIGTERM));
        Assert.Equal(0, run.WaitForExit(TimeSpan.FromSeconds(30)));
        Assert.Empty(SshProcesses.Tagged(instance));
        Assert.All(ports, port => Assert.True(Traffic.Refuses(port), $"port {port} still accepts connections"));
    }

    private TimeSpan _chaosBound = TimeSpan.FromSeconds(30);

    private Run.Result Chaos(IReadOnlyDictionary<string, string?> environment, params string[] arguments)
    {
        var result = LocalPortProcess.Invoke(Home, WorkingDirectory, environment, _chaosBound, ["chaos", .. arguments]);
        Output.WriteLine($"$ localport chaos {string.Join(' ', arguments)} -> {result.ExitCode}\n{result.Stdout}\n{result.Stderr}".TrimEnd());
        return result;
    }
}
