using Akka.Actor;
using LocalPort.Actors.Hosting;
using LocalPort.Actors.Reload;
using LocalPort.Actors.Services;
using LocalPort.Actors.Shutdown;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace LocalPort.Control;

/// <summary>HTTP/JSON endpoints over LocalPort's actors. Event streams are server-sent events.</summary>
public static class ControlApi
{
    internal static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(5);
    /// <summary>Restarts inside a reload wait for old tunnels to stop: allow for the stop grace and more.</summary>
    private static readonly TimeSpan ReloadTimeout = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Maps the control API (<c>/v1/status</c>, <c>/v1/events</c>, <c>/v1/services/…</c>, <c>/v1/reload</c>,
    /// <c>/v1/shutdown</c>, <c>/v1/chaos/…</c>, …) under <paramref name="prefix"/>, for a host whose ActorSystem runs
    /// <c>WithLocalPort</c>. The endpoints carry no authorization of their own: add it to the returned group
    /// (<c>.RequireAuthorization(…)</c>) or serve them only where the caller is trusted, e.g. a private socket.
    /// </summary>
    public static RouteGroupBuilder MapLocalPort(this IEndpointRouteBuilder endpoints, string prefix = "")
    {
        // When the endpoints were mapped, i.e. as the host starts.
        var startedAt = DateTimeOffset.Now;
        var group = endpoints.MapGroup(prefix);
        // An actor that does not answer in time is a gateway timeout, never a 500.
        group.AddEndpointFilter(async (invocation, next) =>
        {
            try
            {
                return await next(invocation);
            }
            catch (AskTimeoutException) when (!invocation.HttpContext.Response.HasStarted)
            {
                return Json(new ErrorView($"LocalPort did not answer within {AskTimeout.TotalSeconds:0}s; try again"),
                    StatusCodes.Status504GatewayTimeout);
            }
        });

        // Handlers take HttpRequest, not HttpContext alone: `async (HttpContext c) => Json(…)` would bind as a
        // RequestDelegate, which drops the result and skips the filter above.
        group.MapGet("/v1/status", async (HttpRequest request) =>
            Json(await Status(LocalPortActors.Of(request.HttpContext), startedAt, Query(request, "service"))));

        group.MapGet("/v1/events", (HttpRequest request) => StreamStatus(request.HttpContext, LocalPortActors.Of(request.HttpContext)));

        group.MapGet("/v1/clusters", async (HttpRequest request) =>
            Json(new ClustersView(await Clusters(LocalPortActors.Of(request.HttpContext), Query(request, "context")))));

        group.MapPost("/v1/services/{name}/{action}", async (string name, string action, HttpContext http) =>
        {
            object? command = action switch
            {
                "start" => new StartService(name),
                // ?force=true: SIGKILL at once instead of SIGTERM and the stop grace.
                "stop" => new StopService(name, Force: http.Request.Query["force"] == "true"),
                "restart" => new RestartService(name),
                _ => null,
            };
            if (command is null)
                return Json(new ErrorView($"unknown action '{action}'; use start, stop or restart"), StatusCodes.Status404NotFound);
            var root = await LocalPortActors.Of(http).Root();
            var reply = await root.Ask<object>(command, AskTimeout);
            return reply switch
            {
                CommandAccepted ok => Json(new CommandView(ok.Name, action)),
                CommandRefused refused => Refused(refused),
                _ => Json(new ErrorView("unexpected reply"), StatusCodes.Status500InternalServerError),
            };
        });

        group.MapPost("/v1/reload", async (HttpRequest request) =>
        {
            var result = await Reload(LocalPortActors.Of(request.HttpContext));
            return Json(result, result.Ok ? StatusCodes.Status200OK
                : result.ShuttingDown ? StatusCodes.Status503ServiceUnavailable
                : StatusCodes.Status422UnprocessableEntity);
        });

        group.MapPost("/v1/shutdown", async (HttpRequest request) =>
        {
            var actors = LocalPortActors.Of(request.HttpContext);
            _ = CoordinatedShutdown.Get(actors.System).Run(SignalShutdownReason.Instance);
            // ?force=true: straight to force-cleanup, as a second Ctrl-C does.
            if (request.Query["force"] == "true") (await actors.Coordinator()).Tell(ShutdownCoordinator.Escalate.Instance);
            return Json(new StoppingView("stopping"), StatusCodes.Status202Accepted);
        });

        group.MapGet("/v1/shutdown/report", async (HttpRequest request) =>
        {
            var coordinator = await LocalPortActors.Of(request.HttpContext).Coordinator();
            var report = await coordinator.Ask<ShutdownReport>(ShutdownCoordinator.GetReport.Instance, AskTimeout);
            // Phases so far while a shutdown runs; the whole report once it has finished.
            return report.Phases.Count > 0
                ? Results.Text(report.ToJson(), "application/json")
                : Json(new ErrorView("no shutdown has run yet"), StatusCodes.Status404NotFound);
        });

        // Prometheus text (prometheus-net, loaded on the first scrape); a RequestDelegate: it writes the body itself.
        group.MapGet("/metrics", (HttpContext http) => MetricsEndpoint.Write(http));

        ChaosApi.Map(group);

        // Only under /v1: the rest of the host's paths stay the host's.
        group.MapFallback("/v1/{**path}", (HttpRequest request) => Json(
            new ErrorView($"no such endpoint: {request.Method} {request.Path}; see the README's control API section"),
            StatusCodes.Status404NotFound));
        return group;
    }

    private static IReadOnlyList<string> Query(HttpRequest request, string key) =>
        request.Query[key].Where(s => s is not null).Select(s => s!).ToList();

    private static async Task<StatusView> Status(LocalPortActors actors, DateTimeOffset startedAt, IReadOnlyCollection<string> only)
    {
        var root = await actors.Root();
        var snapshot = await root.Ask<StatusSnapshot>(GetStatus.Instance, AskTimeout);
        var services = snapshot.Services.Where(s => only.Count == 0 || only.Contains(s.Name)).Select(ServiceView.From).ToList();
        LastReload? last = actors.Watcher is { } watcher ? await watcher.Ask<LastReload>(GetLastReload.Instance, AskTimeout) : null;
        return new StatusView(Environment.ProcessId, actors.Options.Mode, last?.ConfigPath, startedAt, services,
            last?.Result is { } result ? ReloadViews.From(result) : null, await Clusters(actors, []));
    }

    private static async Task<IReadOnlyList<ClusterView>> Clusters(LocalPortActors actors, IReadOnlyCollection<string> only)
    {
        var root = await actors.Root();
        var snapshot = await root.Ask<LocalPort.Actors.Cluster.ClusterSnapshot>(LocalPort.Actors.Cluster.GetClusterStatus.Instance, AskTimeout);
        return snapshot.Clusters.Where(c => only.Count == 0 || only.Contains(c.Context)).Select(ClusterView.From).ToList();
    }

    private static async Task<ReloadView> Reload(LocalPortActors actors)
    {
        if (actors.Watcher is not { } watcher)
            return new ReloadView(false, "this supervisor was started without a configuration file to reload", DateTimeOffset.Now);
        return ReloadViews.From(await watcher.Ask<ReloadResult>(ReloadConfig.Instance, ReloadTimeout));
    }

    /// <summary>A refusal's status comes from its code: 503 while shutting down, 404 for an unknown service, 409 otherwise.</summary>
    internal static IResult Refused(CommandRefused refused) => Json(new ErrorView(refused.Reason), refused.Code switch
    {
        RefusalCode.ShuttingDown => StatusCodes.Status503ServiceUnavailable,
        RefusalCode.UnknownService => StatusCodes.Status404NotFound,
        _ => StatusCodes.Status409Conflict,
    });

    internal static IResult Json<T>(T value, int status = StatusCodes.Status200OK) =>
        Results.Text(ApiJson.Serialize(value), "application/json", statusCode: status);

    private static async Task StreamStatus(HttpContext http, LocalPortActors actors)
    {
        http.Response.ContentType = "text/event-stream";
        http.Response.Headers.CacheControl = "no-cache";
        var system = actors.System;
        using var changes = EventStreamChannel<ServiceView>.Open(system, [typeof(ServiceStatusChanged), typeof(ServiceRemoved)], e => e switch
        {
            ServiceStatusChanged changed => ServiceView.From(changed.Status),
            ServiceRemoved removed => ServiceView.Removed(removed.Name),
            _ => null,
        });
        try
        {
            var root = await actors.Root();
            var snapshot = await root.Ask<StatusSnapshot>(GetStatus.Instance, AskTimeout);
            foreach (var status in snapshot.Services) await Send(ServiceView.From(status));
            await foreach (var view in changes.Reader.ReadAllAsync(http.RequestAborted)) await Send(view);
        }
        catch (OperationCanceledException)
        {
        }

        async Task Send(ServiceView view)
        {
            await http.Response.WriteAsync($"event: status\ndata: {ApiJson.Serialize(view)}\n\n", http.RequestAborted);
            await http.Response.Body.FlushAsync(http.RequestAborted);
        }
    }
}
