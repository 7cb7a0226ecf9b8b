using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using LocalPort.IntegrationTests.Fixtures;

namespace LocalPort.IntegrationTests;

/// <summary>
/// GET /metrics (issue 12 item 4): Prometheus text on the control socket and, with --metrics, on a loopback TCP port;
/// the restart counter follows a kill -9 of a real ssh tunnel; a non-loopback --metrics address is refused.
/// </summary>
[Collection(SshCollection.Name)]
public sealed class MetricsTests(SshServer ssh, ITestOutputHelper output) : Scenario(output)
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    private string Socket => Path.Combine(Home, "state", "run", "localport.sock");

    [Fact]
    public async Task Metrics_on_the_control_socket_count_a_restart_after_kill_9_of_the_ssh_tunnel_and_the_metrics_port_serves_the_same()
    {
        var web = Own(new HttpServer());
        var port = FreePort.Next();
        var metricsPort = FreePort.Next();
        var path = WriteConfig("version: \"1.0\"\nservices:\n" + Yaml.Ssh("web", port, web.Port, ssh) + "\n");
        var run = RunUntilRunning(path, ["web"], StartTimeout, "--metrics", $"127.0.0.1:{metricsPort}");
        Assert.Equal(HttpServer.Body, await Traffic.TryHttpGetAsync(port, TimeSpan.FromSeconds(5)));

        using var unix = UnixClient(Socket);
        var (contentType, text) = await ScrapeAsync(unix, "http://localport/metrics");
        Output.WriteLine(text);
        Assert.StartsWith("text/plain", contentType);
        var families = Families(text);
        Assert.True(families.Count >= 5, $"{families.Count} localport_ families: {string.Join(", ", families)}");
        foreach (var family in new[] { "localport_service_up", "localport_service_restarts_total", "localport_relay_connections_total", "localport_relay_bytes_total", "localport_reloads_total" })
            Assert.Contains(family, families);
        Assert.Equal(1, Value(text, "localport_service_up", "web"));
        Assert.True(Value(text, "localport_relay_connections_total", "web") >= 1, text);
        var restartsBefore = Value(text, "localport_service_restarts_total", "web");
        Assert.NotNull(restartsBefore);

        // The tunnel's pid as the CLI reports it, then kill -9: the default restart policy brings it back.
        var pid = TunnelPid("web");
        Assert.True(Native.Signal(pid, Native.SIGKILL));
        double? restartsAfter = null;
        var counted = await Poll.UntilAsync(async () =>
        {
            restartsAfter = Value((await ScrapeAsync(unix, "http://localport/metrics")).Text, "localport_service_restarts_total", "web");
            return restartsAfter > restartsBefore;
        }, Bound);
        Assert.True(counted, $"restarts stayed {restartsBefore} (last {restartsAfter}) after kill -9 of {pid}. {run.Describe()}");

        // The loopback port serves the same families, and nothing of the control API.
        using var tcp = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var (tcpType, tcpText) = await ScrapeAsync(tcp, $"http://127.0.0.1:{metricsPort}/metrics");
        Assert.StartsWith("text/plain", tcpType);
        // At least the same: a histogram family appears once its first check is recorded, which may be after the first scrape.
        Assert.Superset(families.ToHashSet(), Families(tcpText).ToHashSet());
        var control = await tcp.GetAsync($"http://127.0.0.1:{metricsPort}/v1/status");
        Assert.Equal(HttpStatusCode.NotFound, control.StatusCode);
    }

    [Theory]
    [InlineData("run")]
    [InlineData("daemon start --foreground")]
    public void A_metrics_address_that_is_not_loopback_is_refused_with_exit_2(string command)
    {
        var path = WriteConfig(Yaml.File(Yaml.Tcp("plain", FreePort.Next(), 9)));
        var result = Invoke([.. command.Split(' '), "-c", path, "--metrics", "0.0.0.0:9464"]);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("not a loopback address", result.Stderr);
        Assert.False(File.Exists(Socket), "nothing started");
    }

    private int TunnelPid(string service)
    {
        var result = Invoke("status", "-o", "json");
        Assert.True(result.ExitCode == 0, result.Stderr);
        return JsonDocument.Parse(result.Stdout).RootElement.GetProperty("services").EnumerateArray()
            .Single(s => s.GetProperty("name").GetString() == service).GetProperty("pid").GetInt32();
    }

    /// <summary>An HttpClient whose every connection goes to the Unix socket (as the CLI's ControlClient does).</summary>
    private static HttpClient UnixClient(string socket) => new(new SocketsHttpHandler
    {
        ConnectCallback = async (_, token) =>
        {
            var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try
            {
                await s.ConnectAsync(new UnixDomainSocketEndPoint(socket), token);
                return new NetworkStream(s, ownsSocket: true);
            }
            catch
            {
                s.Dispose();
                throw;
            }
        },
    }) { Timeout = TimeSpan.FromSeconds(10) };

    private static async Task<(string ContentType, string Text)> ScrapeAsync(HttpClient client, string url)
    {
        using var response = await client.GetAsync(url);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (response.Content.Headers.ContentType?.ToString() ?? "", await response.Content.ReadAsStringAsync());
    }

    /// <summary>The metric families (# TYPE lines) named localport_….</summary>
    private static List<string> Families(string text) =>
        text.Split('\n').Where(l => l.StartsWith("# TYPE localport_", StringComparison.Ordinal)).Select(l => l.Split(' ')[2]).Order().ToList();

    /// <summary>The value of NAME{…service="SERVICE"…}, or null when there is no such series.</summary>
    private static double? Value(string text, string name, string service)
    {
        var line = text.Split('\n').FirstOrDefault(l => l.StartsWith(name + "{", StringComparison.Ordinal) && l.Contains($"service=\"{service}\""));
        return line is null ? null : double.Parse(line[(line.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
    }
}
