using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using LocalPort.Actors.Services;

namespace LocalPort.Control;

/// <summary>The stable JSON shapes of the control API and of `-o json` output (documented in the README).</summary>
public sealed record ServiceView(
    string Name,
    string Technology,
    string State,
    bool? Healthy,
    int Restarts,
    int LocalPort,
    int? Pid,
    string? LastError,
    DateTimeOffset Since,
    DateTimeOffset? NextAttempt = null)
{
    public static ServiceView From(ServiceStatus s) => new(
        s.Name, s.Technology.ToString().ToLowerInvariant(), JsonNamingPolicy.KebabCaseLower.ConvertName(s.State.ToString()),
        s.Healthy, s.Restarts, s.LocalPort, s.Pid, s.LastError, s.Since, s.NextAttempt);

    /// <summary>A service dropped by a reload, as the event stream sends it so watchers can drop its row.</summary>
    public static ServiceView Removed(string name) => new(name, "tcp", "removed", null, 0, 0, null, null, DateTimeOffset.MinValue);
}

public sealed record ReloadView(
    bool Ok,
    string? Error,
    DateTimeOffset At,
    IReadOnlyList<string>? Added = null,
    IReadOnlyList<string>? Removed = null,
    IReadOnlyList<string>? Restarted = null,
    IReadOnlyList<string>? UpdatedInPlace = null)
{
    /// <summary>Refused because LocalPort is stopping: the API answers 503 (not part of the JSON).</summary>
    [JsonIgnore] public bool ShuttingDown { get; init; }
}

public static class ReloadViews
{
    public static ReloadView From(LocalPort.Actors.Reload.ReloadResult r) =>
        new(r.Ok, r.Error, r.At, r.Added, r.Removed, r.Restarted, r.UpdatedInPlace) { ShuttingDown = r.Code == RefusalCode.ShuttingDown };
}

public sealed record StatusView(
    int Pid,
    string Mode,
    string? Config,
    DateTimeOffset StartedAt,
    IReadOnlyList<ServiceView> Services,
    ReloadView? LastReload,
    IReadOnlyList<ClusterView>? Clusters = null);

/// <summary>One kube cluster as its monitor sees it (`cluster status`, `/v1/clusters`, and `clusters` in `/v1/status`).</summary>
public sealed record ClusterView(
    string Context,
    string? Kubeconfig,
    string State,
    DateTimeOffset Since,
    DateTimeOffset? LastProbeAt,
    double? LastProbeMs,
    string? LastError,
    int ConsecutiveFailures,
    long Probes,
    IReadOnlyList<string> Services)
{
    public static ClusterView From(LocalPort.Actors.Cluster.ClusterStatus c) => new(
        c.Context, c.Kubeconfig, JsonNamingPolicy.KebabCaseLower.ConvertName(c.State.ToString()), c.Since, c.LastProbeAt,
        c.LastProbeLatency is { } latency ? Math.Round(latency.TotalMilliseconds, 1) : null, c.LastError, c.ConsecutiveFailures, c.Probes, c.Services);
}

public sealed record ClustersView(IReadOnlyList<ClusterView> Clusters);

public sealed record ErrorView(string Error);

public sealed record CommandView(string Service, string Result);

/// <summary>The answer to `POST /v1/shutdown`.</summary>
public sealed record StoppingView(string Status);

/// <summary>
/// The API's JSON settings. Every shape is generated at build time (<see cref="ControlJson"/>): the shipped CLI is
/// compiled ahead of time and has no reflection-based JSON, so a type missing from the context fails in every build.
/// </summary>
public static class ApiJson
{
    public static JsonSerializerOptions Options { get; } = Including(ControlJson.Default);

    public static JsonSerializerOptions Indented { get; } = new(Options) { WriteIndented = true };

    /// <summary>The API's settings over these shapes and the API's own (a host adds its output types this way).</summary>
    public static JsonSerializerOptions Including(IJsonTypeInfoResolver shapes) => new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        // Loopback-only, machine-read JSON: keep quotes and < > readable instead of \uXXXX.
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        WriteIndented = false,
        TypeInfoResolver = JsonTypeInfoResolver.Combine(shapes, ControlJson.Default),
    };

    public static JsonTypeInfo<T> Info<T>(JsonSerializerOptions? options = null) => (JsonTypeInfo<T>)(options ?? Options).GetTypeInfo(typeof(T));

    public static string Serialize<T>(T value, bool indented = false) => JsonSerializer.Serialize(value, Info<T>(indented ? Indented : null));

    public static T? Deserialize<T>(string json) => JsonSerializer.Deserialize(json, Info<T>());

    public static JsonElement Element(string value) => JsonSerializer.SerializeToElement(value, ControlJson.Default.String);
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(StatusView))]
[JsonSerializable(typeof(ServiceView))]
[JsonSerializable(typeof(ReloadView))]
[JsonSerializable(typeof(ClustersView))]
[JsonSerializable(typeof(ErrorView))]
[JsonSerializable(typeof(CommandView))]
[JsonSerializable(typeof(StoppingView))]
[JsonSerializable(typeof(ToxicRequest))]
[JsonSerializable(typeof(ChaosOverview))]
[JsonSerializable(typeof(ChaosStateView))]
[JsonSerializable(typeof(ChaosResultView))]
[JsonSerializable(typeof(List<ChaosResultView>))]
[JsonSerializable(typeof(string))]
internal sealed partial class ControlJson : JsonSerializerContext;
