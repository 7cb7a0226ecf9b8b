using System.Diagnostics;
using System.Text.Json;
using System.Xml.Linq;
using LocalPort.IntegrationTests.Fixtures;

namespace LocalPort.IntegrationTests.Chaos;

/// <summary>`localport chaos …` as a user drives it: the real CLI against a real `localport run`, real sockets, real ssh.</summary>
[Collection(SshCollection.Name)]
public sealed class ChaosCliTests(SshServer ssh, ITestOutputHelper output) : Scenario(output)
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(20);

    private Run.Result Chaos(params string[] arguments)
    {
        var result = Invoke(["chaos", .. arguments]);
        Output.WriteLine($"$ localport chaos {string.Join(' ', arguments)} -> {result.ExitCode}\n{result.Stdout}\n{result.Stderr}".TrimEnd());
        return result;
    }

    /// <summary>The median time of five GET / round trips through the port, in milliseconds.</summary>
    private static async Task<double> MedianHttpMillisecondsAsync(int port)
    {
        var times = new List<double>();
        for (var i = 0; i < 5; i++)
        {
            var clock = Stopwatch.StartNew();
            Assert.Equal(HttpServer.Body, await Traffic.TryHttpGetAsync(port, TimeSpan.FromSeconds(5)));
            times.Add(clock.Elapsed.TotalMilliseconds);
        }
        times.Sort();
        return times[2];
    }

    [Fact]
    public async Task Chaos_add_latency_raises_the_relays_round_trip_by_about_200ms_and_chaos_reset_restores_it()
    {
        var web = Own(new HttpServer());
        var port = FreePort.Next();
        var run = RunUntilRunning(WriteConfig(Yaml.File(Yaml.Tcp("web", port, web.Port))), ["web"], Bound);
        var plain = await MedianHttpMillisecondsAsync(port);

        var add = Chaos("add", "web", "latency", "--latency", "200ms");
        var poisoned = await MedianHttpMillisecondsAsync(port);
        var list = Chaos("list", "web", "-o", "json");
        var reset = Chaos("reset", "web");
        var restored = await MedianHttpMillisecondsAsync(port);

        Output.WriteLine($"GET / through the relay: {plain:0.0} ms, {poisoned:0.0} ms with latency 200ms, {restored:0.0} ms after reset");
        Assert.True(add.ExitCode == 0, add.Stderr);
        Assert.Contains("added latency_downstream", add.Stdout);
        var toxic = JsonDocument.Parse(list.Stdout).RootElement.GetProperty("toxics")[0];
        Assert.Equal("latency", toxic.GetProperty("type").GetString());
        Assert.Equal(200, toxic.GetProperty("attributes").GetProperty("latency").GetInt32());
        Assert.InRange(poisoned - plain, 170, 260);
        Assert.Equal(0, reset.ExitCode);
        Assert.InRange(restored, 0, plain + 30);
        Assert.False(run.HasExited, run.Describe());
    }

    [Fact]
    public async Task Chaos_hold_opens_and_holds_client_connections_then_releases_them_while_the_forward_keeps_serving()
    {
        var echo = Own(new EchoServer());
        var port = FreePort.Next();
        var run = RunUntilRunning(WriteConfig(Yaml.File(Yaml.Tcp("cache", port, echo.Port))), ["cache"], Bound);
        int Active() => JsonDocument.Parse(Chaos("list", "cache", "-o", "json").Stdout).RootElement.GetProperty("active_connections").GetInt32();

        var hold = Chaos("hold", "cache", "--count", "50", "--for", "3s");

        Assert.True(hold.ExitCode == 0, hold.Stdout + hold.Stderr);
        Assert.Contains($"holding 50 connection(s) to port {port} for 3s", hold.Stdout);
        Poll.Assert(() => Active() >= 50, TimeSpan.FromSeconds(5), "50 held connections relayed");
        Assert.True(await Traffic.TryEchoAsync(port, TimeSpan.FromSeconds(5)), run.Describe());
        Poll.Assert(() => Active() == 0, TimeSpan.FromSeconds(15), "the held connections to be released");
        Assert.Equal(2, Chaos("hold", "cache", "--count", "0").ExitCode);
        Assert.True(run.Latest("cache")!.IsRunning, run.Describe());
    }

    [Fact]
    public async Task Chaos_kill_of_an_ssh_tunnel_is_recovered_and_chaos_pause_stops_it_until_it_continues()
    {
        var echo = Own(new EchoServer());
        var ports = FreePort.Next(2);
        var run = RunUntilRunning(WriteConfig(Yaml.File(Yaml.Ssh("db", ports[0], echo.Port, ssh), Yaml.Tcp("cache", ports[1], echo.Port))),
            ["db", "cache"], Bound);
        var first = run.Latest("db")!.Pid!.Value;

        var from = run.StdoutCount;
        var kill = Chaos("kill", "db");
        Assert.True(kill.ExitCode == 0, kill.Stderr);
        Assert.Contains($"sent SIGKILL to pid {first}", kill.Stdout);
        var back = run.WaitForStatus(s => s.Name == "db" && s.IsRunning && s.Pid is { } pid && pid != first, Bound, from);
        Assert.True(back.Restarts >= 1, back.Raw);
        Assert.True(await Traffic.EchoEventuallyAsync(ports[0], Bound), run.Describe());

        var pause = Chaos("pause", "db", "--for", "2s");
        Assert.True(pause.ExitCode == 0, pause.Stderr);
        Poll.Assert(() => Native.State(back.Pid!.Value) == 'T', TimeSpan.FromSeconds(1), "the ssh to be stopped");
        Poll.Assert(() => Native.State(back.Pid!.Value) is 'S' or 'R', TimeSpan.FromSeconds(5), "the paused ssh to continue");
        Assert.True(await Traffic.EchoEventuallyAsync(ports[0], Bound), run.Describe());

        var tcp = Chaos("kill", "cache");
        Assert.Equal(1, tcp.ExitCode);
        Assert.Contains("cache is a tcp service", tcp.Stderr);
    }

    [Fact]
    public void A_scenario_that_holds_passes_and_one_that_cannot_hold_fails_with_a_junit_report()
    {
        var web = Own(new HttpServer());
        var port = FreePort.Next();
        RunUntilRunning(WriteConfig(Yaml.File(Yaml.Tcp("web", port, web.Port))), ["web"], Bound);
        var passing = WriteConfig("""
            name: web under latency
            steps:
              - expect: { service: web, healthy: true, within: 10s }
              - add: { service: web, type: latency, latency: 300ms }
              - expect: { service: web, latency: { above: 250ms }, within: 5s }
              - reset: web
              - expect: { service: web, latency: { below: 100ms }, within: 5s }
            """, "pass.yaml");
        var failing = WriteConfig("""
            name: latency that cannot be fast
            steps:
              - add: { service: web, type: latency, latency: 300ms }
              - expect: { service: web, latency: { below: 100ms }, within: 1s }
              - reset: all
            """, "fail.yaml");

        var pass = Chaos("run", passing, "--junit", Path.Combine(WorkingDirectory, "pass.xml"));
        var fail = Chaos("run", failing, "--junit", Path.Combine(WorkingDirectory, "reports", "fail.xml"));

        Assert.True(pass.ExitCode == 0, pass.Stdout + pass.Stderr);
        Assert.Contains("PASSED: 5 passed, 0 failed", pass.Stdout);
        Assert.Equal(1, fail.ExitCode);
        Assert.Contains("FAIL line 4: expect web latency below 100ms within 1s", fail.Stdout);
        Assert.Contains("FAILED: 2 passed, 1 failed", fail.Stdout);
        var suite = XDocument.Load(Path.Combine(WorkingDirectory, "reports", "fail.xml")).Root!.Element("testsuite")!;
        Assert.Equal("3", suite.Attribute("tests")!.Value);
        Assert.Equal("1", suite.Attribute("failures")!.Value);
        var failed = Assert.Single(suite.Elements("testcase"), c => c.Element("failure") is not null);
        Assert.Equal("line 4: expect web latency below 100ms within 1s", failed.Attribute("name")!.Value);
        Assert.Contains("not below 100ms", failed.Element("failure")!.Attribute("message")!.Value);
        Assert.Equal("0", XDocument.Load(Path.Combine(WorkingDirectory, "pass.xml")).Root!.Attribute("failures")!.Value);
    }

    [Fact]
    public void A_scenario_with_mistakes_is_refused_with_every_line_and_column_before_anything_runs()
    {
        var path = WriteConfig("name: bad\nsteps:\n  - kill: web\n    pause: web\n  - add: {service: web, type: lag}\n", "bad.yaml");

        var result = Chaos("run", path);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("bad.yaml:3:5: error: steps[0]: one action per step; this one has kill and pause", result.Stderr);
        Assert.Contains("bad.yaml:5:31: error: steps[1].add.type: 'lag' is not a toxic type", result.Stderr);
    }

    [Fact]
    public void Chaos_without_a_running_localport_exits_3()
    {
        var result = Chaos("list");

        Assert.Equal(3, result.ExitCode);
        Assert.Contains("not running", result.Stderr);
    }
}
