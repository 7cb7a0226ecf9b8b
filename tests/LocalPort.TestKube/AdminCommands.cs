using System.Globalization;
using System.Net;
using System.Text;
using LocalPort.TestKube.Http;

namespace LocalPort.TestKube;

/// <summary>
/// Chaos and setup commands for the standalone server, one per line: from stdin, or from the admin
/// HTTP endpoint (<see cref="AdminEndpoint"/>). See README.md for the list.
/// </summary>
public sealed class AdminCommands(TestKubeServer server) : IDisposable
{
    private readonly List<LoopbackEchoServer> _echoServers = [];

    public const string Help = """
        commands (NAME is a pod/service/workload name; options are key=value):
          status                                   reachability, stall, idle timeout, pods, port-forwards
          pods                                     list pods
          forwards                                 list port-forward connections (active and ended)
          add-pod NAME [ns=NS] [labels=k=v,..] port=CPORT:UPSTREAM [port=..]
                                                   UPSTREAM is a loopback port or 'echo' (built-in echo server)
          delete-pod NAME [ns=NS] [keep-sessions]  delete; keep-sessions = only active streams break
          replace-pod NAME [ns=NS] [new-name=N]    new pod with the same labels, old one deleted
          add-service NAME selector=k=v,.. port=PORT[:TARGET] [ns=NS]
          add-deployment NAME selector=k=v,.. [ns=NS]
          add-statefulset NAME selector=k=v,.. [ns=NS]
          unreachable | down                       refuse connections and reset open ones
          come-back | up                           listen again on the same port
          stall [on|off]                           stop/resume relaying port-forward bytes
          idle-timeout DURATION|off                e.g. 5s, 500ms, 2m
          help
        """;

    public IPEndPoint StartEcho()
    {
        var echo = LoopbackEchoServer.Start();
        lock (_echoServers)
        {
            _echoServers.Add(echo);
        }
        return echo.EndPoint;
    }

    /// <summary>Runs one command line; returns its output. Throws <see cref="ArgumentException"/> on bad usage.</summary>
    public string Execute(string line)
    {
        var words = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        if (words.Length == 0)
        {
            return "";
        }
        var command = words[0].ToLowerInvariant();
        var positional = words.Skip(1).Where(w => !w.Contains('=')).ToList();
        var options = words.Skip(1).Where(w => w.Contains('=')).Select(w => w.Split('=', 2)).ToLookup(kv => kv[0].ToLowerInvariant(), kv => kv[1]);
        string Name() => positional.FirstOrDefault() ?? throw new ArgumentException($"{command}: NAME missing");
        string Ns() => options["ns"].LastOrDefault() ?? server.Namespace;
        IReadOnlyDictionary<string, string> Selector() =>
            TestKubeServer.Labels(options["selector"].LastOrDefault() ?? throw new ArgumentException($"{command}: selector=k=v missing"));

        switch (command)
        {
            case "help":
                return Help;
            case "status":
                return Status();
            case "pods":
                return Pods();
            case "forwards":
                return string.Join("\n", server.PortForwards.Select(r => r.ToString())) is { Length: > 0 } list ? list : "no port-forwards yet";
            case "add-pod":
            {
                var ports = options["port"].Select(ParsePodPort).ToList();
                if (ports.Count == 0)
                {
                    throw new ArgumentException("add-pod: at least one port=CPORT:UPSTREAM");
                }
                var labels = TestKubeServer.Labels(options["labels"].LastOrDefault() ?? "");
                var pod = server.AddPod(Name(), ports, Ns(), labels);
                return $"pod {pod.Namespace}/{pod.Name} added: " + string.Join(", ", ports.Select(p => $"{p.ContainerPort} -> {p.Upstream}"));
            }
            case "delete-pod":
                return server.DeletePod(Name(), Ns(), positional.Contains("keep-sessions") ? PodDeletionBehavior.BreakStreamsOnly : null)
                    ? $"pod {Ns()}/{Name()} deleted"
                    : $"no pod {Ns()}/{Name()}";
            case "replace-pod":
                return $"pod {Ns()}/{Name()} replaced by {Ns()}/{server.ReplacePod(Name(), Ns(), options["new-name"].LastOrDefault())}";
            case "add-service":
            {
                var ports = options["port"].Select(ParseServicePort).ToList();
                if (ports.Count == 0)
                {
                    throw new ArgumentException("add-service: at least one port=PORT[:TARGET]");
                }
                server.AddService(Name(), Selector(), ports, Ns());
                return $"service {Ns()}/{Name()} added";
            }
            case "add-deployment":
                server.AddDeployment(Name(), Selector(), Ns());
                return $"deployment {Ns()}/{Name()} added";
            case "add-statefulset":
                server.AddStatefulSet(Name(), Selector(), Ns());
                return $"statefulset {Ns()}/{Name()} added";
            case "unreachable" or "down":
                server.GoUnreachable();
                return $"unreachable: 127.0.0.1:{server.Port} refuses connections";
            case "come-back" or "up" or "reachable":
                server.ComeBack();
                return $"reachable on {server.Url}";
            case "stall":
            {
                var on = positional.FirstOrDefault()?.ToLowerInvariant() is null or "on" or "true" or "1";
                server.StallStreams(on);
                return on ? "streams stalled" : "streams flowing";
            }
            case "idle-timeout":
            {
                var value = positional.FirstOrDefault() ?? throw new ArgumentException("idle-timeout: DURATION or off");
                server.IdleTimeout = value is "off" or "none" or "0" ? null : ParseDuration(value);
                return server.IdleTimeout is { } t ? $"idle timeout {t.TotalSeconds:0.###}s" : "no idle timeout";
            }
            default:
                throw new ArgumentException($"unknown command '{command}' (try 'help')");
        }
    }

    public void Dispose()
    {
        lock (_echoServers)
        {
            _echoServers.ForEach(e => e.Dispose());
            _echoServers.Clear();
        }
    }

    public static TimeSpan ParseDuration(string text)
    {
        text = text.Trim().ToLowerInvariant();
        (string Suffix, double Factor)[] units = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)];
        foreach (var (suffix, factor) in units)
        {
            if (text.EndsWith(suffix, StringComparison.Ordinal) && double.TryParse(text[..^suffix.Length], NumberStyles.Float, CultureInfo.InvariantCulture, out var n))
            {
                return TimeSpan.FromSeconds(n * factor);
            }
        }
        return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds)
            ? TimeSpan.FromSeconds(seconds)
            : throw new ArgumentException($"not a duration: '{text}' (e.g. 5s, 500ms, 2m)");
    }

    private string Status()
    {
        var text = new StringBuilder();
        text.AppendLine($"api: {server.Url} ({(server.IsReachable ? "reachable" : "UNREACHABLE")})");
        text.AppendLine($"kubeconfig: {server.KubeconfigPath} (context {server.ContextName})");
        text.AppendLine($"streams: {(server.StreamsStalled ? "STALLED" : "flowing")}; idle timeout: {(server.IdleTimeout is { } t ? $"{t.TotalSeconds:0.###}s" : "none")}");
        text.AppendLine($"port-forwards: {server.ActivePortForwards} active, {server.ActiveStreams} relayed connection(s)");
        text.Append(Pods());
        return text.ToString();
    }

    private string Pods()
    {
        var pods = server.Pods();
        return pods.Count == 0
            ? "no pods"
            : string.Join("\n", pods.Select(p => $"{p.Namespace}/{p.Name} [{TestKubeServer.FormatLabels(p.Labels)}] " + string.Join(", ", p.Ports.Select(port => $"{port.ContainerPort} -> {port.Upstream?.ToString() ?? "(refused)"}"))));
    }

    private PodPort ParsePodPort(string text)
    {
        var parts = text.Split(':');
        if (parts.Length != 2 || !int.TryParse(parts[0], out var containerPort))
        {
            throw new ArgumentException($"port=CPORT:UPSTREAM expected, got '{text}'");
        }
        var upstream = parts[1] == "echo" ? StartEcho()
            : int.TryParse(parts[1], out var port) ? new IPEndPoint(IPAddress.Loopback, port)
            : throw new ArgumentException($"upstream must be a port or 'echo', got '{parts[1]}'");
        return new PodPort(containerPort, upstream);
    }

    private static ServicePortSpec ParseServicePort(string text)
    {
        var parts = text.Split(':');
        if (!int.TryParse(parts[0], out var port))
        {
            throw new ArgumentException($"port=PORT[:TARGET] expected, got '{text}'");
        }
        if (parts.Length == 1)
        {
            return new ServicePortSpec(port);
        }
        return int.TryParse(parts[1], out var target) ? new ServicePortSpec(port, target) : new ServicePortSpec(port, TargetPortName: parts[1]);
    }
}

/// <summary>
/// The standalone server's admin HTTP endpoint (loopback): <c>POST /cmd</c> with a command line as the
/// body, or <c>POST /COMMAND</c> with its arguments as the body; <c>GET /status</c>. Separate from the
/// API port, so it keeps answering while the API is "unreachable".
/// </summary>
public sealed class AdminEndpoint
{
    private readonly LoopbackHttpListener _listener;

    public AdminEndpoint(AdminCommands commands, int port, Action<string>? log = null)
    {
        _listener = new LoopbackHttpListener("admin", async (connection, request, ct) =>
        {
            var path = request.Path.Trim('/');
            var body = Encoding.UTF8.GetString(request.Body).Trim();
            string? line = (request.Method, path) switch
            {
                ("GET", "" or "status") => "status",
                ("GET", "help") => "help",
                ("GET", "pods") => "pods",
                ("GET", "forwards") => "forwards",
                ("POST", "cmd") => body.Length > 0 ? body : request.QueryValue("line") ?? "",
                ("POST", var command) => $"{command} {body} {request.QueryValue("args")}",
                _ => null,
            };
            HttpResponse response;
            if (line is null)
            {
                response = HttpResponse.Text(405, "use GET /status or POST /cmd (body: a command line)\n");
            }
            else
            {
                try
                {
                    response = HttpResponse.Text(200, commands.Execute(line).TrimEnd() + "\n");
                }
                catch (Exception e) when (e is ArgumentException or InvalidOperationException)
                {
                    response = HttpResponse.Text(400, "error: " + e.Message + "\n");
                }
            }
            await connection.WriteResponseAsync(response, keepAlive: false, ct);
            return Disposition.Close;
        }, log ?? (_ => { }));
        _listener.Start(port);
    }

    public int Port => _listener.Port;

    public void Stop() => _listener.Stop();
}
