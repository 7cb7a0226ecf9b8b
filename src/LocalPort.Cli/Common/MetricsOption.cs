using System.CommandLine;
using System.Net;

namespace LocalPort.Cli.Common;

/// <summary>`--metrics ADDRESS:PORT` on run and daemon start: GET /metrics also on a loopback TCP port.</summary>
public static class MetricsOption
{
    public static readonly Option<string?> Option = new("--metrics")
    {
        Description = "Also serve GET /metrics (Prometheus text) on this loopback address, e.g. 127.0.0.1:9464",
        HelpName = "ADDRESS:PORT",
    };

    /// <summary>
    /// The endpoint asked for (null without --metrics), or an error: only loopback addresses, because the port has
    /// no peer check of its own and anyone who can reach it reads every service's name and state.
    /// </summary>
    public static (IPEndPoint? Endpoint, string? Error) Parse(ParseResult parse)
    {
        if (parse.GetValue(Option) is not { } text) return (null, null);
        if (!IPEndPoint.TryParse(text, out var endpoint) || endpoint.Port == 0 || !text.Contains(':'))
            return (null, $"--metrics {text}: expected ADDRESS:PORT with a loopback address, e.g. 127.0.0.1:9464 or [::1]:9464");
        if (!IPAddress.IsLoopback(endpoint.Address))
            return (null, $"--metrics {text}: {endpoint.Address} is not a loopback address; the metrics port serves only " +
                          "127.0.0.0/8 or ::1 (scrape it through an SSH tunnel or a local agent from elsewhere)");
        return (endpoint, null);
    }
}
