using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using LocalPort.TestKube.Cluster;

namespace LocalPort.TestKube;

/// <summary>A container port of a test pod and the loopback server its traffic is relayed to (null: connections are refused).</summary>
public sealed record PodPort(int ContainerPort, IPEndPoint? Upstream, string? Name = null);

/// <summary>A service port: <paramref name="Port"/> on the service, forwarded to <paramref name="TargetPort"/> (default: the same number) or the named container port <paramref name="TargetPortName"/>.</summary>
public sealed record ServicePortSpec(int Port, int? TargetPort = null, string? Name = null, string? TargetPortName = null);

/// <summary>A read-only view of a pod, as tests see it.</summary>
public sealed record PodInfo(string Namespace, string Name, string Uid, IReadOnlyDictionary<string, string> Labels, IReadOnlyList<PodPort> Ports);

internal abstract class KubeObject
{
    public required string Name { get; init; }
    public string? Namespace { get; init; }
    public string Uid { get; init; } = Guid.NewGuid().ToString();
    public IReadOnlyDictionary<string, string> Labels { get; init; } = new Dictionary<string, string>();
    public DateTimeOffset Created { get; init; } = DateTimeOffset.UtcNow;
    public long ResourceVersion { get; set; }

    public abstract string Resource { get; }

    public abstract JsonObject ToJson(ClusterState state);

    protected JsonObject Metadata(params (string Key, JsonNode? Value)[] extra)
    {
        var metadata = new JsonObject { ["name"] = Name };
        if (Namespace is not null)
        {
            metadata["namespace"] = Namespace;
        }
        metadata["uid"] = Uid;
        metadata["resourceVersion"] = ResourceVersion.ToString();
        metadata["creationTimestamp"] = KubeJson.Time(Created);
        if (Labels.Count > 0)
        {
            metadata["labels"] = KubeJson.Map(Labels);
        }
        foreach (var (key, value) in extra)
        {
            metadata[key] = value;
        }
        return metadata;
    }
}

internal sealed class PodRecord : KubeObject
{
    public override string Resource => "pods";
    public required IReadOnlyList<PodPort> Ports { get; init; }
    public required string NodeName { get; init; }
    public string ContainerName { get; init; } = "app";
    public string Image { get; init; } = "testkube/upstream:latest";

    /// <summary>A containerd-style sandbox id (64 hex), as the kubelet names the pod in port-forward errors.</summary>
    public string SandboxId => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Uid)));

    public IPEndPoint? UpstreamFor(int port) => Ports.FirstOrDefault(p => p.ContainerPort == port)?.Upstream;

    public PodInfo ToInfo() => new(Namespace!, Name, Uid, Labels, Ports);

    public override JsonObject ToJson(ClusterState state)
    {
        var started = KubeJson.Time(Created);
        var ports = new JsonArray();
        foreach (var port in Ports)
        {
            var p = new JsonObject { ["containerPort"] = port.ContainerPort, ["protocol"] = "TCP" };
            if (port.Name is not null)
            {
                p["name"] = port.Name;
            }
            ports.Add(p);
        }
        JsonArray Conditions() => new(
            new[] { "PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled" }
                .Select(type => (JsonNode)new JsonObject { ["type"] = type, ["status"] = "True", ["lastProbeTime"] = null, ["lastTransitionTime"] = started })
                .ToArray());
        return new JsonObject
        {
            ["kind"] = "Pod",
            ["apiVersion"] = "v1",
            ["metadata"] = Metadata(),
            ["spec"] = new JsonObject
            {
                ["containers"] = new JsonArray(new JsonObject
                {
                    ["name"] = ContainerName,
                    ["image"] = Image,
                    ["ports"] = ports,
                    ["imagePullPolicy"] = "IfNotPresent",
                }),
                ["restartPolicy"] = "Always",
                ["nodeName"] = NodeName,
                ["schedulerName"] = "default-scheduler",
            },
            ["status"] = new JsonObject
            {
                ["phase"] = "Running",
                ["conditions"] = Conditions(),
                ["hostIP"] = "127.0.0.1",
                ["podIP"] = "127.0.0.1",
                ["podIPs"] = new JsonArray(new JsonObject { ["ip"] = "127.0.0.1" }),
                ["startTime"] = started,
                ["containerStatuses"] = new JsonArray(new JsonObject
                {
                    ["name"] = ContainerName,
                    ["state"] = new JsonObject { ["running"] = new JsonObject { ["startedAt"] = started } },
                    ["lastState"] = new JsonObject(),
                    ["ready"] = true,
                    ["started"] = true,
                    ["restartCount"] = 0,
                    ["image"] = Image,
                    ["imageID"] = "testkube://" + Image,
                    ["containerID"] = "containerd://" + SandboxId,
                }),
                ["qosClass"] = "BestEffort",
            },
        };
    }
}

internal sealed class ServiceRecord : KubeObject
{
    public override string Resource => "services";
    public required IReadOnlyDictionary<string, string> Selector { get; init; }
    public required IReadOnlyList<ServicePortSpec> Ports { get; init; }
    public required string ClusterIp { get; init; }

    public override JsonObject ToJson(ClusterState state)
    {
        var ports = new JsonArray();
        foreach (var port in Ports)
        {
            var p = new JsonObject { ["protocol"] = "TCP", ["port"] = port.Port };
            if (port.Name is not null)
            {
                p["name"] = port.Name;
            }
            p["targetPort"] = port.TargetPortName is not null ? JsonValue.Create(port.TargetPortName) : JsonValue.Create(port.TargetPort ?? port.Port);
            ports.Add(p);
        }
        return new JsonObject
        {
            ["kind"] = "Service",
            ["apiVersion"] = "v1",
            ["metadata"] = Metadata(),
            ["spec"] = new JsonObject
            {
                ["ports"] = ports,
                ["selector"] = KubeJson.Map(Selector),
                ["clusterIP"] = ClusterIp,
                ["clusterIPs"] = new JsonArray(ClusterIp),
                ["type"] = "ClusterIP",
                ["sessionAffinity"] = "None",
            },
            ["status"] = new JsonObject { ["loadBalancer"] = new JsonObject() },
        };
    }
}

internal sealed class WorkloadRecord : KubeObject
{
    public required string Kind { get; init; }
    public required IReadOnlyDictionary<string, string> Selector { get; init; }
    public int? Replicas { get; init; }

    public override string Resource => Kind == "Deployment" ? "deployments" : "statefulsets";

    public override JsonObject ToJson(ClusterState state)
    {
        var pods = state.PodsMatchingUnlocked(Namespace!, Selector);
        var replicas = Replicas ?? pods.Count;
        var ports = new JsonArray();
        foreach (var port in pods.SelectMany(p => p.Ports).DistinctBy(p => p.ContainerPort))
        {
            var p = new JsonObject { ["containerPort"] = port.ContainerPort, ["protocol"] = "TCP" };
            if (port.Name is not null)
            {
                p["name"] = port.Name;
            }
            ports.Add(p);
        }
        var spec = new JsonObject
        {
            ["replicas"] = replicas,
            ["selector"] = new JsonObject { ["matchLabels"] = KubeJson.Map(Selector) },
            ["template"] = new JsonObject
            {
                ["metadata"] = new JsonObject { ["labels"] = KubeJson.Map(Selector) },
                ["spec"] = new JsonObject
                {
                    ["containers"] = new JsonArray(new JsonObject { ["name"] = "app", ["image"] = "testkube/upstream:latest", ["ports"] = ports }),
                },
            },
        };
        if (Kind == "StatefulSet")
        {
            spec["serviceName"] = Name;
            spec["podManagementPolicy"] = "OrderedReady";
        }
        else
        {
            spec["strategy"] = new JsonObject { ["type"] = "RollingUpdate" };
        }
        return new JsonObject
        {
            ["kind"] = Kind,
            ["apiVersion"] = "apps/v1",
            ["metadata"] = Metadata(("generation", 1)),
            ["spec"] = spec,
            ["status"] = new JsonObject
            {
                ["observedGeneration"] = 1,
                ["replicas"] = pods.Count,
                ["readyReplicas"] = pods.Count,
                ["availableReplicas"] = pods.Count,
                ["updatedReplicas"] = pods.Count,
                ["currentReplicas"] = pods.Count,
            },
        };
    }
}

internal sealed class EventRecord : KubeObject
{
    public override string Resource => "events";
    public required string InvolvedKind { get; init; }
    public required string InvolvedName { get; init; }
    public required string InvolvedUid { get; init; }
    public required string Reason { get; init; }
    public required string Message { get; init; }
    public string Type { get; init; } = "Normal";
    public string Component { get; init; } = "kubelet";
    public required string Host { get; init; }

    public override JsonObject ToJson(ClusterState state) => new()
    {
        ["kind"] = "Event",
        ["apiVersion"] = "v1",
        ["metadata"] = Metadata(),
        ["involvedObject"] = new JsonObject
        {
            ["kind"] = InvolvedKind,
            ["namespace"] = Namespace,
            ["name"] = InvolvedName,
            ["uid"] = InvolvedUid,
            ["apiVersion"] = "v1",
        },
        ["reason"] = Reason,
        ["message"] = Message,
        ["source"] = new JsonObject { ["component"] = Component, ["host"] = Host },
        ["firstTimestamp"] = KubeJson.Time(Created),
        ["lastTimestamp"] = KubeJson.Time(Created),
        ["count"] = 1,
        ["type"] = Type,
        ["eventTime"] = null,
        ["reportingComponent"] = Component,
        ["reportingInstance"] = Host,
    };
}

internal sealed class NodeRecord : KubeObject
{
    public override string Resource => "nodes";
    public required string KubeletVersion { get; init; }

    public override JsonObject ToJson(ClusterState state)
    {
        var now = KubeJson.Time(DateTimeOffset.UtcNow);
        return new JsonObject
        {
            ["kind"] = "Node",
            ["apiVersion"] = "v1",
            ["metadata"] = Metadata(),
            ["spec"] = new JsonObject(),
            ["status"] = new JsonObject
            {
                ["conditions"] = new JsonArray(new JsonObject
                {
                    ["type"] = "Ready",
                    ["status"] = "True",
                    ["lastHeartbeatTime"] = now,
                    ["lastTransitionTime"] = KubeJson.Time(Created),
                    ["reason"] = "KubeletReady",
                    ["message"] = "kubelet is posting ready status",
                }),
                ["addresses"] = new JsonArray(
                    new JsonObject { ["type"] = "InternalIP", ["address"] = "127.0.0.1" },
                    new JsonObject { ["type"] = "Hostname", ["address"] = Name }),
                ["nodeInfo"] = new JsonObject
                {
                    ["machineID"] = "",
                    ["systemUUID"] = "",
                    ["bootID"] = "",
                    ["kernelVersion"] = Environment.OSVersion.Version.ToString(),
                    ["osImage"] = "LocalPort TestKube",
                    ["containerRuntimeVersion"] = "testkube://1.0.0",
                    ["kubeletVersion"] = KubeletVersion,
                    ["kubeProxyVersion"] = "",
                    ["operatingSystem"] = "linux",
                    ["architecture"] = "amd64",
                },
            },
        };
    }
}

internal sealed class NamespaceRecord : KubeObject
{
    public override string Resource => "namespaces";

    public override JsonObject ToJson(ClusterState state) => new()
    {
        ["kind"] = "Namespace",
        ["apiVersion"] = "v1",
        ["metadata"] = Metadata(),
        ["spec"] = new JsonObject { ["finalizers"] = new JsonArray("kubernetes") },
        ["status"] = new JsonObject { ["phase"] = "Active" },
    };
}

internal sealed record WatchEvent(string Type, JsonObject Object);

internal sealed class Watcher(string resource, string? ns, LabelSelector labels, FieldSelector fields)
{
    public string Resource { get; } = resource;
    public Channel<WatchEvent> Events { get; } = Channel.CreateUnbounded<WatchEvent>();

    public bool Wants(KubeObject obj) =>
        obj.Resource == Resource && (ns is null || obj.Namespace == ns) && labels.Matches(obj.Labels) && fields.Matches(obj.Namespace, obj.Name);
}

/// <summary>The objects of the test cluster. One lock; everything is small.</summary>
internal sealed class ClusterState
{
    private const int MaxEvents = 500;
    private readonly object _lock = new();
    private readonly Dictionary<(string Ns, string Name), PodRecord> _pods = [];
    private readonly Dictionary<(string Ns, string Name), ServiceRecord> _services = [];
    private readonly Dictionary<(string Ns, string Name), WorkloadRecord> _workloads = [];
    private readonly List<EventRecord> _events = [];
    private readonly Dictionary<string, NamespaceRecord> _namespaces = [];
    private readonly List<Watcher> _watchers = [];
    private readonly NodeRecord _node;
    private long _resourceVersion = 1000;
    private int _nextClusterIp = 10;
    private long _eventSequence;

    public ClusterState(string nodeName, string kubeletVersion)
    {
        _node = new NodeRecord
        {
            Name = nodeName,
            KubeletVersion = kubeletVersion,
            Labels = new Dictionary<string, string>
            {
                ["kubernetes.io/hostname"] = nodeName,
                ["kubernetes.io/os"] = "linux",
                ["kubernetes.io/arch"] = "amd64",
                ["node-role.kubernetes.io/control-plane"] = "",
            },
            ResourceVersion = NextVersion(),
        };
        foreach (var ns in new[] { "default", "kube-system", "kube-public", "kube-node-lease" })
        {
            EnsureNamespaceUnlocked(ns);
        }
    }

    public string NodeName => _node.Name;

    public long ResourceVersion
    {
        get
        {
            lock (_lock)
            {
                return _resourceVersion;
            }
        }
    }

    public PodRecord AddPod(string ns, string name, IReadOnlyDictionary<string, string> labels, IReadOnlyList<PodPort> ports)
    {
        lock (_lock)
        {
            if (_pods.ContainsKey((ns, name)))
            {
                throw new InvalidOperationException($"pod {ns}/{name} already exists");
            }
            EnsureNamespaceUnlocked(ns);
            var pod = new PodRecord
            {
                Namespace = ns,
                Name = name,
                Labels = new Dictionary<string, string>(labels),
                Ports = ports.ToArray(),
                NodeName = _node.Name,
                ResourceVersion = NextVersion(),
            };
            _pods[(ns, name)] = pod;
            NotifyUnlocked("ADDED", pod);
            RecordEventUnlocked(pod, "Scheduled", $"Successfully assigned {ns}/{name} to {_node.Name}", "default-scheduler");
            RecordEventUnlocked(pod, "Pulled", $"Container image \"{pod.Image}\" already present on machine");
            RecordEventUnlocked(pod, "Created", $"Created container: {pod.ContainerName}");
            RecordEventUnlocked(pod, "Started", $"Started container {pod.ContainerName}");
            TouchWorkloadsUnlocked(ns, pod.Labels);
            return pod;
        }
    }

    public PodRecord? RemovePod(string ns, string name)
    {
        lock (_lock)
        {
            if (!_pods.Remove((ns, name), out var pod))
            {
                return null;
            }
            pod.ResourceVersion = NextVersion();
            RecordEventUnlocked(pod, "Killing", $"Stopping container {pod.ContainerName}");
            NotifyUnlocked("DELETED", pod);
            TouchWorkloadsUnlocked(ns, pod.Labels);
            return pod;
        }
    }

    public PodRecord? FindPod(string ns, string name)
    {
        lock (_lock)
        {
            return _pods.GetValueOrDefault((ns, name));
        }
    }

    public void AddService(string ns, string name, IReadOnlyDictionary<string, string> selector, IReadOnlyList<ServicePortSpec> ports)
    {
        lock (_lock)
        {
            EnsureNamespaceUnlocked(ns);
            var service = new ServiceRecord
            {
                Namespace = ns,
                Name = name,
                Labels = new Dictionary<string, string> { ["app.kubernetes.io/name"] = name },
                Selector = new Dictionary<string, string>(selector),
                Ports = ports.ToArray(),
                ClusterIp = $"10.96.0.{_nextClusterIp++ % 250 + 2}",
                ResourceVersion = NextVersion(),
            };
            _services[(ns, name)] = service;
            NotifyUnlocked("ADDED", service);
        }
    }

    public void AddWorkload(string kind, string ns, string name, IReadOnlyDictionary<string, string> selector, int? replicas)
    {
        lock (_lock)
        {
            EnsureNamespaceUnlocked(ns);
            var workload = new WorkloadRecord
            {
                Kind = kind,
                Namespace = ns,
                Name = name,
                Labels = new Dictionary<string, string>(selector),
                Selector = new Dictionary<string, string>(selector),
                Replicas = replicas,
                ResourceVersion = NextVersion(),
            };
            _workloads[(ns, name + "/" + kind)] = workload;
            NotifyUnlocked("ADDED", workload);
        }
    }

    public IReadOnlyList<PodRecord> Pods(string? ns = null)
    {
        lock (_lock)
        {
            return _pods.Values.Where(p => ns is null || p.Namespace == ns).OrderBy(p => p.Namespace).ThenBy(p => p.Name).ToList();
        }
    }

    /// <summary>Caller holds the lock (used while rendering workloads).</summary>
    public List<PodRecord> PodsMatchingUnlocked(string ns, IReadOnlyDictionary<string, string> selector) =>
        _pods.Values.Where(p => p.Namespace == ns && selector.All(s => p.Labels.TryGetValue(s.Key, out var v) && v == s.Value)).ToList();

    /// <summary>A list of one resource's objects as JSON (under the lock, so the resourceVersion is consistent).</summary>
    public (List<JsonObject> Items, long ResourceVersion) List(string resource, string? ns, LabelSelector labels, FieldSelector fields)
    {
        lock (_lock)
        {
            var items = ObjectsUnlocked(resource)
                .Where(o => (ns is null || o.Namespace == ns) && labels.Matches(o.Labels) && fields.Matches(o.Namespace, o.Name))
                .OrderBy(o => o.Namespace, StringComparer.Ordinal).ThenBy(o => o.Name, StringComparer.Ordinal)
                .Select(o => o.ToJson(this))
                .ToList();
            return (items, _resourceVersion);
        }
    }

    public JsonObject? Get(string resource, string? ns, string name)
    {
        lock (_lock)
        {
            return ObjectsUnlocked(resource).FirstOrDefault(o => o.Namespace == ns && o.Name == name)?.ToJson(this);
        }
    }

    /// <summary>Subscribes a watcher; with <paramref name="sendInitial"/> the current objects arrive first as ADDED.</summary>
    public Watcher Watch(string resource, string? ns, LabelSelector labels, FieldSelector fields, bool sendInitial)
    {
        lock (_lock)
        {
            var watcher = new Watcher(resource, ns, labels, fields);
            if (sendInitial)
            {
                foreach (var obj in ObjectsUnlocked(resource).Where(watcher.Wants))
                {
                    watcher.Events.Writer.TryWrite(new WatchEvent("ADDED", obj.ToJson(this)));
                }
            }
            _watchers.Add(watcher);
            return watcher;
        }
    }

    public void Unwatch(Watcher watcher)
    {
        lock (_lock)
        {
            _watchers.Remove(watcher);
        }
        watcher.Events.Writer.TryComplete();
    }

    private IEnumerable<KubeObject> ObjectsUnlocked(string resource) => resource switch
    {
        "pods" => _pods.Values,
        "services" => _services.Values,
        "deployments" => _workloads.Values.Where(w => w.Kind == "Deployment"),
        "statefulsets" => _workloads.Values.Where(w => w.Kind == "StatefulSet"),
        "events" => _events,
        "nodes" => [_node],
        "namespaces" => _namespaces.Values,
        _ => [],
    };

    private long NextVersion() => ++_resourceVersion;

    private void EnsureNamespaceUnlocked(string ns)
    {
        if (!_namespaces.ContainsKey(ns))
        {
            var record = new NamespaceRecord
            {
                Name = ns,
                Labels = new Dictionary<string, string> { ["kubernetes.io/metadata.name"] = ns },
                ResourceVersion = NextVersion(),
            };
            _namespaces[ns] = record;
            NotifyUnlocked("ADDED", record);
        }
    }

    private void TouchWorkloadsUnlocked(string ns, IReadOnlyDictionary<string, string> podLabels)
    {
        foreach (var workload in _workloads.Values.Where(w => w.Namespace == ns && w.Selector.All(s => podLabels.TryGetValue(s.Key, out var v) && v == s.Value)))
        {
            workload.ResourceVersion = NextVersion();
            NotifyUnlocked("MODIFIED", workload);
        }
    }

    private void RecordEventUnlocked(PodRecord pod, string reason, string message, string component = "kubelet")
    {
        var record = new EventRecord
        {
            Namespace = pod.Namespace,
            // Like the kubelet's names: the object's name and a hex timestamp, so names sort by time.
            Name = $"{pod.Name}.{++_eventSequence + DateTime.UtcNow.Ticks * 100:x}",
            InvolvedKind = "Pod",
            InvolvedName = pod.Name,
            InvolvedUid = pod.Uid,
            Reason = reason,
            Message = message,
            Component = component,
            Host = _node.Name,
            ResourceVersion = NextVersion(),
        };
        _events.Add(record);
        if (_events.Count > MaxEvents)
        {
            _events.RemoveAt(0);
        }
        NotifyUnlocked("ADDED", record);
    }

    private void NotifyUnlocked(string type, KubeObject obj)
    {
        JsonObject? json = null;
        foreach (var watcher in _watchers.Where(w => w.Wants(obj)))
        {
            json ??= obj.ToJson(this);
            watcher.Events.Writer.TryWrite(new WatchEvent(type, (JsonObject)json.DeepClone()));
        }
    }
}

internal static class KubeJson
{
    public static string Time(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture);

    public static JsonObject Map(IReadOnlyDictionary<string, string> map)
    {
        var obj = new JsonObject();
        foreach (var (key, value) in map.OrderBy(m => m.Key, StringComparer.Ordinal))
        {
            obj[key] = value;
        }
        return obj;
    }

    public static JsonObject Status(int code, string reason, string message, string? kind = null, string? name = null, string? group = null)
    {
        var status = new JsonObject
        {
            ["kind"] = "Status",
            ["apiVersion"] = "v1",
            ["metadata"] = new JsonObject(),
            ["status"] = "Failure",
            ["message"] = message,
            ["reason"] = reason,
            ["code"] = code,
        };
        if (kind is not null || name is not null)
        {
            var details = new JsonObject();
            if (name is not null)
            {
                details["name"] = name;
            }
            if (group is not null)
            {
                details["group"] = group;
            }
            if (kind is not null)
            {
                details["kind"] = kind;
            }
            status["details"] = details;
        }
        return status;
    }
}
