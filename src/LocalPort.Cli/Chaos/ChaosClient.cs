using System.Text.Json;
using LocalPort.Cli.Common;
using LocalPort.Cli.Control;
using LocalPort.Control;

namespace LocalPort.Cli.Chaos;

/// <summary>One answer of the chaos API: the HTTP status, the body, and what it means for a user.</summary>
public sealed record ChaosResponse(int Status, string Body)
{
    public bool Ok => Status is >= 200 and < 300;
    public bool NotApplicable => Status == 422;

    public T? As<T>() where T : class
    {
        try { return ApiJson.Deserialize<T>(Body); }
        catch (JsonException) { return null; }
    }

    /// <summary>The detail of a change, or the reason it did not happen.</summary>
    public string Message => !Ok && !NotApplicable ? As<ErrorView>()?.Error ?? $"HTTP {Status}: {Body}"
        : Body.TrimStart().StartsWith('[') ? string.Join("; ", As<List<ChaosResultView>>()?.Select(r => $"{r.Service}: {r.Detail}") ?? [Body])
        : As<ChaosResultView>()?.Detail ?? Body;

    /// <summary>0 done; 1 nothing happened (no process to kill, no answer); 2 the request was wrong (unknown service or toxic, bad value).</summary>
    public int ExitCode => Ok ? ExitCodes.Ok : Status is 400 or 404 or 409 ? ExitCodes.UsageOrConfig : ExitCodes.Failure;
}

/// <summary>The `/v1/chaos` endpoints, typed; shared by the `chaos` commands and the scenario runner.</summary>
public sealed class ChaosClient(ControlClient control)
{
    public async Task<ChaosResponse> AddAsync(string service, string type, string? name, string? stream, string? toxicity,
        IEnumerable<KeyValuePair<string, string>> attributes)
    {
        var body = new ToxicRequest(type, name, stream, toxicity is null ? null : ApiJson.Element(toxicity),
            attributes.ToDictionary(a => a.Key, a => ApiJson.Element(a.Value)));
        return await Send(HttpMethod.Post, $"v1/chaos/{Escape(service)}/toxics", ApiJson.Serialize(body));
    }

    public Task<ChaosResponse> RemoveAsync(string service, string name) =>
        Send(HttpMethod.Delete, $"v1/chaos/{Escape(service)}/toxics/{Escape(name)}");

    public Task<ChaosResponse> ResetAsync(string? service) =>
        Send(HttpMethod.Post, service is null ? "v1/chaos/reset" : $"v1/chaos/{Escape(service)}/reset");

    public Task<ChaosResponse> ListAsync(string? service) =>
        Send(HttpMethod.Get, service is null ? "v1/chaos" : $"v1/chaos/{Escape(service)}");

    public Task<ChaosResponse> KillAsync(string service) => Send(HttpMethod.Post, $"v1/chaos/{Escape(service)}/kill");

    public Task<ChaosResponse> HoldAsync(string service, int count, TimeSpan duration) =>
        Send(HttpMethod.Post, $"v1/chaos/{Escape(service)}/hold?count={count}&for={Uri.EscapeDataString(Core.Config.Durations.Format(duration))}");

    public Task<ChaosResponse> PauseAsync(string service, TimeSpan duration) =>
        Send(HttpMethod.Post, $"v1/chaos/{Escape(service)}/pause?for={Uri.EscapeDataString(Core.Config.Durations.Format(duration))}");

    public Task<StatusView> StatusAsync(CancellationToken cancellationToken = default) => control.StatusAsync(cancellationToken: cancellationToken);

    private async Task<ChaosResponse> Send(HttpMethod method, string path, string? json = null)
    {
        var (status, body) = await control.SendAsync(method, path, json);
        return new ChaosResponse(status, body);
    }

    private static string Escape(string segment) => Uri.EscapeDataString(segment);
}
