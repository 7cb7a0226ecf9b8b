using System.Diagnostics;
using System.Text.Json;
using LocalPort.IntegrationTests.Fixtures;

namespace LocalPort.IntegrationTests;

/// <summary>The four-phase shutdown on a real `localport run` with many ssh and tcp services and real signals.</summary>
[Collection(SshCollection.Name)]
public sealed class ShutdownAtScaleTests(SshServer ssh, ITestOutputHelper output) : Scenario(output)
{
    private static readonly string[] Phases =
        ["localport-stop-new-work", "localport-complete-current", "localport-cancel-tasks", "localport-force-cleanup"];

    private string StateDirectory => Path.Combine(Home, "state");

    private (LocalPortProcess Run, IReadOnlyList<int> SshPids, IReadOnlyList<int> Ports) StartMany(int sshCount, int tcpCount,
        params (string Name, string Yaml)[] extra)
    {
        var echo = Own(new EchoServer());
        var ports = FreePort.Next(sshCount + tcpCount);
        var services = Enumerable.Range(0, sshCount).Select(i => Yaml.Ssh($"ssh-{i}", ports[i], echo.Port, ssh))
            .Concat(Enumerable.Range(0, tcpCount).Select(i => Yaml.Tcp($"tcp-{i}", ports[sshCount + i], echo.Port)))
            .Concat(extra.Select(e => e.Yaml))
            .ToArray();
        var names = Enumerable.Range(0, sshCount).Select(i => $"ssh-{i}").Concat(Enumerable.Range(0, tcpCount).Select(i => $"tcp-{i}"))
            .Concat(extra.Select(e => e.Name));
        var run = RunUntilRunning(WriteConfig(Yaml.File(services)), names, TimeSpan.FromSeconds(90));
        var sshPids = Enumerable.Range(0, sshCount).Select(i => run.Latest($"ssh-{i}")!.Pid!.Value).ToList();
        return (run, sshPids, ports);
    }

    [Fact]
    public void A_burst_of_20_sigterms_on_80_services_gives_one_shutdown_that_exits_0_in_under_2_seconds()
    {
        var (run, sshPids, ports) = StartMany(40, 40);
        Assert.All(sshPids, pid => Assert.Equal("ssh", Native.Command(pid)));

        var clock = Stopwatch.StartNew();
        for (var i = 0; i < 20; i++) Assert.True(run.SendSignal(Native.SIGTERM));
        var code = run.WaitForExit(TimeSpan.FromSeconds(30));
        var elapsed = clock.Elapsed;
        Output.WriteLine($"80 services, 20 x SIGTERM: exit {code} after {elapsed.TotalMilliseconds:0} ms");
        foreach (var line in run.Stderr.Where(l => l.StartsWith("shutdown:") || l.StartsWith("stopped"))) Output.WriteLine("  " + line);

        Assert.True(code == 0, run.Describe());
        // The figure itself is measured in bench/ (./build.sh bench); this bound only catches regressions
        // such as backoff on the first retry or a stalled stop, with room for a loaded CI machine.
        Assert.True(elapsed < TimeSpan.FromSeconds(5), $"exit took {elapsed.TotalMilliseconds:0} ms. {run.Describe()}");
        Assert.Single(run.Stderr, l => l.StartsWith("shutdown: localport-stop-new-work …"));
        var log = File.ReadAllText(Path.Combine(StateDirectory, "logs", "localport.log"));
        Assert.All(Phases, phase => Assert.Matches($@"shutdown phase {phase} finished in \d+(\.\d+)? ms", log));
        Assert.All(sshPids, pid => Assert.False(Native.IsAlive(pid), $"ssh {pid} outlived localport"));
        Assert.All(ports, port => Assert.True(Traffic.Refuses(port), $"port {port} still accepts connections"));
        AssertReportClean();
    }

    [Fact]
    public void A_double_sigint_skips_to_force_cleanup_and_exits_in_under_2_seconds_with_nothing_left()
    {
        // A child that ignores SIGTERM holds cancel-tasks for its stop grace: the shutdown is still running when the
        // second SIGINT comes (an idle supervisor otherwise stops faster than a test sees the first one).
        var (run, sshPids, ports) = StartMany(10, 10, ("stubborn", Yaml.Kubectl("stubborn", FreePort.Next(), 80,
            $"resource_name: web\nkubectl_path: {StubbornKubectl(Own(new EchoServer()).Port)}")));

        var clock = Stopwatch.StartNew();
        Assert.True(run.SendSignal(Native.SIGINT));
        Poll.Assert(() => run.Stderr.Any(l => l.StartsWith("SIGINT")), TimeSpan.FromSeconds(5), "the first SIGINT to be seen");
        Assert.True(run.SendSignal(Native.SIGINT));
        var code = run.WaitForExit(TimeSpan.FromSeconds(30));
        var elapsed = clock.Elapsed;
        Output.WriteLine($"double SIGINT: exit {code} after {elapsed.TotalMilliseconds:0} ms");
        foreach (var line in run.Stderr) Output.WriteLine("  " + line);

        Assert.True(code == 0, run.Describe());
        // The figure itself is measured in bench/ (./build.sh bench); this bound only catches regressions
        // such as backoff on the first retry or a stalled stop, with room for a loaded CI machine.
        Assert.True(elapsed < TimeSpan.FromSeconds(5), $"exit took {elapsed.TotalMilliseconds:0} ms. {run.Describe()}");
        Assert.Contains(run.Stderr, l => l.Contains("skipping to force-cleanup"));
        // Force-cleanup closes the ports the skipped phases would have closed: the report finds nothing left.
        Assert.Contains(run.Stderr, l => l.Contains("nothing left behind"));
        var report = JsonDocument.Parse(File.ReadAllText(Path.Combine(StateDirectory, "last-shutdown.json"))).RootElement;
        Assert.Equal(0, report.GetProperty("leftovers").GetArrayLength());
        Assert.All(sshPids, pid => Assert.False(Native.IsAlive(pid), $"ssh {pid} outlived localport"));
        Assert.All(ports, port => Assert.True(Traffic.Refuses(port), $"port {port} still accepts connections"));
    }

    /// <summary>A kubectl that keeps kubectl's contract (the Forwarding line, pointing at <paramref name="port"/>) but ignores SIGTERM.</summary>
    private string StubbornKubectl(int port)
    {
        var stubborn = Path.Combine(Root, "stubborn-kubectl");
        File.WriteAllText(stubborn, $"""
            #!/usr/bin/env bash
            trap '' TERM
            echo "Forwarding from 127.0.0.1:{port} -> 80"
            while :; do sleep 0.2; done
            """);
        File.SetUnixFileMode(stubborn, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return stubborn;
    }

    [Fact]
    public void A_child_that_ignores_sigterm_is_sigkilled_in_force_cleanup()
    {
        var echo = Own(new EchoServer());
        var stubborn = StubbornKubectl(echo.Port);
        var port = FreePort.Next();
        var run = RunUntilRunning(WriteConfig(Yaml.File(Yaml.Kubectl("stubborn", port, 80,
            $"resource_name: web\nkubectl_path: {stubborn}"))), ["stubborn"], TimeSpan.FromSeconds(20));
        var pid = run.Latest("stubborn")!.Pid!.Value;

        Assert.True(run.SendSignal(Native.SIGTERM));
        var code = run.WaitForExit(TimeSpan.FromSeconds(30));

        Assert.True(code == 0, run.Describe());
        Assert.False(Native.IsAlive(pid), $"the stubborn child {pid} outlived localport");
        var report = JsonDocument.Parse(File.ReadAllText(Path.Combine(StateDirectory, "last-shutdown.json"))).RootElement;
        var forceCleanup = report.GetProperty("phases").EnumerateArray().Single(p => p.GetProperty("phase").GetString() == "localport-force-cleanup");
        Assert.Contains(forceCleanup.GetProperty("cleaned").EnumerateArray(), c => c.GetString()!.StartsWith($"SIGKILL process {pid}"));
        Assert.Equal(0, report.GetProperty("leftovers").GetArrayLength());
    }

    private void AssertReportClean()
    {
        var report = JsonDocument.Parse(File.ReadAllText(Path.Combine(StateDirectory, "last-shutdown.json"))).RootElement;
        Assert.Equal(Phases, report.GetProperty("phases").EnumerateArray().Select(p => p.GetProperty("phase").GetString()));
        Assert.Equal(0, report.GetProperty("leftovers").GetArrayLength());
    }
}
