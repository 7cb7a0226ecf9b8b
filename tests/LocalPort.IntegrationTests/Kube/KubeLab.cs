using System.Net;
using LocalPort.IntegrationTests.Fixtures;
using LocalPort.TestKube;

namespace LocalPort.IntegrationTests.Kube;

/// <summary>
/// The test Kubernetes API (TLS, a kubeconfig of its own) with a small workload whose pods relay to echo
/// servers: pod web-7c9f8d-q2x7k (app=web, 80) behind service and deployment web; pod db-0 (app=db, 5432)
/// behind service and statefulset db. Its log goes to the test output. Disposed with the scenario.
/// </summary>
public sealed class KubeLab : IDisposable
{
    public const string WebPod = "web-7c9f8d-q2x7k";
    public const string DbPod = "db-0";

    private readonly EchoServer _web = new();
    private readonly EchoServer _db = new();
    private readonly ITestOutputHelper _output;
    private volatile bool _disposed;

    public TestKubeServer Kube { get; }

    private KubeLab(ITestOutputHelper output)
    {
        _output = output;
        Kube = TestKubeServer.StartAsync(new TestKubeOptions { ContextName = "testkube", Log = Log }).GetAwaiter().GetResult();
        Kube.AddPod(WebPod, labels: TestKubeServer.Labels("app=web"), containerPort: 80, upstream: Loopback(_web.Port));
        Kube.AddService("web", TestKubeServer.Labels("app=web"), port: 80);
        Kube.AddDeployment("web", TestKubeServer.Labels("app=web"));
        Kube.AddPod(DbPod, labels: TestKubeServer.Labels("app=db"), containerPort: 5432, upstream: Loopback(_db.Port));
        Kube.AddService("db", TestKubeServer.Labels("app=db"), port: 5432);
        Kube.AddStatefulSet("db", TestKubeServer.Labels("app=db"));
    }

    public static KubeLab Start(Scenario scenario) => scenario.Own(new KubeLab(scenario.Output));

    public string Context => Kube.ContextName;
    public string KubeconfigPath => Kube.KubeconfigPath;

    /// <summary>The connection block of a kubectl service on this cluster, through the real kubectl.</summary>
    public string Connection(string resourceType, string resourceName, string? kubeconfig = null) => $"""
        resource_type: {resourceType}
        resource_name: {resourceName}
        namespace: default
        context: {Context}
        kubeconfig: {kubeconfig ?? KubeconfigPath}
        kubectl_path: /usr/bin/kubectl
        """;

    private static IPEndPoint Loopback(int port) => new(IPAddress.Loopback, port);

    private void Log(string line)
    {
        if (_disposed) return;
        // Server threads may still log as the test ends; xunit refuses output after that.
        try { _output.WriteLine(line); }
        catch (InvalidOperationException) { }
    }

    public void Dispose()
    {
        _disposed = true;
        Kube.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _web.Dispose();
        _db.Dispose();
    }
}
