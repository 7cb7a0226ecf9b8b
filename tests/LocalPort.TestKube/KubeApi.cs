using System.Net.Sockets;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using LocalPort.TestKube.Cluster;
using LocalPort.TestKube.Http;
using LocalPort.TestKube.Spdy;

namespace LocalPort.TestKube;

internal sealed record ResourceInfo(
    string Group, string Version, string Plural, string Singular, string Kind, bool Namespaced,
    string[] ShortNames, string[] Verbs, string[] Categories)
{
    public string ApiVersion => Group.Length == 0 ? Version : $"{Group}/{Version}";
}

/// <summary>The HTTP surface kubectl talks to: discovery, health, lists/gets/watches, pod delete, and the port-forward upgrade.</summary>
internal sealed class KubeApi(TestKubeServer server, ClusterState state, TestKubeOptions options)
{
    public const string WebSocketTunnelProtocol = "SPDY/3.1+portforward.k8s.io";
    public const string PortForwardProtocol = "portforward.k8s.io";

    private static readonly string[] ReadVerbs = ["get", "list", "watch"];

    private static readonly ResourceInfo[] Resources =
    [
        new("", "v1", "namespaces", "namespace", "Namespace", false, ["ns"], ReadVerbs, []),
        new("", "v1", "nodes", "node", "Node", false, ["no"], ReadVerbs, []),
        new("", "v1", "pods", "pod", "Pod", true, ["po"], ["delete", "get", "list", "watch"], ["all"]),
        new("", "v1", "services", "service", "Service", true, ["svc"], ReadVerbs, ["all"]),
        new("", "v1", "events", "event", "Event", true, ["ev"], ReadVerbs, []),
        new("apps", "v1", "deployments", "deployment", "Deployment", true, ["deploy"], ReadVerbs, ["all"]),
        new("apps", "v1", "statefulsets", "statefulset", "StatefulSet", true, ["sts"], ReadVerbs, ["all"]),
    ];

    private static readonly string[] HealthChecks =
    [
        "ping", "log", "etcd", "etcd-readiness", "informer-sync", "poststarthook/start-apiserver-admission-initializer",
        "poststarthook/generic-apiserver-start-informers", "shutdown",
    ];

    public async Task<Disposition> HandleAsync(HttpConnection connection, HttpRequest request, CancellationToken ct)
    {
        server.RecordRequest(request.Method, request.Target);
        var keepAlive = !request.HeaderHasToken("Connection", "close");
        var path = request.Path.TrimEnd('/');
        if (path.Length == 0)
        {
            path = "/";
        }

        // Over plain http kubectl sends no credentials at all, so only TLS mode can check them.
        if (options.UseTls && !IsPublic(path) && !Authorized(request))
        {
            await connection.WriteResponseAsync(Status(401, "Unauthorized", "Unauthorized"), keepAlive, ct);
            return keepAlive ? Disposition.KeepAlive : Disposition.Close;
        }

        var segments = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (segments is ["api", "v1", "namespaces", var pfNs, "pods", var pfName, "portforward"])
        {
            return await PortForwardAsync(connection, request, pfNs, pfName, ct);
        }

        if (request.Method == "GET" && request.QueryValue("watch") is "true" or "1" && TryResolveCollection(segments, out var watchResource, out var watchNs))
        {
            return await WatchAsync(connection, request, watchResource, watchNs, ct);
        }

        var response = request.Method switch
        {
            "GET" or "HEAD" => Get(path, segments, request),
            "DELETE" => Delete(segments),
            _ => Status(405, "MethodNotAllowed", $"the server does not allow this method on the requested resource ({request.Method} {path})"),
        };
        await connection.WriteResponseAsync(response, keepAlive, ct);
        return keepAlive ? Disposition.KeepAlive : Disposition.Close;
    }

    private static bool IsPublic(string path) =>
        path is "/version" or "/healthz" or "/livez" or "/readyz"
        || path.StartsWith("/healthz/", StringComparison.Ordinal)
        || path.StartsWith("/livez/", StringComparison.Ordinal)
        || path.StartsWith("/readyz/", StringComparison.Ordinal);

    private bool Authorized(HttpRequest request) =>
        request.Header("Authorization") is { } auth
        && auth.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)
        && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(auth[7..].Trim()), Encoding.UTF8.GetBytes(options.Token!));

    private HttpResponse Get(string path, string[] segments, HttpRequest request)
    {
        switch (path)
        {
            case "/version":
                return Json(VersionInfo());
            case "/healthz" or "/livez" or "/readyz":
                return Health(path, request.Query.ContainsKey("verbose"));
            case "/api":
                return Json(new JsonObject
                {
                    ["kind"] = "APIVersions",
                    ["versions"] = new JsonArray("v1"),
                    ["serverAddressByClientCIDRs"] = new JsonArray(new JsonObject
                    {
                        ["clientCIDR"] = "0.0.0.0/0",
                        ["serverAddress"] = $"127.0.0.1:{server.Port}",
                    }),
                });
            case "/apis":
                return Json(new JsonObject
                {
                    ["kind"] = "APIGroupList",
                    ["apiVersion"] = "v1",
                    ["groups"] = new JsonArray(AppsGroup()),
                });
            case "/apis/apps":
                return Json(AppsGroup());
            case "/api/v1":
                return Json(ResourceList("", "v1"));
            case "/apis/apps/v1":
                return Json(ResourceList("apps", "v1"));
        }
        if (path.StartsWith("/healthz/", StringComparison.Ordinal) || path.StartsWith("/livez/", StringComparison.Ordinal) || path.StartsWith("/readyz/", StringComparison.Ordinal))
        {
            var check = path[(path.IndexOf('/', 1) + 1)..];
            return HealthChecks.Contains(check) ? HttpResponse.Text(200, "ok") : Status(404, "NotFound", "the server could not find the requested resource");
        }

        if (TryResolveCollection(segments, out var resource, out var ns))
        {
            var labels = LabelSelector.Parse(request.QueryValue("labelSelector"));
            var fields = FieldSelector.Parse(request.QueryValue("fieldSelector"));
            var (items, resourceVersion) = state.List(resource.Plural, ns, labels, fields);
            if (Tables.Requested(request.Header("Accept")))
            {
                return Json(Tables.Build(resource.Plural, items, resourceVersion));
            }
            var list = new JsonObject
            {
                ["kind"] = resource.Kind + "List",
                ["apiVersion"] = resource.ApiVersion,
                ["metadata"] = new JsonObject { ["resourceVersion"] = resourceVersion.ToString() },
                ["items"] = new JsonArray(items.Cast<JsonNode>().ToArray()),
            };
            return Json(list);
        }
        if (TryResolveObject(segments, out resource, out ns, out var name))
        {
            if (state.Get(resource.Plural, ns, name) is not { } obj)
            {
                return NotFound(resource, name);
            }
            return Tables.Requested(request.Header("Accept"))
                ? Json(Tables.Build(resource.Plural, [obj], long.Parse(obj["metadata"]!["resourceVersion"]!.GetValue<string>())))
                : Json(obj);
        }
        return Status(404, "NotFound", "the server could not find the requested resource");
    }

    private HttpResponse Delete(string[] segments)
    {
        if (!TryResolveObject(segments, out var resource, out var ns, out var name))
        {
            return Status(404, "NotFound", "the server could not find the requested resource");
        }
        if (resource.Plural != "pods")
        {
            return Status(405, "MethodNotAllowed", $"this test server only deletes pods, not {resource.Plural}");
        }
        var pod = state.Get("pods", ns, name);
        if (pod is null || !server.DeletePod(name, ns!))
        {
            return NotFound(resource, name);
        }
        return Json(pod);
    }

    private static bool TryResolveCollection(string[] segments, out ResourceInfo resource, out string? ns)
    {
        resource = null!;
        ns = null;
        var rest = GroupVersionRest(segments, out var group, out var version);
        if (rest is null)
        {
            return false;
        }
        if (rest is [var plural] && Find(group, version, plural) is { } all)
        {
            resource = all;
            return true;
        }
        if (rest is ["namespaces", var namespaceName, var nsPlural] && Find(group, version, nsPlural) is { Namespaced: true } namespaced)
        {
            resource = namespaced;
            ns = namespaceName;
            return true;
        }
        return false;
    }

    private static bool TryResolveObject(string[] segments, out ResourceInfo resource, out string? ns, out string name)
    {
        resource = null!;
        ns = null;
        name = "";
        var rest = GroupVersionRest(segments, out var group, out var version);
        if (rest is [var plural, var clusterName] && Find(group, version, plural) is { Namespaced: false } clusterScoped)
        {
            resource = clusterScoped;
            name = clusterName;
            return true;
        }
        if (rest is ["namespaces", var namespaceName, var nsPlural, var objectName] && Find(group, version, nsPlural) is { Namespaced: true } namespaced)
        {
            resource = namespaced;
            ns = namespaceName;
            name = objectName;
            return true;
        }
        return false;
    }

    private static string[]? GroupVersionRest(string[] segments, out string group, out string version)
    {
        switch (segments)
        {
            case ["api", "v1", .. var coreRest]:
                (group, version) = ("", "v1");
                return coreRest;
            case ["apis", var g, var v, .. var groupRest]:
                (group, version) = (g, v);
                return groupRest;
            default:
                (group, version) = ("", "");
                return null;
        }
    }

    private static ResourceInfo? Find(string group, string version, string plural) =>
        Resources.FirstOrDefault(r => r.Group == group && r.Version == version && r.Plural == plural);

    private async Task<Disposition> WatchAsync(HttpConnection connection, HttpRequest request, ResourceInfo resource, string? ns, CancellationToken ct)
    {
        var rv = request.QueryValue("resourceVersion");
        var watcher = state.Watch(resource.Plural, ns, LabelSelector.Parse(request.QueryValue("labelSelector")),
            FieldSelector.Parse(request.QueryValue("fieldSelector")), sendInitial: string.IsNullOrEmpty(rv) || rv == "0");
        using var watchCts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        if (int.TryParse(request.QueryValue("timeoutSeconds"), out var seconds) && seconds > 0)
        {
            watchCts.CancelAfter(TimeSpan.FromSeconds(seconds));
        }
        // The client closing its end is the only other way out: watch for that.
        _ = Task.Run(async () =>
        {
            try
            {
                var probe = new byte[1];
                while (await connection.Stream.ReadAsync(probe, watchCts.Token) > 0)
                {
                }
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException or IOException)
            {
            }
            try
            {
                watchCts.Cancel();
            }
            catch (ObjectDisposedException)
            {
            }
        });
        try
        {
            await connection.WriteHeadAsync(200, [new("Content-Type", "application/json"), new("Transfer-Encoding", "chunked"), new("Date", DateTime.UtcNow.ToString("R"))], ct);
            var asTable = Tables.Requested(request.Header("Accept"));
            await foreach (var change in watcher.Events.Reader.ReadAllAsync(watchCts.Token))
            {
                var obj = asTable
                    ? Tables.Build(resource.Plural, [change.Object], long.Parse(change.Object["metadata"]!["resourceVersion"]!.GetValue<string>()))
                    : change.Object;
                var line = new JsonObject { ["type"] = change.Type, ["object"] = obj }.ToJsonString() + "\n";
                await connection.WriteChunkAsync(Encoding.UTF8.GetBytes(line), watchCts.Token);
            }
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            try
            {
                await connection.WriteChunkAsync(ReadOnlyMemory<byte>.Empty, ct);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException or IOException)
            {
            }
        }
        finally
        {
            state.Unwatch(watcher);
        }
        return Disposition.Close;
    }

    private async Task<Disposition> PortForwardAsync(HttpConnection connection, HttpRequest request, string ns, string name, CancellationToken ct)
    {
        async Task<Disposition> Refuse(HttpResponse response)
        {
            await connection.WriteResponseAsync(response, keepAlive: false, ct);
            return Disposition.Close;
        }

        if (request.Method is not ("GET" or "POST"))
        {
            return await Refuse(Status(405, "MethodNotAllowed", $"port-forward needs GET or POST, not {request.Method}"));
        }
        var pod = state.FindPod(ns, name);
        if (pod is null)
        {
            return await Refuse(NotFound(Resources.First(r => r.Plural == "pods"), name));
        }

        var socket = connection.Socket;
        IFrameTransport transport;
        PortForwardProtocolKind kind;
        if (request.HeaderHasToken("Upgrade", "websocket"))
        {
            var offered = (request.Header("Sec-WebSocket-Protocol") ?? "").Split(',').Select(p => p.Trim()).ToArray();
            if (!options.EnableWebSocketPortForward)
            {
                server.LogLine($"port-forward {ns}/{name}: refusing the WebSocket upgrade (disabled), kubectl should fall back to SPDY");
                return await Refuse(Status(400, "BadRequest", "WebSocket port-forward is disabled on this test server"));
            }
            if (!offered.Contains(WebSocketTunnelProtocol) || request.Header("Sec-WebSocket-Key") is not { } key)
            {
                return await Refuse(Status(400, "BadRequest", $"unable to upgrade: no supported WebSocket subprotocol in [{string.Join(", ", offered)}]"));
            }
            var accept = Convert.ToBase64String(SHA1.HashData(Encoding.ASCII.GetBytes(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")));
            await connection.WriteHeadAsync(101,
            [
                new("Upgrade", "websocket"),
                new("Connection", "Upgrade"),
                new("Sec-WebSocket-Accept", accept),
                new("Sec-WebSocket-Protocol", WebSocketTunnelProtocol),
            ], ct);
            var stream = new PrefixedStream(connection.Stream, connection.TakeBuffered());
            var webSocket = WebSocket.CreateFromStream(stream, new WebSocketCreationOptions
            {
                IsServer = true,
                // The 101 above already named the subprotocol; .NET would reject its '/' as a token character.
                KeepAliveInterval = TimeSpan.Zero,
            });
            transport = new WebSocketFrameTransport(webSocket, socket);
            kind = PortForwardProtocolKind.WebSocket;
        }
        else if (request.HeaderHasToken("Upgrade", "SPDY/3.1"))
        {
            if (!options.EnableSpdyPortForward)
            {
                return await Refuse(Status(400, "BadRequest", "SPDY port-forward is disabled on this test server"));
            }
            var versions = (request.Header("X-Stream-Protocol-Version") ?? "").Split(',').Select(p => p.Trim()).Where(p => p.Length > 0).ToArray();
            if (versions.Length > 0 && !versions.Contains(PortForwardProtocol))
            {
                return await Refuse(Status(403, "Forbidden",
                    $"unable to upgrade connection: unable to negotiate protocol: client supports [{string.Join(" ", versions)}], server accepts [{PortForwardProtocol}]"));
            }
            await connection.WriteHeadAsync(101,
            [
                new("Connection", "Upgrade"),
                new("Upgrade", "SPDY/3.1"),
                new("X-Stream-Protocol-Version", PortForwardProtocol),
                new("Date", DateTime.UtcNow.ToString("R")),
            ], ct);
            transport = new TcpFrameTransport(socket, connection.Stream, connection.TakeBuffered());
            kind = PortForwardProtocolKind.Spdy;
        }
        else
        {
            return await Refuse(Status(400, "BadRequest", "Upgrade request required"));
        }
        server.StartPortForwardSession(pod, transport, kind, socket);
        return Disposition.Upgraded;
    }

    private JsonObject VersionInfo()
    {
        var version = options.KubernetesVersion.TrimStart('v');
        var parts = version.Split('.');
        return new JsonObject
        {
            ["major"] = parts[0],
            ["minor"] = parts.Length > 1 ? parts[1] : "0",
            ["gitVersion"] = options.KubernetesVersion,
            ["gitCommit"] = "0000000000000000000000000000000000000000",
            ["gitTreeState"] = "clean",
            ["buildDate"] = "2024-12-11T00:00:00Z",
            ["goVersion"] = "go1.23.4",
            ["compiler"] = "gc",
            ["platform"] = "linux/amd64",
        };
    }

    private static HttpResponse Health(string path, bool verbose)
    {
        if (!verbose)
        {
            return HttpResponse.Text(200, "ok");
        }
        var text = new StringBuilder();
        foreach (var check in HealthChecks)
        {
            text.Append($"[+]{check} ok\n");
        }
        text.Append($"{path.TrimStart('/')} check passed\n");
        return HttpResponse.Text(200, text.ToString());
    }

    private static JsonObject AppsGroup() => new()
    {
        ["kind"] = "APIGroup",
        ["apiVersion"] = "v1",
        ["name"] = "apps",
        ["versions"] = new JsonArray(new JsonObject { ["groupVersion"] = "apps/v1", ["version"] = "v1" }),
        ["preferredVersion"] = new JsonObject { ["groupVersion"] = "apps/v1", ["version"] = "v1" },
    };

    private static JsonObject ResourceList(string group, string version)
    {
        var list = new JsonArray();
        foreach (var r in Resources.Where(r => r.Group == group && r.Version == version))
        {
            var entry = new JsonObject
            {
                ["name"] = r.Plural,
                ["singularName"] = r.Singular,
                ["namespaced"] = r.Namespaced,
                ["kind"] = r.Kind,
                ["verbs"] = new JsonArray(r.Verbs.Select(v => (JsonNode)v).ToArray()),
            };
            if (r.ShortNames.Length > 0)
            {
                entry["shortNames"] = new JsonArray(r.ShortNames.Select(v => (JsonNode)v).ToArray());
            }
            if (r.Categories.Length > 0)
            {
                entry["categories"] = new JsonArray(r.Categories.Select(v => (JsonNode)v).ToArray());
            }
            list.Add(entry);
            if (r.Plural == "pods")
            {
                list.Add(new JsonObject
                {
                    ["name"] = "pods/portforward",
                    ["singularName"] = "",
                    ["namespaced"] = true,
                    ["kind"] = "PodPortForwardOptions",
                    ["verbs"] = new JsonArray("create", "get"),
                });
            }
        }
        return new JsonObject
        {
            ["kind"] = "APIResourceList",
            ["apiVersion"] = "v1",
            ["groupVersion"] = group.Length == 0 ? version : $"{group}/{version}",
            ["resources"] = list,
        };
    }

    private static HttpResponse Json(JsonObject obj) => HttpResponse.Json(200, obj.ToJsonString());

    private static HttpResponse Status(int code, string reason, string message) =>
        HttpResponse.Json(code, KubeJson.Status(code, reason, message).ToJsonString());

    private static HttpResponse NotFound(ResourceInfo resource, string name) =>
        HttpResponse.Json(404, KubeJson.Status(404, "NotFound",
            $"{(resource.Group.Length == 0 ? resource.Plural : $"{resource.Plural}.{resource.Group}")} \"{name}\" not found",
            resource.Plural, name, resource.Group.Length == 0 ? null : resource.Group).ToJsonString());
}

/// <summary>A connection stream that first replays bytes already buffered by the HTTP parser.</summary>
internal sealed class PrefixedStream(Stream inner, byte[] prefix) : Stream
{
    private readonly Stream _inner = inner;
    private byte[] _prefix = prefix;

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct = default)
    {
        if (_prefix.Length > 0)
        {
            var n = Math.Min(buffer.Length, _prefix.Length);
            _prefix.AsMemory(0, n).CopyTo(buffer);
            _prefix = _prefix[n..];
            return n;
        }
        return await _inner.ReadAsync(buffer, ct);
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken ct) => ReadAsync(buffer.AsMemory(offset, count), ct).AsTask();

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer, offset, count, CancellationToken.None).GetAwaiter().GetResult();

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken ct = default) => _inner.WriteAsync(buffer, ct);

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken ct) => _inner.WriteAsync(buffer, offset, count, ct);

    public override void Write(byte[] buffer, int offset, int count) => _inner.Write(buffer, offset, count);

    public override Task FlushAsync(CancellationToken ct) => _inner.FlushAsync(ct);

    public override void Flush() => _inner.Flush();

    public override bool CanRead => true;
    public override bool CanWrite => true;
    public override bool CanSeek => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _inner.Dispose();
        }
        base.Dispose(disposing);
    }
}
