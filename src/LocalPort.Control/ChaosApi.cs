using System.Text.Json;
using Akka.Actor;
using LocalPort.Actors.Chaos;
using LocalPort.Actors.Services;
using LocalPort.Core.Config;
using LocalPort.Core.Processes;
using LocalPort.Core.Relay.Toxics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace LocalPort.Control;

/// <summary>A toxic as the API shows it: Toxiproxy's shape, attributes in milliseconds, KB/s and bytes.</summary>
public sealed record ToxicView(string Name, string Type, string Stream, double Toxicity, IReadOnlyDictionary<string, long> Attributes)
{
    public static ToxicView From(Toxic t) => new(t.Name, ToxicNames.Of(t.Type), ToxicNames.Of(t.Stream), t.Toxicity,
        ToxicAttributes.Numbers(t).ToDictionary(a => a.Key, a => a.Value));
}

/// <summary>A toxic to add: attributes as numbers (milliseconds for durations) or strings such as "200ms".</summary>
public sealed record ToxicRequest(string Type, string? Name = null, string? Stream = null, JsonElement? Toxicity = null,
    IReadOnlyDictionary<string, JsonElement>? Attributes = null);

public sealed record ChaosStateView(string Service, IReadOnlyList<ToxicView> Toxics, int ActiveConnections, int? PausedPid, DateTimeOffset? PausedUntil)
{
    public static ChaosStateView From(ChaosState s) =>
        new(s.Service, s.Toxics.Select(ToxicView.From).ToList(), s.ActiveConnections, s.PausedPid, s.PausedUntil);
}

/// <summary>Every service's chaos, and the tag (LOCALPORT_INSTANCE) this supervisor puts on its children.</summary>
public sealed record ChaosOverview(string Instance, IReadOnlyList<ChaosStateView> Services);

/// <summary>The answer to a change: result is "applied" or "not-applicable"; state is the service's chaos afterwards.</summary>
public sealed record ChaosResultView(string Service, string Result, string Detail, ChaosStateView? State);

/// <summary>`/v1/chaos/...`: toxics on relays and faults on tunnel processes, all routed through the root supervisor.</summary>
internal static class ChaosApi
{
    private static TimeSpan AskTimeout => ControlApi.AskTimeout;

    internal static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/v1/chaos", async (HttpRequest request) =>
        {
            var http = request.HttpContext;
            var states = new List<ChaosStateView>();
            foreach (var name in await Running(http))
                if (await Ask(http, name, ListToxics.Instance) is ChaosState state) states.Add(ChaosStateView.From(state));
            return Json(new ChaosOverview(ChildProcess.InstanceId, states));
        });
        app.MapGet("/v1/chaos/{service}", async (string service, HttpContext http) => Reply(await Ask(http, service, ListToxics.Instance)));
        app.MapPost("/v1/chaos/{service}/toxics", async (string service, HttpContext http) =>
        {
            ToxicRequest? body;
            // Read whatever the content type says: `curl -d` sends JSON as form data.
            try { body = await JsonSerializer.DeserializeAsync(http.Request.Body, ApiJson.Info<ToxicRequest>()); }
            catch (JsonException e) { return Json(new ErrorView($"the body is not a toxic: {e.Message}"), StatusCodes.Status400BadRequest); }
            if (body is null || string.IsNullOrWhiteSpace(body.Type))
                return Json(new ErrorView($"give the toxic's type: one of {ToxicNames.TypeChoices}"), StatusCodes.Status400BadRequest);
            var (toxic, problems) = ToxicAttributes.Build(body.Name, body.Type, body.Stream, Text(body.Toxicity),
                (body.Attributes ?? new Dictionary<string, JsonElement>()).Select(a => new KeyValuePair<string, string>(a.Key, Text(a.Value) ?? "")));
            if (toxic is null)
                return Json(new ErrorView(string.Join("; ", problems.Where(p => !p.IsWarning).Select(p => p.Key is null ? p.Message : $"{p.Key}: {p.Message}"))),
                    StatusCodes.Status400BadRequest);
            return Reply(await Ask(http, service, new AddToxic(toxic)), StatusCodes.Status201Created);
        });
        app.MapDelete("/v1/chaos/{service}/toxics/{name}", async (string service, string name, HttpContext http) =>
            Reply(await Ask(http, service, new RemoveToxic(name)), rejected: StatusCodes.Status404NotFound));
        app.MapPost("/v1/chaos/{service}/reset", async (string service, HttpContext http) => Reply(await Ask(http, service, ResetToxics.Instance)));
        app.MapPost("/v1/chaos/reset", async (HttpRequest request) =>
        {
            var http = request.HttpContext;
            var results = new List<ChaosResultView>();
            foreach (var name in await Running(http))
                if (await Ask(http, name, ResetToxics.Instance) is ChaosApplied applied) results.Add(View(applied));
            return Json(results);
        });
        app.MapPost("/v1/chaos/{service}/kill", async (string service, HttpContext http) => Reply(await Ask(http, service, KillTunnel.Instance)));
        app.MapPost("/v1/chaos/{service}/pause", async (string service, HttpContext http) =>
        {
            var text = http.Request.Query["for"].FirstOrDefault() ?? "5s";
            if (!Durations.TryParse(text, out var duration) || duration <= TimeSpan.Zero || duration > TimeSpan.FromHours(1))
                return Json(new ErrorView($"'{text}' is not a pause length; use e.g. 500ms, 5s, 1m (at most 1h)"), StatusCodes.Status400BadRequest);
            return Reply(await Ask(http, service, new PauseTunnel(duration)));
        });
        app.MapPost("/v1/chaos/{service}/hold", async (string service, HttpContext http) =>
        {
            var countText = http.Request.Query["count"].FirstOrDefault() ?? "100";
            if (!int.TryParse(countText, out var count) || count is < 1 or > 100_000)
                return Json(new ErrorView($"'{countText}' is not a connection count; use 1 to 100000"), StatusCodes.Status400BadRequest);
            var text = http.Request.Query["for"].FirstOrDefault() ?? "30s";
            if (!Durations.TryParse(text, out var duration) || duration <= TimeSpan.Zero || duration > TimeSpan.FromHours(1))
                return Json(new ErrorView($"'{text}' is not a hold length; use e.g. 500ms, 5s, 1m (at most 1h)"), StatusCodes.Status400BadRequest);
            return Reply(await Ask(http, service, new HoldConnections(count, duration)));
        });
    }

    private static async Task<IReadOnlyList<string>> Running(HttpContext http)
    {
        var root = await LocalPortActors.Of(http).Root();
        var snapshot = await root.Ask<StatusSnapshot>(GetStatus.Instance, AskTimeout);
        return snapshot.Services.Where(s => s.State != ServiceState.Disabled).Select(s => s.Name).ToList();
    }

    private static async Task<object> Ask(HttpContext http, string service, ChaosAction action)
    {
        var root = await LocalPortActors.Of(http).Root();
        return await root.Ask<object>(new ChaosCommand(service, action), AskTimeout);
    }

    private static IResult Reply(object reply, int applied = StatusCodes.Status200OK, int rejected = StatusCodes.Status409Conflict) => reply switch
    {
        ChaosState state => Json(ChaosStateView.From(state)),
        ChaosApplied ok => Json(View(ok), applied),
        ChaosNotApplicable no => Json(new ChaosResultView(no.Service, "not-applicable", no.Reason, null), StatusCodes.Status422UnprocessableEntity),
        ChaosRejected bad => Json(new ErrorView(bad.Reason), rejected),
        CommandRefused refused => ControlApi.Refused(refused),
        _ => Json(new ErrorView("unexpected reply"), StatusCodes.Status500InternalServerError),
    };

    private static ChaosResultView View(ChaosApplied applied) =>
        new(applied.Service, "applied", applied.Detail, ChaosStateView.From(applied.State));

    private static string? Text(JsonElement? value) => value switch
    {
        null => null,
        { ValueKind: JsonValueKind.String } s => s.GetString(),
        { ValueKind: JsonValueKind.Null or JsonValueKind.Undefined } => null,
        { } other => other.GetRawText(),
    };

    private static IResult Json<T>(T value, int status = StatusCodes.Status200OK) => ControlApi.Json(value, status);
}
