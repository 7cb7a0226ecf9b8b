using System.Net;
using System.Net.Sockets;
using System.Text;

namespace LocalPort.TestKube.Tests.Support;

/// <summary>
/// A test server with a small workload: pod web-7c9f8d-q2x7k (app=web, port 80), service web and
/// deployment web over it; pod db-0 (app=db, port 5432), service db and statefulset db over it.
/// Both pods relay to loopback echo servers.
/// </summary>
public sealed class KubeScope : IAsyncDisposable
{
    public const string WebPod = "web-7c9f8d-q2x7k";
    public const string DbPod = "db-0";

    private readonly List<IDisposable> _owned = [];
    private readonly string _cacheDirectory;
    private ITestOutputHelper? _output;

    private KubeScope(TestKubeServer kube, LoopbackEchoServer web, LoopbackEchoServer db, string cacheDirectory)
    {
        Kube = kube;
        WebEcho = web;
        DbEcho = db;
        _cacheDirectory = cacheDirectory;
        Kubectl = new Kubectl(kube, cacheDirectory);
    }

    public TestKubeServer Kube { get; }
    public LoopbackEchoServer WebEcho { get; }
    public LoopbackEchoServer DbEcho { get; }
    public Kubectl Kubectl { get; private set; }

    public static async Task<KubeScope> StartAsync(ITestOutputHelper? output = null, TestKubeOptions? options = null)
    {
        var web = LoopbackEchoServer.Start();
        var db = LoopbackEchoServer.Start();
        KubeScope? scope = null;
        options ??= new TestKubeOptions();
        var kube = await TestKubeServer.StartAsync(options with { Log = line => scope?.Log(line) });
        scope = new KubeScope(kube, web, db, Directory.CreateTempSubdirectory("testkube-cache-").FullName);
        scope.Attach(output);

        kube.AddPod(WebPod, labels: TestKubeServer.Labels("app=web,pod-template-hash=7c9f8d"), containerPort: 80, upstream: web.EndPoint, portName: "http");
        kube.AddService("web", TestKubeServer.Labels("app=web"), port: 80);
        kube.AddDeployment("web", TestKubeServer.Labels("app=web"));
        kube.AddPod(DbPod, labels: TestKubeServer.Labels("app=db"), containerPort: 5432, upstream: db.EndPoint);
        kube.AddService("db", TestKubeServer.Labels("app=db"), port: 5432);
        kube.AddStatefulSet("db", TestKubeServer.Labels("app=db"));
        return scope;
    }

    /// <summary>Sends test output (server log, kubectl runs) to this test's output.</summary>
    public void Attach(ITestOutputHelper? output)
    {
        _output = output;
        Kubectl = new Kubectl(Kube, _cacheDirectory, output);
    }

    public async Task<PortForwardProcess> PortForwardAsync(string target, int remotePort, params KeyValuePair<string, string>[] env)
    {
        var process = await Kubectl.PortForwardAsync(target, remotePort, env);
        lock (_owned)
        {
            _owned.Add(process);
        }
        return process;
    }

    public async ValueTask DisposeAsync()
    {
        lock (_owned)
        {
            _owned.ForEach(d => d.Dispose());
            _owned.Clear();
        }
        await Kube.DisposeAsync();
        WebEcho.Dispose();
        DbEcho.Dispose();
        try
        {
            Directory.Delete(_cacheDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private void Log(string line)
    {
        try
        {
            _output?.WriteLine(line);
        }
        catch (InvalidOperationException)
        {
            // The test that owned the output has finished.
        }
    }
}

public static class Echo
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    /// <summary>Connects to a local port (kubectl's listener), sends <paramref name="text"/>, and reads the echo back.</summary>
    public static async Task<string> RoundTripAsync(int port, string text)
    {
        using var socket = await ConnectAsync(port);
        return await RoundTripAsync(socket, text);
    }

    public static async Task<Socket> ConnectAsync(int port)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        using var cts = new CancellationTokenSource(Timeout);
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), cts.Token);
        return socket;
    }

    public static async Task<string> RoundTripAsync(Socket socket, string text)
    {
        var payload = Encoding.UTF8.GetBytes(text);
        using var cts = new CancellationTokenSource(Timeout);
        await socket.SendAsync(payload, SocketFlags.None, cts.Token);
        var received = new byte[payload.Length];
        var filled = 0;
        while (filled < received.Length)
        {
            var n = await socket.ReceiveAsync(received.AsMemory(filled), SocketFlags.None, cts.Token);
            if (n == 0)
            {
                throw new EndOfStreamException($"connection closed after {filled} of {received.Length} echoed bytes");
            }
            filled += n;
        }
        return Encoding.UTF8.GetString(received);
    }

    /// <summary>A bounded wait used for negative checks ("nothing arrives while stalled").</summary>
    public static async Task<bool> CompletesWithinAsync(Task task, TimeSpan timeout) => await Task.WhenAny(task, Task.Delay(timeout)) == task;

    /// <summary>Waits until the peer closes the connection (or resets it): true if it did within <paramref name="timeout"/>.</summary>
    public static async Task<bool> ClosedWithinAsync(Socket socket, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        var buffer = new byte[256];
        try
        {
            while (await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token) > 0)
            {
            }
            return true;
        }
        catch (SocketException)
        {
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}
