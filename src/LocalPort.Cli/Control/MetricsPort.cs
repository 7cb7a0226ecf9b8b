using System.Net;
using LocalPort.Control;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace LocalPort.Cli.Control;

/// <summary>
/// The `--metrics` TCP listener shares Kestrel with the control socket: requests arriving over TCP get the metrics
/// or a 404, and never reach the control API (a TCP peer has no credentials to check).
/// </summary>
public static class MetricsPort
{
    public static void Use(WebApplication app) => app.Use(async (http, next) =>
    {
        if (http.Connection.LocalIpAddress is null)
        {
            // The Unix socket: the control API as usual.
            await next(http);
            return;
        }
        if (HttpMethods.IsGet(http.Request.Method) && http.Request.Path == "/metrics")
        {
            await MetricsEndpoint.Write(http);
            return;
        }
        http.Response.StatusCode = StatusCodes.Status404NotFound;
        await http.Response.WriteAsync("this port serves GET /metrics only\n");
    });
}
