using LocalPort.IntegrationTests.Fixtures;

namespace LocalPort.IntegrationTests;

/// <summary>kubectl services: the real kubectl binary against a cluster that is not there (the success paths are in Kube/).</summary>
public sealed class KubectlTests(ITestOutputHelper output) : Scenario(output)
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(20);

    [Fact]
    public void Real_kubectl_against_an_unreachable_cluster_reports_connection_refused_and_run_still_exits_0_on_sigterm()
    {
        var kubeconfig = Path.Combine(Root, "kubeconfig");
        var apiPort = FreePort.Next(); // nothing listens here
        File.WriteAllText(kubeconfig, $"""
            apiVersion: v1
            kind: Config
            clusters:
            - name: nowhere
              cluster:
                server: https://127.0.0.1:{apiPort}
                insecure-skip-tls-verify: true
            users:
            - name: tester
              user:
                token: not-a-real-token
            contexts:
            - name: nowhere
              context: {"{"}cluster: nowhere, user: tester, namespace: default{"}"}
            current-context: nowhere
            """);
        var port = FreePort.Next();
        var path = WriteConfig(Yaml.File(Yaml.Kubectl("api", port, 80, $"""
            resource_type: service
            resource_name: api
            namespace: default
            context: nowhere
            kubeconfig: {kubeconfig}
            kubectl_path: /usr/bin/kubectl
            """)));

        var run = Start("run", "-c", path);
        // The cluster monitor finds the API unreachable: the service waits for it instead of spending its attempts.
        var waiting = run.WaitForStatus(s => s.Name == "api" && s.State == "waiting-for-cluster", StartTimeout);
        Output.WriteLine($"waiting: {waiting.Raw}");

        Assert.NotNull(waiting.LastError);
        Assert.Contains("refused", waiting.LastError);
        Assert.Contains("unreachable", waiting.LastError);
        Assert.Contains($"127.0.0.1:{apiPort}", waiting.LastError);
        Assert.Equal(0, waiting.Restarts);
        Assert.DoesNotContain(run.Statuses, s => s.State == "failed");
        var kubectlPids = run.Statuses.Where(s => s.Name == "api" && s.Pid is not null).Select(s => s.Pid!.Value).Distinct().ToList();
        Assert.NotEmpty(kubectlPids);

        var clock = System.Diagnostics.Stopwatch.StartNew();
        Assert.True(run.SendSignal(Native.SIGTERM));
        Assert.Equal(0, run.WaitForExit(TimeSpan.FromSeconds(10)));
        Output.WriteLine($"SIGTERM: exit after {clock.ElapsedMilliseconds} ms");
        foreach (var line in run.Stderr.Where(l => !l.Contains("WRN"))) Output.WriteLine("  " + line);
        Assert.True(run.SaidStopped, run.Describe());
        Assert.All(kubectlPids, pid => Assert.False(Native.IsAlive(pid), $"kubectl {pid} outlived localport"));
        Assert.True(Traffic.Refuses(port), $"port {port} still accepts after shutdown");
    }
}
