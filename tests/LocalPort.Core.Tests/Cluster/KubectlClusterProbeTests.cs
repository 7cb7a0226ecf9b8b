using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using LocalPort.Core.Cluster;

namespace LocalPort.Core.Tests.Cluster;

/// <summary>The real kubectl against an API that is not there (the reachable side is proven against the test API server in the integration tests).</summary>
public sealed class KubectlClusterProbeTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("lp-probe-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private string KubeconfigFor(int port)
    {
        var path = Path.Combine(_directory, "kubeconfig");
        File.WriteAllText(path, $$"""
            apiVersion: v1
            kind: Config
            clusters:
            - name: gone
              cluster: {server: "https://127.0.0.1:{{port}}", insecure-skip-tls-verify: true}
            users:
            - name: dev
              user: {token: not-a-real-token}
            contexts:
            - name: gone
              context: {cluster: gone, user: dev}
            current-context: gone
            """);
        return path;
    }

    private static int ClosedPort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    [Fact]
    public void The_probe_asks_for_readyz_with_the_timeout_context_and_kubeconfig()
    {
        var args = KubectlClusterProbe.Arguments(new ClusterKey("prod", "/home/dev/.kube/prod", null), TimeSpan.FromSeconds(2));

        Assert.Equal(["get", "--raw", "/readyz", "--request-timeout=2000ms", "--context", "prod", "--kubeconfig", "/home/dev/.kube/prod"], args);
    }

    [Fact]
    public async Task A_closed_api_port_is_unreachable_with_kubectls_own_words_within_the_timeout()
    {
        var port = ClosedPort();
        var clock = Stopwatch.StartNew();

        var result = await new KubectlClusterProbe().ProbeAsync(new ClusterKey("gone", KubeconfigFor(port), "/usr/bin/kubectl"), TimeSpan.FromSeconds(5));

        Assert.False(result.Reachable);
        Assert.StartsWith("cluster unreachable: ", result.Error);
        Assert.Contains($"127.0.0.1:{port}", result.Error);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(6), $"took {clock.Elapsed}");
    }

    [Fact]
    public async Task A_missing_kubectl_is_reported_not_thrown()
    {
        var missing = Path.Combine(_directory, "no-kubectl-here");

        var result = await new KubectlClusterProbe().ProbeAsync(new ClusterKey(null, null, missing), TimeSpan.FromSeconds(2));

        Assert.False(result.Reachable);
        Assert.Contains($"cannot run {missing}", result.Error);
    }
}
