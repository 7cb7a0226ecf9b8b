using System.Runtime.InteropServices;
using LocalPort.TestKube;

// Standalone test Kubernetes API for chaos sessions by hand. See README.md.
var options = new TestKubeOptions();
int adminPort = 0;
var demo = false;
var readStdin = true;
var quiet = false;

for (var i = 0; i < args.Length; i++)
{
    string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
    switch (args[i])
    {
        case "--port": options = options with { Port = int.Parse(Value()) }; break;
        case "--kubeconfig": options = options with { KubeconfigPath = Value() }; break;
        case "--context": options = options with { ContextName = Value() }; break;
        case "--namespace": options = options with { Namespace = Value() }; break;
        case "--token": options = options with { Token = Value() }; break;
        case "--admin-port": adminPort = int.Parse(Value()); break;
        case "--idle-timeout": options = options with { IdleTimeout = AdminCommands.ParseDuration(Value()) }; break;
        case "--no-websocket": options = options with { EnableWebSocketPortForward = false }; break;
        case "--plain-http": options = options with { UseTls = false }; break;
        case "--pod-deletion":
            options = options with { PodDeletion = Value() == "keep" ? PodDeletionBehavior.BreakStreamsOnly : PodDeletionBehavior.CloseSessions };
            break;
        case "--demo": demo = true; break;
        case "--no-stdin": readStdin = false; break;
        case "--quiet": quiet = true; break;
        case "-h" or "--help":
            Console.WriteLine("""
                LocalPort.TestKube [--port N] [--kubeconfig PATH] [--context NAME] [--namespace NS] [--token T]
                                   [--admin-port N] [--idle-timeout 30s] [--no-websocket] [--plain-http] [--pod-deletion close|keep]
                                   [--demo] [--no-stdin] [--quiet]
                Commands are read from stdin and from the admin endpoint (POST /cmd). Type 'help'.
                """);
            return 0;
        default:
            Console.Error.WriteLine($"unknown argument {args[i]} (try --help)");
            return 2;
    }
}
if (!quiet)
{
    options = options with { Log = line => Console.Error.WriteLine(line) };
}

await using var server = await TestKubeServer.StartAsync(options);
using var commands = new AdminCommands(server);
var admin = new AdminEndpoint(commands, adminPort);

if (demo)
{
    foreach (var line in new[]
    {
        "add-pod web-7d4b9c-x2k4p labels=app=web port=80:echo",
        "add-service web selector=app=web port=80",
        "add-deployment web selector=app=web",
        "add-pod db-0 labels=app=db port=5432:echo",
        "add-service db selector=app=db port=5432",
        "add-statefulset db selector=app=db",
    })
    {
        commands.Execute(line);
    }
}

Console.WriteLine($"testkube: api {server.Url}");
Console.WriteLine($"testkube: kubeconfig {server.KubeconfigPath} (context {server.ContextName})");
Console.WriteLine($"testkube: admin http://127.0.0.1:{admin.Port} (POST /cmd, GET /status)");
Console.WriteLine("testkube: ready");

using var stop = new CancellationTokenSource();
using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.Cancel(); });

if (readStdin)
{
    _ = Task.Run(async () =>
    {
        while (await Console.In.ReadLineAsync() is { } line)
        {
            try
            {
                var output = commands.Execute(line);
                if (output.Length > 0)
                {
                    Console.WriteLine(output.TrimEnd());
                }
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException)
            {
                Console.WriteLine("error: " + e.Message);
            }
        }
        // stdin closed: keep serving until a signal.
    });
}

try
{
    await Task.Delay(Timeout.Infinite, stop.Token);
}
catch (OperationCanceledException)
{
}
admin.Stop();
Console.WriteLine("testkube: stopped");
return 0;
