using System.Diagnostics;
using System.Text.Json;
using LocalPort.IntegrationTests.Fixtures;

namespace LocalPort.IntegrationTests.Kube;

/// <summary>
/// The API server goes away for ten seconds under a running `localport run`: its kubectl service waits for the
/// cluster instead of burning its two restart attempts, `cluster status` and `status -o json` say so, and the
/// forward is back within about a second of the API's return.
/// </summary>
public sealed class ClusterOutageTests(ITestOutputHelper output) : Scenario(output)
{
    private static readonly TimeSpan Outage = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task A_ten_second_api_outage_waits_for_the_cluster_burns_no_attempt_and_recovers_within_a_second_of_its_return()
    {
        var lab = KubeLab.Start(this);
        var port = FreePort.Next();
        var path = WriteConfig(Yaml.File(Yaml.Kubectl("web", port, 80, lab.Connection("service", "web"))));
        var run = RunUntilRunning(path, ["web"], TimeSpan.FromSeconds(20));
        Assert.True(await Traffic.EchoEventuallyAsync(port, TimeSpan.FromSeconds(5)), run.Describe());
        var before = run.Latest("web")!;
        var from = run.StdoutCount;

        var down = Stopwatch.StartNew();
        lab.Kube.GoUnreachable();
        var waiting = run.WaitForStatus(s => s.Name == "web" && s.State == "waiting-for-cluster", TimeSpan.FromSeconds(5), from);
        Output.WriteLine($"{down.ElapsedMilliseconds} ms after the API went: {waiting.Raw}");
        Assert.Contains($"waiting for cluster {lab.Context}", waiting.LastError);
        Assert.Contains("was refused", waiting.LastError);
        AssertClusterStatus(lab.Context, "unreachable", expectedExitCode: 1);
        AssertStatusJsonShows(lab.Context, "unreachable", "waiting-for-cluster");

        // The outage lasts its ten seconds, and the whole time the service only waits: any status line that
        // counts a restart or leaves waiting-for-cluster ends the watch early and fails the test.
        var broke = run.TryWaitForLine(l => StatusLine.TryParse(l) is { Name: "web" } s &&
                                            (s.Restarts != before.Restarts || s.State != "waiting-for-cluster"),
            Outage - down.Elapsed, run.StdoutCount);
        Assert.True(broke is null, $"during the outage: {broke}");
        var back = Stopwatch.StartNew();
        lab.Kube.ComeBack();

        var running = run.WaitForStatus(s => s.Name == "web" && s.IsRunning, TimeSpan.FromSeconds(10), from);
        var reconnected = back.Elapsed;
        Assert.True(await Traffic.EchoEventuallyAsync(port, TimeSpan.FromSeconds(5)), run.Describe());
        var traffic = back.Elapsed;
        var during = run.Statuses.Where(s => s.Name == "web").ToList();
        Output.WriteLine($"API down {Outage.TotalSeconds:0} s; after its return: forward running in {reconnected.TotalMilliseconds:0} ms, " +
                         $"echo through the port in {traffic.TotalMilliseconds:0} ms; restarts {before.Restarts} -> {running.Restarts}");

        Assert.Equal(before.Restarts, running.Restarts);
        Assert.DoesNotContain(during, s => s.State == "failed");
        Assert.True(reconnected < TimeSpan.FromSeconds(3), $"the forward came back {reconnected.TotalMilliseconds:0} ms after the API");
        AssertClusterStatus(lab.Context, "reachable", expectedExitCode: 0);

        var kubectls = run.Statuses.Where(s => s.Pid is not null).Select(s => s.Pid!.Value).Distinct().ToList();
        Assert.True(run.SendSignal(Native.SIGTERM));
        Assert.Equal(0, run.WaitForExit(TimeSpan.FromSeconds(10)));
        Assert.All(kubectls, pid => Assert.False(Native.IsAlive(pid), $"kubectl {pid} outlived localport"));
    }

    /// <summary>`localport cluster status --context C -o json` against the running `run`.</summary>
    private void AssertClusterStatus(string context, string state, int expectedExitCode)
    {
        var result = Invoke("cluster", "status", "--context", context, "-o", "json");
        Output.WriteLine($"cluster status: exit {result.ExitCode}: {result.Stdout}");
        Assert.Equal(expectedExitCode, result.ExitCode);
        using var json = JsonDocument.Parse(result.Stdout);
        var cluster = Assert.Single(json.RootElement.GetProperty("clusters").EnumerateArray());
        Assert.Equal(context, cluster.GetProperty("context").GetString());
        Assert.Equal(state, cluster.GetProperty("state").GetString());
        Assert.Equal(["web"], cluster.GetProperty("services").EnumerateArray().Select(s => s.GetString()));
    }

    /// <summary>`localport status -o json`: the services as before, and the clusters next to them.</summary>
    private void AssertStatusJsonShows(string context, string clusterState, string serviceState)
    {
        var result = Invoke("status", "-o", "json");
        Assert.Equal(0, result.ExitCode);
        using var json = JsonDocument.Parse(result.Stdout);
        Assert.Equal(serviceState, Assert.Single(json.RootElement.GetProperty("services").EnumerateArray()).GetProperty("state").GetString());
        var cluster = Assert.Single(json.RootElement.GetProperty("clusters").EnumerateArray());
        Assert.Equal((context, clusterState), (cluster.GetProperty("context").GetString(), cluster.GetProperty("state").GetString()));
    }
}
