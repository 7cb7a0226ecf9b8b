using System.Text.Json;
using LocalPort.IntegrationTests.Fixtures;

namespace LocalPort.IntegrationTests;

/// <summary>
/// Upstream localport 1.2's daemon-side habits against a real daemon and a real upstream (issue 13): `start -a`,
/// `status NAME` and `status -i`, `logs` (the daemon log), `logs --list`, what `logs` says for a tcp service and an
/// unknown name, and `stop -a --force`.
/// </summary>
public sealed class UpstreamDaemonCliTests(ITestOutputHelper output) : Scenario(output)
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    private Run.Result Cli(params string[] arguments) => LocalPortProcess.Invoke(Home, WorkingDirectory, null, Bound, arguments);

    private static string Dump(Run.Result result) => $"exit {result.ExitCode}\n--- stdout ---\n{result.Stdout}\n--- stderr ---\n{result.Stderr}";

    private IEnumerable<JsonElement> Services() =>
        JsonDocument.Parse(Cli("status", "-o", "json").Stdout).RootElement.GetProperty("services").EnumerateArray().ToList();

    [Fact]
    public void A_user_from_upstream_drives_the_daemon_with_the_commands_they_know()
    {
        var echo = Own(new EchoServer());
        WriteConfig(Yaml.File(Yaml.Tcp("web", FreePort.Next(), echo.Port), Yaml.Tcp("cache", FreePort.Next(), echo.Port)));
        try
        {
            var start = Cli("start", "-a");
            Assert.True(start.ExitCode == 0, Dump(start));
            Assert.All(Services(), s => Assert.Equal("running", s.GetProperty("state").GetString()));

            var unknown = Cli("status", "nosuch");
            Assert.True(unknown.ExitCode == 2, Dump(unknown));
            Assert.Contains("'nosuch'", unknown.Stderr);

            // Repeats until Ctrl-C: read two frames, then end the process we started.
            using (var repeat = LocalPortProcess.Start(Home, WorkingDirectory, "status", "-i", "1", "-o", "json"))
            {
                bool Frame(string line) => line.StartsWith('{') && JsonDocument.Parse(line).RootElement.GetProperty("services").GetArrayLength() == 2;
                repeat.WaitForLine(Frame, Bound);
                repeat.WaitForLine(Frame, Bound, from: repeat.StdoutCount);
                Assert.False(repeat.HasExited, repeat.Describe());
            }

            var daemonLog = Cli("logs");
            Assert.True(daemonLog.ExitCode == 0, Dump(daemonLog));
            Assert.Contains("web: forwarding", daemonLog.Stdout);
            Assert.Equal(daemonLog.Stdout, Cli("logs", "localport").Stdout);

            var list = Cli("logs", "--list", "-o", "json");
            Assert.True(list.ExitCode == 0, Dump(list));
            var logs = JsonDocument.Parse(list.Stdout).RootElement.EnumerateArray().ToDictionary(l => l.GetProperty("name").GetString()!);
            Assert.True(logs["localport"].GetProperty("exists").GetBoolean(), list.Stdout);
            Assert.Equal("tcp", logs["web"].GetProperty("technology").GetString());

            var tcp = Cli("logs", "web");
            Assert.True(tcp.ExitCode == 1, Dump(tcp));
            Assert.Contains("tcp service", tcp.Stderr);
            Assert.Contains("no child log", tcp.Stderr);

            var nosuch = Cli("logs", "nosuch");
            Assert.True(nosuch.ExitCode == 2, Dump(nosuch));
            Assert.Contains("unknown service 'nosuch'", nosuch.Stderr);

            var stop = Cli("stop", "-a", "--force");
            Assert.True(stop.ExitCode == 0, Dump(stop));
            Assert.True(Poll.Until(() => Services().All(s => s.GetProperty("state").GetString() == "stopped"), Bound),
                Cli("status", "-o", "text").Stdout);
        }
        finally
        {
            var stopped = Cli("daemon", "stop");
            Output.WriteLine($"daemon stop: {stopped.ExitCode} {stopped.Stdout} {stopped.Stderr}");
        }
        Assert.Equal(3, Cli("daemon", "status").ExitCode);
    }
}
