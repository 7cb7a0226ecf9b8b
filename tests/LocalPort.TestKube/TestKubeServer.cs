using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using LocalPort.TestKube.Cluster;
using LocalPort.TestKube.Http;
using LocalPort.TestKube.Spdy;

namespace LocalPort.TestKube;

/// <summary>How kubectl reached a pod's port-forward endpoint.</summary>
public enum PortForwardProtocolKind
{
    /// <summary>Plain SPDY/3.1 on the upgraded HTTP connection (<c>Upgrade: SPDY/3.1</c>).</summary>
    Spdy,

    /// <summary>SPDY/3.1 tunnelled in WebSocket binary messages (subprotocol <c>SPDY/3.1+portforward.k8s.io</c>), kubectl ≥ 1.31's first try.</summary>
    WebSocket,
}

/// <summary>What deleting a pod does to port-forward connections that target it.</summary>
public enum PodDeletionBehavior
{
    /// <summary>
    /// Active streams get the kubelet's error message and are closed, then the whole port-forward
    /// connection gets GOAWAY and is closed: kubectl always notices at once ("lost connection to pod").
    /// </summary>
    CloseSessions,

    /// <summary>
    /// Like a real kubelet: only active streams break (error message + close); the connection stays
    /// up and later local connections fail with "failed to find sandbox ... not found".
    /// </summary>
    BreakStreamsOnly,
}

/// <summary>One port-forward upgrade the server accepted.</summary>
public sealed class PortForwardRecord(long id, string ns, string pod, PortForwardProtocolKind protocol)
{
    public long Id { get; } = id;
    public string Namespace { get; } = ns;
    public string Pod { get; } = pod;
    public PortForwardProtocolKind Protocol { get; } = protocol;
    public DateTimeOffset StartedAt { get; } = DateTimeOffset.UtcNow;
    public DateTimeOffset? EndedAt { get; private set; }

    /// <summary>Why the connection ended (or is ending): "idle timeout (…)", "pod deleted", "client closed the connection", …</summary>
    public string? EndReason { get; internal set; }

    internal void End(string reason)
    {
        EndReason ??= reason;
        EndedAt ??= DateTimeOffset.UtcNow;
    }

    public override string ToString() =>
        $"#{Id} {Namespace}/{Pod} over {Protocol}, started {StartedAt:HH:mm:ss.fff}" + (EndedAt is { } ended ? $", ended {ended:HH:mm:ss.fff}: {EndReason}" : ", active");
}

public sealed record TestKubeOptions
{
    /// <summary>Loopback port for the API; 0 picks a free one (kept across <see cref="TestKubeServer.GoUnreachable"/>/<see cref="TestKubeServer.ComeBack"/>).</summary>
    public int Port { get; init; }

    /// <summary>Name of the kubeconfig context (also used for the cluster; the user is <c>NAME-user</c>).</summary>
    public string ContextName { get; init; } = "testkube";

    /// <summary>Where to write the kubeconfig; null: a fresh temp directory, deleted on dispose.</summary>
    public string? KubeconfigPath { get; init; }

    /// <summary>The context's namespace.</summary>
    public string Namespace { get; init; } = "default";

    /// <summary>Bearer token required on every non-health request; null: a random one.</summary>
    public string? Token { get; init; }

    public string KubernetesVersion { get; init; } = "v1.32.0";

    public string NodeName { get; init; } = "testkube-node";

    /// <summary>False answers the WebSocket upgrade with 400, which makes kubectl fall back to SPDY.</summary>
    public bool EnableWebSocketPortForward { get; init; } = true;

    public bool EnableSpdyPortForward { get; init; } = true;

    /// <summary>
    /// Serve https with a throwaway CA (in the kubeconfig). kubectl only sends the token over TLS,
    /// so with false (plain http) requests are anonymous and the token is not checked.
    /// </summary>
    public bool UseTls { get; init; } = true;

    /// <summary>Initial <see cref="TestKubeServer.IdleTimeout"/>.</summary>
    public TimeSpan? IdleTimeout { get; init; }

    public PodDeletionBehavior PodDeletion { get; init; } = PodDeletionBehavior.CloseSessions;

    /// <summary>Receives one line per notable event (requests are not logged; see <see cref="TestKubeServer.Requests"/>).</summary>
    public Action<string>? Log { get; init; }
}

/// <summary>
/// A Kubernetes API server on 127.0.0.1 that the real kubectl can use: discovery, health, pods,
/// services, deployments, statefulsets, nodes, events, and <c>kubectl port-forward</c> over SPDY/3.1
/// and over WebSocket-tunnelled SPDY, relaying each pod's ports to loopback upstream servers.
/// It writes its own kubeconfig and can be driven into failures (pod deletion and replacement,
/// outage, stalled streams, idle timeout).
/// </summary>
public sealed class TestKubeServer : IAsyncDisposable, IPortForwardHost
{
    private static readonly TimeSpan ErrorGrace = TimeSpan.FromMilliseconds(500);
    private readonly TestKubeOptions _options;
    private readonly ClusterState _state;
    private readonly LoopbackHttpListener _listener;
    private readonly StallGate _stall = new();
    private readonly ConcurrentDictionary<PortForwardSession, byte> _sessions = new();
    private readonly List<PortForwardRecord> _records = [];
    private readonly ConcurrentQueue<string> _requests = new();
    private readonly string? _ownedDirectory;
    private long _nextSessionId;
    private TimeSpan? _idleTimeout;
    private int _disposed;

    private TestKubeServer(TestKubeOptions options)
    {
        var token = options.Token ?? Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        _options = options with { Token = token };
        _idleTimeout = options.IdleTimeout;
        _state = new ClusterState(options.NodeName, options.KubernetesVersion);
        var api = new KubeApi(this, _state, _options);
        _listener = new LoopbackHttpListener("testkube", api.HandleAsync, LogLine, options.UseTls ? TestCertificates.Instance.Server : null);
        if (options.KubeconfigPath is null)
        {
            _ownedDirectory = Directory.CreateTempSubdirectory("testkube-").FullName;
            KubeconfigPath = Path.Combine(_ownedDirectory, "kubeconfig");
        }
        else
        {
            KubeconfigPath = Path.GetFullPath(options.KubeconfigPath);
        }
    }

    /// <summary>Starts listening and writes the kubeconfig.</summary>
    public static Task<TestKubeServer> StartAsync(TestKubeOptions? options = null)
    {
        var server = new TestKubeServer(options ?? new TestKubeOptions());
        try
        {
            server._listener.Start(server._options.Port);
            Kubeconfig.Write(server.KubeconfigPath, server.Url, server.ContextName, server.Token, server._options.Namespace,
                server._options.UseTls ? TestCertificates.Instance.CaPem : null);
        }
        catch
        {
            server._listener.Stop();
            throw;
        }
        server.LogLine($"listening on {server.Url}, kubeconfig {server.KubeconfigPath} (context {server.ContextName})");
        return Task.FromResult(server);
    }

    public int Port => _listener.Port;

    public Uri Url => new($"{(_options.UseTls ? "https" : "http")}://127.0.0.1:{Port}");

    /// <summary>PEM of the CA that signed the serving certificate (null without TLS).</summary>
    public string? CertificateAuthorityPem => _options.UseTls ? TestCertificates.Instance.CaPem : null;

    public string KubeconfigPath { get; }

    public string ContextName => _options.ContextName;

    public string Token => _options.Token!;

    public string Namespace => _options.Namespace;

    /// <summary>False between <see cref="GoUnreachable"/> and <see cref="ComeBack"/>.</summary>
    public bool IsReachable => _listener.IsListening;

    /// <summary>
    /// Closes a port-forward connection after this long without payload (DATA bytes either way, or
    /// a new stream). kubectl's SPDY PINGs do not count, so a quiet forward does time out. Null: never.
    /// Takes effect at once, for open connections too.
    /// </summary>
    public TimeSpan? IdleTimeout
    {
        get => _idleTimeout;
        set => _idleTimeout = value;
    }

    public bool StreamsStalled => _stall.IsStalled;

    public int ActivePortForwards => _sessions.Count;

    /// <summary>Relayed connections (stream pairs) open right now, over all port-forwards.</summary>
    public int ActiveStreams => _sessions.Keys.Sum(s => s.ActiveRelays);

    public IReadOnlyList<PortForwardRecord> PortForwards
    {
        get
        {
            lock (_records)
            {
                return _records.ToList();
            }
        }
    }

    /// <summary>The last 1000 requests, as "METHOD target".</summary>
    public IReadOnlyList<string> Requests => _requests.ToList();

    public IReadOnlyList<PodInfo> Pods(string? ns = null) => _state.Pods(ns).Select(p => p.ToInfo()).ToList();

    /// <summary>Adds a Running, Ready pod with one container port relayed to <paramref name="upstream"/>.</summary>
    public PodInfo AddPod(string name, string ns = "default", IReadOnlyDictionary<string, string>? labels = null, int containerPort = 80, IPEndPoint? upstream = null, string? portName = null) =>
        AddPod(name, [new PodPort(containerPort, upstream, portName)], ns, labels);

    /// <summary>Adds a Running, Ready pod with several container ports.</summary>
    public PodInfo AddPod(string name, IEnumerable<PodPort> ports, string ns = "default", IReadOnlyDictionary<string, string>? labels = null)
    {
        var pod = _state.AddPod(ns, name, labels ?? new Dictionary<string, string>(), ports.ToList());
        LogLine($"pod {ns}/{name} added (uid {pod.Uid})");
        return pod.ToInfo();
    }

    public void AddService(string name, IReadOnlyDictionary<string, string> selector, int port, int? targetPort = null, string ns = "default") =>
        AddService(name, selector, [new ServicePortSpec(port, targetPort)], ns);

    public void AddService(string name, IReadOnlyDictionary<string, string> selector, IEnumerable<ServicePortSpec> ports, string ns = "default") =>
        _state.AddService(ns, name, selector, ports.ToList());

    /// <summary>A Deployment whose <c>spec.selector.matchLabels</c> is <paramref name="selector"/>; its pods are the ones added with those labels.</summary>
    public void AddDeployment(string name, IReadOnlyDictionary<string, string> selector, string ns = "default", int? replicas = null) =>
        _state.AddWorkload("Deployment", ns, name, selector, replicas);

    public void AddStatefulSet(string name, IReadOnlyDictionary<string, string> selector, string ns = "default", int? replicas = null) =>
        _state.AddWorkload("StatefulSet", ns, name, selector, replicas);

    /// <summary>
    /// Deletes a pod as a restart or eviction would. Active port-forward streams to it get the kubelet's
    /// "network namespace for sandbox … is closed" error and are closed; with
    /// <see cref="PodDeletionBehavior.CloseSessions"/> (the default) the port-forward connections are then
    /// closed too (GOAWAY). Returns false if there was no such pod.
    /// </summary>
    public bool DeletePod(string name, string ns = "default", PodDeletionBehavior? behavior = null)
    {
        var pod = _state.RemovePod(ns, name);
        if (pod is null)
        {
            return false;
        }
        var mode = behavior ?? _options.PodDeletion;
        var sessions = _sessions.Keys.Where(s => s.Pod.Uid == pod.Uid).ToList();
        LogLine($"pod {ns}/{name} deleted; {sessions.Count} port-forward connection(s) affected ({mode})");
        foreach (var session in sessions)
        {
            var hadStreams = session.ActiveRelays > 0;
            if (mode == PodDeletionBehavior.CloseSessions)
            {
                session.Record.EndReason ??= "pod deleted";
            }
            session.FailActiveRelays(port => $"error forwarding port {port} to pod {pod.SandboxId}, uid : network namespace for sandbox \"{pod.SandboxId}\" is closed");
            if (mode == PodDeletionBehavior.CloseSessions)
            {
                _ = Task.Run(async () =>
                {
                    await session.DrainRelaysAsync(TimeSpan.FromSeconds(1));
                    if (hadStreams)
                    {
                        // kubectl ≥ 1.29 logs an error-stream message and then closes the connection itself;
                        // closing first could beat its log line. Give it a moment, then close regardless.
                        await Task.WhenAny(session.Ended, Task.Delay(ErrorGrace));
                    }
                    await session.ShutdownAsync("pod deleted");
                });
            }
        }
        return true;
    }

    /// <summary>
    /// Replaces a pod: a new pod (new uid, same labels and ports, Running) and the old one deleted
    /// as by <see cref="DeletePod"/>. The new name is <paramref name="newName"/>, or the old name with a
    /// fresh 5-character suffix (pass the same name for a StatefulSet-style restart). Returns the new name.
    /// </summary>
    public string ReplacePod(string name, string ns = "default", string? newName = null, PodDeletionBehavior? behavior = null)
    {
        var old = _state.FindPod(ns, name) ?? throw new InvalidOperationException($"no pod {ns}/{name}");
        newName ??= ReplacementName(name);
        if (newName == name)
        {
            DeletePod(name, ns, behavior);
            _state.AddPod(ns, newName, old.Labels, old.Ports);
        }
        else
        {
            // A rollout: the replacement is Running before the old pod goes.
            _state.AddPod(ns, newName, old.Labels, old.Ports);
            DeletePod(name, ns, behavior);
        }
        LogLine($"pod {ns}/{name} replaced by {ns}/{newName}");
        return newName;
    }

    /// <summary>The API goes away: the port refuses connections, and every open connection (API calls, port-forwards) is reset.</summary>
    public void GoUnreachable()
    {
        _listener.Stop();
        foreach (var session in _sessions.Keys)
        {
            session.Abort("API server unreachable");
        }
        LogLine($"unreachable: 127.0.0.1:{Port} refuses connections");
    }

    /// <summary>The API comes back on the same port.</summary>
    public void ComeBack()
    {
        _listener.Start(Port);
        LogLine($"reachable again on {Url}");
    }

    /// <summary>While stalled, port-forward streams stay open (and PINGs are answered) but no payload byte moves either way.</summary>
    public void StallStreams(bool stalled = true)
    {
        _stall.Set(stalled);
        LogLine(stalled ? "streams stalled" : "streams flowing");
    }

    /// <summary>Parses "k=v,k2=v2" into a label map.</summary>
    public static IReadOnlyDictionary<string, string> Labels(string text) =>
        text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(kv => kv.Split('=', 2))
            .ToDictionary(kv => kv[0], kv => kv.Length > 1 ? kv[1] : "");

    /// <summary>Formats a label map as "k=v,k2=v2".</summary>
    public static string FormatLabels(IReadOnlyDictionary<string, string> labels) => LabelSelector.Format(labels);

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }
        await Task.WhenAll(_sessions.Keys.Select(s => s.ShutdownAsync("server shutting down")));
        _listener.Stop();
        foreach (var session in _sessions.Keys)
        {
            session.Abort("server disposed");
        }
        if (_ownedDirectory is not null)
        {
            try
            {
                Directory.Delete(_ownedDirectory, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    internal void StartPortForwardSession(PodRecord pod, IFrameTransport transport, PortForwardProtocolKind protocol, Socket socket)
    {
        _listener.Release(socket);
        var record = new PortForwardRecord(Interlocked.Increment(ref _nextSessionId), pod.Namespace!, pod.Name, protocol);
        lock (_records)
        {
            _records.Add(record);
        }
        var session = new PortForwardSession(this, pod, transport, record);
        _sessions[session] = 0;
        LogLine($"port-forward #{record.Id} to {pod.Namespace}/{pod.Name} over {protocol}");
        _ = Task.Run(session.RunAsync);
    }

    internal void RecordRequest(string method, string target)
    {
        _requests.Enqueue($"{method} {target}");
        while (_requests.Count > 1000)
        {
            _requests.TryDequeue(out _);
        }
    }

    internal void LogLine(string message) => _options.Log?.Invoke($"[testkube {DateTime.Now:HH:mm:ss.fff}] {message}");

    PodRecord? IPortForwardHost.FindPod(string ns, string name, string uid) =>
        _state.FindPod(ns, name) is { } pod && pod.Uid == uid ? pod : null;

    StallGate IPortForwardHost.Stall => _stall;

    void IPortForwardHost.Log(string message) => LogLine(message);

    void IPortForwardHost.SessionEnded(PortForwardSession session)
    {
        _sessions.TryRemove(session, out _);
        LogLine($"port-forward {session.Record}");
    }

    private static string ReplacementName(string name)
    {
        var match = Regex.Match(name, "^(.+)-[a-z0-9]{5}$");
        var stem = match.Success ? match.Groups[1].Value : name;
        const string alphabet = "bcdfghjklmnpqrstvwxz2456789";
        return stem + "-" + string.Concat(Enumerable.Range(0, 5).Select(_ => alphabet[RandomNumberGenerator.GetInt32(alphabet.Length)]));
    }
}
