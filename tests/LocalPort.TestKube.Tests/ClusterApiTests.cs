using LocalPort.TestKube.Tests.Support;

namespace LocalPort.TestKube.Tests;

/// <summary>The read-only kubectl commands, against one server for the class.</summary>
public sealed class ClusterApiTests : IClassFixture<ClusterApiTests.Fixture>
{
    private readonly KubeScope _scope;

    public ClusterApiTests(Fixture fixture, ITestOutputHelper output)
    {
        _scope = fixture.Scope;
        _scope.Attach(output);
    }

    private TestKubeServer Kube => _scope.Kube;

    [Fact]
    public async Task Cluster_info_version_and_readyz_succeed()
    {
        var info = await _scope.Kubectl.RunAsync("cluster-info");
        Assert.Equal(0, info.ExitCode);
        Assert.Contains($"Kubernetes control plane is running at https://127.0.0.1:{Kube.Port}", info.Stdout);

        var version = await _scope.Kubectl.RunAsync("version");
        Assert.Equal(0, version.ExitCode);
        Assert.Contains("Server Version: v1.32.0", version.Stdout);
        Assert.DoesNotContain("WARNING", version.Stderr);

        var ready = await _scope.Kubectl.RunAsync("get", "--raw", "/readyz");
        Assert.Equal((0, "ok"), (ready.ExitCode, ready.Stdout.Trim()));

        var verbose = await _scope.Kubectl.RunAsync("get", "--raw", "/livez?verbose");
        Assert.Contains("livez check passed", verbose.Stdout);
    }

    [Fact]
    public async Task Get_nodes_pods_events_prints_the_tables_a_real_cluster_prints()
    {
        var result = await _scope.Kubectl.RunAsync("get", "nodes,pods,events");

        Assert.Equal(0, result.ExitCode);
        Assert.Equal("", result.Stderr);
        Assert.Matches(@"node/testkube-node\s+Ready\s+control-plane\s+\d+\w\s+v1\.32\.0", result.Stdout);
        Assert.Matches($@"pod/{KubeScope.WebPod}\s+1/1\s+Running\s+0", result.Stdout);
        Assert.Matches(@"pod/db-0\s+1/1\s+Running", result.Stdout);
        Assert.Matches($@"Normal\s+Started\s+pod/{KubeScope.WebPod}\s+Started container app", result.Stdout);
    }

    [Fact]
    public async Task Workloads_and_services_resolve_and_render_as_JSON()
    {
        var services = await _scope.Kubectl.RunAsync("get", "svc,deploy,sts");
        Assert.Equal(0, services.ExitCode);
        Assert.Matches(@"service/web\s+ClusterIP\s+\S+\s+<none>\s+80/TCP", services.Stdout);
        Assert.Matches(@"deployment.apps/web\s+1/1\s+1\s+1", services.Stdout);
        Assert.Matches(@"statefulset.apps/db\s+1/1", services.Stdout);

        var selector = await _scope.Kubectl.RunAsync("get", "deploy", "web", "-o", "jsonpath={.spec.selector.matchLabels.app}");
        Assert.Equal("web", selector.Stdout);

        var byLabel = await _scope.Kubectl.RunAsync("get", "pods", "-l", "app in (db)", "-o", "name");
        Assert.Equal("pod/db-0", byLabel.Stdout.Trim());

        var missing = await _scope.Kubectl.RunAsync("get", "pod", "nope");
        Assert.Equal(1, missing.ExitCode);
        Assert.Contains("Error from server (NotFound): pods \"nope\" not found", missing.Stderr);
    }

    [Fact]
    public async Task The_kubeconfig_names_the_context_and_its_token_is_checked()
    {
        var context = await _scope.Kubectl.RunAsync("config", "current-context");
        Assert.Equal(Kube.ContextName, context.Stdout.Trim());
        var kubeconfig = await File.ReadAllTextAsync(Kube.KubeconfigPath);
        Assert.Contains($"server: \"https://127.0.0.1:{Kube.Port}\"", kubeconfig);
        Assert.Contains("certificate-authority-data:", kubeconfig);

        var wrongToken = await _scope.Kubectl.RunAsync("get", "pods", "--token", "not-the-token");
        Assert.Equal(1, wrongToken.ExitCode);
        Assert.Contains("You must be logged in to the server", wrongToken.Stderr);
    }

    public sealed class Fixture : IAsyncLifetime
    {
        public KubeScope Scope { get; private set; } = null!;

        public async Task InitializeAsync() => Scope = await KubeScope.StartAsync(options: new TestKubeOptions { ContextName = "testkube-api" });

        public async Task DisposeAsync() => await Scope.DisposeAsync();
    }
}

public sealed class PlainHttpTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Over_plain_http_kubectl_sends_no_token_and_the_server_serves_it_anyway()
    {
        var path = Path.Combine(Path.GetTempPath(), $"testkube-plain-{Guid.NewGuid():N}", "config");
        await using var scope = await KubeScope.StartAsync(output, new TestKubeOptions { UseTls = false, ContextName = "plain", KubeconfigPath = path });
        try
        {
            Assert.Equal($"http://127.0.0.1:{scope.Kube.Port}/", scope.Kube.Url.ToString());
            Assert.Equal(path, scope.Kube.KubeconfigPath);

            var pods = await scope.Kubectl.RunAsync("get", "pods", "--context", "plain");
            Assert.Equal(0, pods.ExitCode);
            Assert.Contains(KubeScope.WebPod, pods.Stdout);

            var forward = await scope.PortForwardAsync("service/web", 80);
            Assert.Equal("plain", await Echo.RoundTripAsync(forward.LocalPort, "plain"));
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(path)!, recursive: true);
        }
    }
}
