using System.Text.Json;
using LocalPort.IntegrationTests.Fixtures;

namespace LocalPort.IntegrationTests;

/// <summary>`localport run` with the in-process tcp relay: no tunnel process, just LocalPort and an upstream.</summary>
public sealed class TcpRelayTests(ITestOutputHelper output) : Scenario(output)
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task A_tcp_service_relays_echo_traffic_from_its_local_port_to_the_upstream()
    {
        var upstream = Own(new EchoServer());
        var port = FreePort.Next();
        var path = WriteConfig(Yaml.File(Yaml.Tcp("echo", port, upstream.Port)));

        var run = RunUntilRunning(path, ["echo"], StartTimeout);

        var running = run.Latest("echo")!;
        Assert.Equal(port, running.LocalPort);
        Assert.Null(running.Pid);
        for (var i = 0; i < 5; i++)
            Assert.True(await Traffic.TryEchoAsync(port, TimeSpan.FromSeconds(5)), $"echo round trip {i} failed. {run.Describe()}");
        Assert.True(upstream.Accepted >= 5);

        Assert.True(run.SendSignal(Native.SIGTERM));
        Assert.Equal(0, run.WaitForExit(TimeSpan.FromSeconds(10)));
        Assert.True(run.SaidStopped, run.Describe());
        Assert.True(Traffic.Refuses(port), $"port {port} still accepts after shutdown");
    }

    [Fact]
    public async Task With_json_output_every_status_line_is_a_json_object_with_the_documented_fields()
    {
        var upstream = Own(new EchoServer());
        var http = Own(new HttpServer());
        var ports = FreePort.Next(2);
        var path = WriteConfig(Yaml.File(
            Yaml.Tcp("echo", ports[0], upstream.Port),
            Yaml.Tcp("web", ports[1], http.Port, """
                health_check:
                  type: http
                  interval: 500ms
                  timeout: 1s
                """)));

        var run = Start("-o", "json", "run", "-c", path);
        run.WaitForStatus(s => s.Name == "echo" && s.IsRunning, StartTimeout);
        run.WaitForStatus(s => s.Name == "web" && s.IsRunning && s.Healthy == true, StartTimeout);
        Assert.True(await Traffic.TryEchoAsync(ports[0], TimeSpan.FromSeconds(5)), run.Describe());
        Assert.Equal(HttpServer.Body, await Traffic.TryHttpGetAsync(ports[1], TimeSpan.FromSeconds(5)));

        Assert.True(run.SendSignal(Native.SIGTERM));
        Assert.Equal(0, run.WaitForExit(TimeSpan.FromSeconds(10)));

        var lines = run.Stdout;
        Assert.NotEmpty(lines);
        string[] fields = ["name", "technology", "state", "healthy", "restarts", "local_port", "pid", "last_error", "since"];
        foreach (var line in lines)
        {
            using var document = JsonDocument.Parse(line);
            var root = document.RootElement;
            Assert.Equal(JsonValueKind.Object, root.ValueKind);
            foreach (var field in fields) Assert.True(root.TryGetProperty(field, out _), $"'{field}' missing in {line}");
            Assert.Equal("tcp", root.GetProperty("technology").GetString());
            Assert.Contains(root.GetProperty("name").GetString(), new[] { "echo", "web" });
            Assert.True(root.GetProperty("since").TryGetDateTimeOffset(out _), line);
        }
        // The shutdown is visible in the stream too.
        Assert.Contains(run.Statuses, s => s.Name == "echo" && s.State == "stopped");
        Assert.Contains(run.Statuses, s => s.Name == "web" && s.State == "stopped");
    }
}
