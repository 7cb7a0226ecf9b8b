using System.Text.Json.Nodes;

namespace LocalPort.TestKube.Cluster;

/// <summary>
/// Server-side printing (<c>Accept: application/json;as=Table;v=v1;g=meta.k8s.io</c>), which
/// kubectl get asks for: the columns a real API server returns for each resource. Without it
/// kubectl would fall back to NAME and AGE only.
/// </summary>
internal static class Tables
{
    private sealed record Column(string Name, string Type, int Priority, Func<JsonObject, JsonNode?> Cell, string Format = "");

    private static readonly Dictionary<string, Column[]> Columns = new()
    {
        ["pods"] =
        [
            NameColumn(),
            new("Ready", "string", 0, o => $"{Count(o, "status.containerStatuses", s => s["ready"]?.GetValue<bool>() == true)}/{Count(o, "spec.containers", _ => true)}"),
            new("Status", "string", 0, o => Str(o, "status.phase")),
            new("Restarts", "string", 0, o => "0"),
            AgeColumn(),
            new("IP", "string", 1, o => Str(o, "status.podIP")),
            new("Node", "string", 1, o => Str(o, "spec.nodeName")),
            new("Nominated Node", "string", 1, o => "<none>"),
            new("Readiness Gates", "string", 1, o => "<none>"),
        ],
        ["nodes"] =
        [
            NameColumn(),
            new("Status", "string", 0, o => "Ready"),
            new("Roles", "string", 0, o => "control-plane"),
            AgeColumn(),
            new("Version", "string", 0, o => Str(o, "status.nodeInfo.kubeletVersion")),
            new("Internal-IP", "string", 1, o => "127.0.0.1"),
            new("External-IP", "string", 1, o => "<none>"),
            new("OS-Image", "string", 1, o => Str(o, "status.nodeInfo.osImage")),
            new("Container-Runtime", "string", 1, o => Str(o, "status.nodeInfo.containerRuntimeVersion")),
        ],
        ["events"] =
        [
            new("Last Seen", "string", 0, o => Age(Str(o, "lastTimestamp"))),
            new("Type", "string", 0, o => Str(o, "type")),
            new("Reason", "string", 0, o => Str(o, "reason")),
            new("Object", "string", 0, o => $"{Str(o, "involvedObject.kind").ToLowerInvariant()}/{Str(o, "involvedObject.name")}"),
            new("Subobject", "string", 1, o => ""),
            new("Source", "string", 1, o => $"{Str(o, "source.component")}, {Str(o, "source.host")}"),
            new("Message", "string", 0, o => Str(o, "message")),
            new("First Seen", "string", 1, o => Age(Str(o, "firstTimestamp"))),
            new("Count", "string", 1, o => "1"),
            NameColumn(priority: 1),
        ],
        ["services"] =
        [
            NameColumn(),
            new("Type", "string", 0, o => Str(o, "spec.type")),
            new("Cluster-IP", "string", 0, o => Str(o, "spec.clusterIP")),
            new("External-IP", "string", 0, o => "<none>"),
            new("Port(s)", "string", 0, o => string.Join(",", (o["spec"]?["ports"]?.AsArray() ?? []).Select(p => $"{p?["port"]}/{p?["protocol"]}"))),
            AgeColumn(),
            new("Selector", "string", 1, o => Selector(o["spec"]?["selector"])),
        ],
        ["deployments"] =
        [
            NameColumn(),
            new("Ready", "string", 0, o => $"{Str(o, "status.readyReplicas", "0")}/{Str(o, "spec.replicas", "0")}"),
            new("Up-to-date", "integer", 0, o => Int(o, "status.updatedReplicas")),
            new("Available", "integer", 0, o => Int(o, "status.availableReplicas")),
            AgeColumn(),
            new("Containers", "string", 1, o => "app"),
            new("Images", "string", 1, o => "testkube/upstream:latest"),
            new("Selector", "string", 1, o => Selector(o["spec"]?["selector"]?["matchLabels"])),
        ],
        ["statefulsets"] =
        [
            NameColumn(),
            new("Ready", "string", 0, o => $"{Str(o, "status.readyReplicas", "0")}/{Str(o, "spec.replicas", "0")}"),
            AgeColumn(),
            new("Containers", "string", 1, o => "app"),
            new("Images", "string", 1, o => "testkube/upstream:latest"),
        ],
        ["namespaces"] =
        [
            NameColumn(),
            new("Status", "string", 0, o => Str(o, "status.phase")),
            AgeColumn(),
        ],
    };

    /// <summary>True if the Accept header asks for a Table (kubectl get's human-readable output).</summary>
    public static bool Requested(string? accept) => accept?.Contains("as=Table", StringComparison.Ordinal) == true;

    public static JsonObject Build(string resource, IEnumerable<JsonObject> items, long resourceVersion)
    {
        var columns = Columns.TryGetValue(resource, out var known) ? known : [NameColumn(), AgeColumn()];
        var definitions = new JsonArray();
        foreach (var column in columns)
        {
            definitions.Add(new JsonObject
            {
                ["name"] = column.Name,
                ["type"] = column.Type,
                ["format"] = column.Format,
                ["description"] = column.Name,
                ["priority"] = column.Priority,
            });
        }
        var rows = new JsonArray();
        foreach (var item in items)
        {
            var cells = new JsonArray();
            foreach (var column in columns)
            {
                cells.Add(column.Cell(item));
            }
            rows.Add(new JsonObject
            {
                ["cells"] = cells,
                ["object"] = new JsonObject
                {
                    ["kind"] = "PartialObjectMetadata",
                    ["apiVersion"] = "meta.k8s.io/v1",
                    ["metadata"] = item["metadata"]?.DeepClone(),
                },
            });
        }
        return new JsonObject
        {
            ["kind"] = "Table",
            ["apiVersion"] = "meta.k8s.io/v1",
            ["metadata"] = new JsonObject { ["resourceVersion"] = resourceVersion.ToString() },
            ["columnDefinitions"] = definitions,
            ["rows"] = rows,
        };
    }

    /// <summary>Like the API server's duration.HumanDuration: 45s, 3m12s, 40m, 5h12m, 3d.</summary>
    public static string HumanDuration(TimeSpan d)
    {
        if (d < TimeSpan.Zero)
        {
            d = TimeSpan.Zero;
        }
        var seconds = (long)d.TotalSeconds;
        if (seconds < 120)
        {
            return $"{seconds}s";
        }
        var minutes = seconds / 60;
        if (minutes < 10)
        {
            return seconds % 60 == 0 ? $"{minutes}m" : $"{minutes}m{seconds % 60}s";
        }
        if (minutes < 180)
        {
            return $"{minutes}m";
        }
        var hours = minutes / 60;
        if (hours < 8)
        {
            return minutes % 60 == 0 ? $"{hours}h" : $"{hours}h{minutes % 60}m";
        }
        return hours < 48 ? $"{hours}h" : $"{hours / 24}d";
    }

    private static Column NameColumn(int priority = 0) => new("Name", "string", priority, o => Str(o, "metadata.name"), "name");

    private static Column AgeColumn() => new("Age", "string", 0, o => Age(Str(o, "metadata.creationTimestamp")));

    private static string Age(string timestamp) =>
        DateTimeOffset.TryParse(timestamp, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var time)
            ? HumanDuration(DateTimeOffset.UtcNow - time)
            : "<unknown>";

    private static JsonNode? At(JsonObject obj, string path)
    {
        JsonNode? node = obj;
        foreach (var part in path.Split('.'))
        {
            node = node is JsonObject o ? o[part] : null;
        }
        return node;
    }

    private static string Str(JsonObject obj, string path, string missing = "<none>") =>
        At(obj, path) is JsonValue value ? value.ToString() : missing;

    private static long Int(JsonObject obj, string path) => At(obj, path) is JsonValue value && long.TryParse(value.ToString(), out var n) ? n : 0;

    private static int Count(JsonObject obj, string path, Func<JsonNode, bool> predicate) =>
        At(obj, path) is JsonArray array ? array.Count(n => n is not null && predicate(n)) : 0;

    private static string Selector(JsonNode? map) =>
        map is JsonObject labels && labels.Count > 0 ? string.Join(",", labels.Select(l => $"{l.Key}={l.Value}")) : "<none>";
}
