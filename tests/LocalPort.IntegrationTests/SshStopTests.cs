using System.Diagnostics;
using LocalPort.IntegrationTests.Fixtures;

namespace LocalPort.IntegrationTests;

/// <summary>A SIGSTOPped ssh does not exit; only real traffic through the tunnel can tell it hangs.</summary>
[Collection(SshCollection.Name)]
public sealed class SshStopTests(SshServer ssh, ITestOutputHelper output) : Scenario(output)
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(20);
    private readonly List<int> _stopped = [];

    [Theory]
    [InlineData("http")]
    [InlineData("tcp")]
    public async Task Explore(string type)
    {
        var web = Own(new HttpServer());
        var port = FreePort.Next();
        var path = WriteConfig(Yaml.File(Yaml.Ssh("web-via-ssh", port, web.Port, ssh, healthCheck: $"""
            health_check:
              type: {type}
              interval: 500ms
              timeout: 500ms
              failure_threshold: 2
            """)));
        var run = RunUntilRunning(path, ["web-via-ssh"], StartTimeout);
        var healthy = run.WaitForStatus(s => s.Name == "web-via-ssh" && s.Healthy == true, TimeSpan.FromSeconds(10));
        var oldPid = healthy.Pid!.Value;
        var from = run.StdoutCount;
        var clock = Stopwatch.StartNew();
        _stopped.Add(oldPid);
        Assert.True(Native.Signal(oldPid, Native.SIGSTOP));
        var line = run.TryWaitForLine(l => StatusLine.TryParse(l) is { } s && s.Name == "web-via-ssh" && s.IsRunning && s.Pid != oldPid, TimeSpan.FromSeconds(8), from);
        Output.WriteLine($"{type}: {(line is null ? "NOT restarted" : "restarted")} after {clock.Elapsed.TotalMilliseconds:0} ms");
        Output.WriteLine(run.Describe());
    }

    public override void Dispose()
    {
        foreach (var pid in _stopped) if (Native.IsAlive(pid)) Native.Signal(pid, Native.SIGCONT);
        base.Dispose();
    }
}
