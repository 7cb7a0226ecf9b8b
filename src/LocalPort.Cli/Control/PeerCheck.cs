using System.Net.Sockets;
using LocalPort.Control;
using LocalPort.Core.Processes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace LocalPort.Cli.Control;

/// <summary>The process at the other end of a Unix socket, as the kernel saw it connect.</summary>
public sealed record PeerCredentials(uint UserId, int? ProcessId);

/// <summary>
/// The control socket's 0600 mode is one chmod away from open, so every request is also checked by who sent it
/// (SO_PEERCRED on Linux, LOCAL_PEERCRED on macOS): this process's user and root are answered, anyone else gets 403.
/// </summary>
public static class PeerCheck
{
    public static void Use(WebApplication app)
    {
        var me = Posix.EffectiveUserId;
        var log = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("LocalPort.Control");
        app.Use(async (http, next) =>
        {
            // A client that already hung up is owed nothing, not even a refusal.
            if (http.RequestAborted.IsCancellationRequested) return;
            if (Refusal(http, me) is not { } why)
            {
                await next(http);
                return;
            }
            log.LogWarning("control API: refused {Method} {Path}: {Reason}", http.Request.Method, http.Request.Path, why);
            http.Response.StatusCode = StatusCodes.Status403Forbidden;
            http.Response.ContentType = "application/json";
            await http.Response.WriteAsync(ApiJson.Serialize(new ErrorView(why)));
        });
    }

    /// <summary>Why this request is not answered, or null when its peer is us or root.</summary>
    private static string? Refusal(HttpContext http, uint me)
    {
        if (OperatingSystem.IsWindows()) return null;
        // Fails closed: a peer that cannot be identified is not answered.
        if (http.Features.Get<IConnectionSocketFeature>()?.Socket is not { } socket || Read(socket) is not { } peer)
            return "the control API could not tell which user is asking (no peer credentials), so it does not answer";
        if (peer.UserId == me || peer.UserId == 0) return null;
        return $"the control API answers only {(me == 0 ? "root (uid 0)" : $"uid {me} and root")}; this request came from uid {peer.UserId}" +
               (peer.ProcessId is { } pid ? $" (pid {pid})" : "");
    }

    /// <summary>The peer's uid (and pid on Linux), or null when the platform or the socket cannot say.</summary>
    public static PeerCredentials? Read(Socket socket)
    {
        try
        {
            if (OperatingSystem.IsLinux())
            {
                // struct ucred { pid_t pid; uid_t uid; gid_t gid; }
                Span<byte> ucred = stackalloc byte[12];
                if (socket.GetRawSocketOption(SolSocket, SoPeerCred, ucred) < 12) return null;
                return new PeerCredentials(BitConverter.ToUInt32(ucred[4..]), BitConverter.ToInt32(ucred));
            }
            if (OperatingSystem.IsMacOS())
            {
                // struct xucred { u_int cr_version; uid_t cr_uid; short cr_ngroups; gid_t cr_groups[16]; }
                Span<byte> xucred = stackalloc byte[76];
                if (socket.GetRawSocketOption(SolLocal, LocalPeerCred, xucred) < 8) return null;
                return new PeerCredentials(BitConverter.ToUInt32(xucred[4..]), null);
            }
            return null;
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // ObjectDisposedException: the client hung up before its request was looked at.
            return null;
        }
    }

    private const int SolSocket = 1;
    private const int SoPeerCred = 17;
    private const int SolLocal = 0;
    private const int LocalPeerCred = 1;
}
