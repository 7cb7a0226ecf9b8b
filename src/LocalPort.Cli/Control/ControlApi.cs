using System.Threading.Channels;
using Akka.Actor;
using LocalPort.Actors.Services;
using LocalPort.Actors.Shutdown;
using LocalPort.Actors.Supervision;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace LocalPort.Cli.Control;

/// <summary>What the control API reads from and talks to; all state comes from the root supervisor.</summary>
public sealed record ControlContext(
    IServiceProvider Services,
    string Mode,
    string? ConfigPath,
    DateTimeOffset StartedAt,
    Func<Task<ReloadView?>> LastReload,
    Func<Task<ReloadView>> Reload,
    Func<ShutdownReport?> LastShutdownReport)
{
    // Resolved per request: the actor system exists only once the host has started.
    public ActorSystem System => Services.GetRequiredService<ActorSystem>();
    public IActorRef Root => Services.GetRequiredService<ActorRegistry>().Get<LocalPortSupervisor>();
}

/// <summary>HTTP/JSON over the Unix control socket. Event streams are server-sent events.</summary>
public static class ControlApi
{
    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(5);

    public static void Map(WebApplication app, ControlContext context)
    {
        // First: a request from another user is answered with 403 and nothing else.
        PeerCheck.Use(app);
        // An actor that does not answer in time is a gateway timeout, never a 500.
        app.Use(async (http, next) =>
        {
            try
            {
                await next(http);
            }
            catch (AskTimeoutException) when (!http.Response.HasStarted)
            {
                http.Response.StatusCode = StatusCodes.Status504GatewayTimeout;
                http.Response.ContentType = "application/json";
                await http.Response.WriteAsync(ApiJson.Serialize(new ErrorView($"LocalPort did not answer within {AskTimeout.TotalSeconds:0}s; try again")));
            }
        });

        app.MapGet("/v1/status", async (HttpRequest request) =>
            Json(await Status(context, request.Query["service"].Where(s => s is not null).Select(s => s!).ToList())));

        app.MapGet("/v1/events", (HttpContext http) => StreamStatus(http, context));

        app.MapGet("/v1/clusters", async (HttpRequest request) =>
            Json(new ClustersView(await Clusters(context, request.Query["context"].Where(c => c is not null).Select(c => c!).ToList()))));

        app.MapPost("/v1/services/{name}/{action}", async (string name, string action, HttpRequest request) =>
        {
            object? command = action switch
            {
                "start" => new StartService(name),
                "stop" => new StopService(name, Force: request.Query["force"] == "true"),
                "restart" => new RestartService(name),
                _ => null,
            };
            if (command is null)
                return Json(new ErrorView($"unknown action '{action}'; use start, stop or restart"), StatusCodes.Status404NotFound);
            var reply = await context.Root.Ask<object>(command, AskTimeout);
            return reply switch
            {
                CommandAccepted ok => Json(new CommandView(ok.Name, action)),
                CommandRefused refused => Refused(refused),
                _ => Json(new ErrorView("unexpected reply"), StatusCodes.Status500InternalServerError),
            };
        });

        app.MapPost("/v1/reload", async () =>
        {
            var result = await context.Reload();
            return Json(result, result.Ok ? StatusCodes.Status200OK
                : result.ShuttingDown ? StatusCodes.Status503ServiceUnavailable
                : StatusCodes.Status422UnprocessableEntity);
        });

        app.MapPost("/v1/shutdown", (HttpRequest request) =>
        {
            _ = CoordinatedShutdown.Get(context.System).Run(SignalShutdownReason.Instance);
            // ?force=true: straight to force-cleanup, as a second Ctrl-C does.
            if (request.Query["force"] == "true")
                context.Services.GetRequiredService<ActorRegistry>().Get<ShutdownCoordinator>().Tell(ShutdownCoordinator.Escalate.Instance);
            return Json(new { status = "stopping" }, StatusCodes.Status202Accepted);
        });

        app.MapGet("/v1/shutdown/report", () => context.LastShutdownReport() is { } report
            ? Results.Text(report.ToJson(), "application/json")
            : Json(new ErrorView("no shutdown has run yet"), StatusCodes.Status404NotFound));

        ChaosApi.Map(app, context);

        app.MapFallback((HttpRequest request) => Json(
            new ErrorView($"no such endpoint: {request.Method} {request.Path}; see the README's control API section"),
            StatusCodes.Status404NotFound));
    }

    public static async Task<StatusView> Status(ControlContext context, IReadOnlyCollection<string> only)
    {
        var snapshot = await context.Root.Ask<StatusSnapshot>(GetStatus.Instance, AskTimeout);
        var services = snapshot.Services.Where(s => only.Count == 0 || only.Contains(s.Name)).Select(ServiceView.From).ToList();
        return new StatusView(Environment.ProcessId, context.Mode, context.ConfigPath, context.StartedAt, services, await context.LastReload(),
            await Clusters(context, []));
    }

    public static async Task<IReadOnlyList<ClusterView>> Clusters(ControlContext context, IReadOnlyCollection<string> only)
    {
        var snapshot = await context.Root.Ask<LocalPort.Actors.Cluster.ClusterSnapshot>(LocalPort.Actors.Cluster.GetClusterStatus.Instance, AskTimeout);
        return snapshot.Clusters.Where(c => only.Count == 0 || only.Contains(c.Context)).Select(ClusterView.From).ToList();
    }

    /// <summary>A refusal's status comes from its code: 503 while shutting down, 404 for an unknown service, 409 otherwise.</summary>
    public static IResult Refused(CommandRefused refused) => Json(new ErrorView(refused.Reason), refused.Code switch
    {
        RefusalCode.ShuttingDown => StatusCodes.Status503ServiceUnavailable,
        RefusalCode.UnknownService => StatusCodes.Status404NotFound,
        _ => StatusCodes.Status409Conflict,
    });

    private static IResult Json<T>(T value, int status = StatusCodes.Status200OK) =>
        Results.Text(ApiJson.Serialize(value), "application/json", statusCode: status);

    private static async Task StreamStatus(HttpContext http, ControlContext context)
    {
        http.Response.ContentType = "text/event-stream";
        http.Response.Headers.CacheControl = "no-cache";
        var channel = Channel.CreateUnbounded<ServiceStatus>();
        var bridge = context.System.ActorOf(Props.Create(() => new StatusForwarder(channel.Writer)));
        context.System.EventStream.Subscribe(bridge, typeof(ServiceStatusChanged));
        context.System.EventStream.Subscribe(bridge, typeof(ServiceRemoved));
        try
        {
            var snapshot = await context.Root.Ask<StatusSnapshot>(GetStatus.Instance, AskTimeout);
            foreach (var status in snapshot.Services) await Send(status);
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted);
            _ = context.System.WhenTerminated.ContinueWith(_ => stop.Cancel(), TaskScheduler.Default);
            await foreach (var status in channel.Reader.ReadAllAsync(stop.Token)) await Send(status);
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            context.System.Stop(bridge);
        }

        async Task Send(ServiceStatus status)
        {
            // A removed service is sent as state "removed" so watchers can drop its row.
            var view = status.Since == DateTimeOffset.MinValue ? ServiceView.From(status) with { State = "removed" } : ServiceView.From(status);
            await http.Response.WriteAsync($"event: status\ndata: {ApiJson.Serialize(view)}\n\n", http.RequestAborted);
            await http.Response.Body.FlushAsync(http.RequestAborted);
        }
    }

    private sealed class StatusForwarder : ReceiveActor
    {
        public StatusForwarder(ChannelWriter<ServiceStatus> writer)
        {
            Receive<ServiceStatusChanged>(m => writer.TryWrite(m.Status));
            Receive<ServiceRemoved>(m => writer.TryWrite(new ServiceStatus(m.Name, Core.Config.Technology.Tcp, 0,
                ServiceState.Stopped, null, 0, null, null, DateTimeOffset.MinValue)));
        }
    }
}
