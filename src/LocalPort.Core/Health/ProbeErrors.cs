using System.Globalization;
using System.Net.Http;
using System.Net.Sockets;
using System.Security.Authentication;

namespace LocalPort.Core.Health;

/// <summary>Turns exceptions into the short messages a status line can show.</summary>
internal static class ProbeErrors
{
    public const string ClosedByFarSide = "closed by far side";

    public static string TimedOut(TimeSpan timeout) => $"timed out after {Format(timeout)}";

    public static string Format(TimeSpan span) =>
        span.TotalMilliseconds >= 1000 && span.TotalMilliseconds % 100 == 0
            ? span.TotalSeconds.ToString("0.#", CultureInfo.InvariantCulture) + "s"
            : ((long)span.TotalMilliseconds).ToString(CultureInfo.InvariantCulture) + "ms";

    public static string Describe(Exception exception)
    {
        // The innermost socket/TLS error is the one that names the cause.
        for (var e = exception; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                case SocketException s:
                    return Describe(s.SocketErrorCode);
                case EndOfStreamException:
                    return ClosedByFarSide;
                case AuthenticationException a:
                    return "TLS handshake failed: " + FirstLine(a.Message);
                case TimeoutException:
                    return "timed out";
            }
        }
        if (exception is HttpRequestException { HttpRequestError: HttpRequestError.ResponseEnded })
            return ClosedByFarSide;
        return FirstLine(exception.Message);
    }

    public static string Describe(SocketError error) => error switch
    {
        SocketError.ConnectionRefused => "connection refused",
        SocketError.ConnectionReset or SocketError.ConnectionAborted or SocketError.Shutdown => ClosedByFarSide,
        SocketError.TimedOut => "timed out",
        SocketError.HostUnreachable => "host unreachable",
        SocketError.NetworkUnreachable => "network unreachable",
        SocketError.AddressNotAvailable => "address not available",
        _ => "socket error: " + error,
    };

    public static string FirstLine(string text, int max = 200)
    {
        var line = text.AsSpan().Trim();
        var newline = line.IndexOfAny('\r', '\n');
        if (newline >= 0) line = line[..newline].TrimEnd();
        return line.Length <= max ? line.ToString() : string.Concat(line[..max], "…");
    }
}
