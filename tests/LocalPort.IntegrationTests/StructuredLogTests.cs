using System.Text.Json;
using LocalPort.IntegrationTests.Fixtures;

namespace LocalPort.IntegrationTests;

/// <summary>
/// The CLI host logs Akka through Akka.Logger.Serilog: LocalPort's actors log with message templates, and their
/// properties arrive in the JSON daemon log as properties, not only as text.
/// </summary>
public sealed class StructuredLogTests(ITestOutputHelper output) : Scenario(output)
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(20);

    private string DaemonLog => Path.Combine(Home, "state", "logs", "localport.log");

    /// <summary>Every complete event so far (a line still being written is skipped).</summary>
    private List<JsonElement> Events()
    {
        var events = new List<JsonElement>();
        if (!File.Exists(DaemonLog)) return events;
        foreach (var line in File.ReadAllLines(DaemonLog))
        {
            try { events.Add(JsonDocument.Parse(line).RootElement); }
            catch (JsonException) { }
        }
        return events;
    }

    private static string? Text(JsonElement e, string property) =>
        e.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    [Fact]
    public void The_JSON_daemon_log_carries_the_service_and_the_shutdown_phase_as_properties()
    {
        var upstream = Own(new EchoServer());
        var port = FreePort.Next();
        var config = WriteConfig(Yaml.File(Yaml.Tcp("echo", port, upstream.Port)));
        var daemon = Start("daemon", "start", "--foreground", "--log-json", "-c", config);

        JsonElement? found = null;
        Poll.Assert(() => (found = Events().Cast<JsonElement?>().FirstOrDefault(e =>
                Text(e!.Value, "Service") == "echo" && Text(e.Value, "@mt")?.Contains("forwarding") == true)) is not null,
            Bound, "a forwarding event with a Service property in the JSON log");
        var forwarding = found!.Value;
        Output.WriteLine(forwarding.GetRawText());
        Assert.Equal("{Service}: forwarding 127.0.0.1:{LocalPort} -> {Endpoint}", Text(forwarding, "@mt"));
        Assert.Equal(port, forwarding.GetProperty("LocalPort").GetInt32());
        Assert.Equal($"127.0.0.1:{upstream.Port}", Text(forwarding, "Endpoint"));
        // Akka.Logger.Serilog's own context: which actor said it.
        Assert.EndsWith("/forward-echo", Text(forwarding, "ActorPath"));

        Assert.True(daemon.SendSignal(Native.SIGTERM));
        Assert.Equal(0, daemon.WaitForExit(Bound));
        var phases = Events().Select(e => Text(e, "Phase")).OfType<string>().ToList();
        Assert.Equal(["localport-stop-new-work", "localport-complete-current", "localport-cancel-tasks", "localport-force-cleanup"], phases);
    }
}
