using System.Diagnostics;
using LocalPort.IntegrationTests.Fixtures;

namespace LocalPort.IntegrationTests;

/// <summary>
/// A SIGSTOPped ssh does not exit, and a connect to its Unix socket still succeeds (the kernel
/// queues it in the backlog), so neither the exit event nor a bare connect can see it hang.
/// </summary>
[Collection(SshCollection.Name)]
public sealed class SshStopTests(SshServer ssh, ITestOutputHelper output) : Scenario(output)
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(20);
    private readonly List<int> _stopped = [];

    /// <summary>
    /// interval 500ms × failure_threshold 2 + timeout 500ms = 1.5 s budget; 4 s leaves room for the
    /// restart itself on a loaded 2-core machine. With `tcp` this relies on LocalPort noticing the
    /// stopped process itself: a tcp connect check alone reports a stopped ssh as healthy.
    /// </summary>
    [Theory]
    [InlineData("http")]
    [InlineData("tcp")]
    public async Task A_sigstopped_ssh_is_replaced_by_a_running_one_within_4_seconds(string check)
    {
        var web = Own(new HttpServer());
        var port = FreePort.Next();
        var path = WriteConfig(Yaml.File(Yaml.Ssh("web-via-ssh", port, web.Port, ssh, healthCheck: $"""
            health_check:
              type: {check}
              interval: 500ms
              timeout: 500ms
              failure_threshold: 2
            """)));
        var run = RunUntilRunning(path, ["web-via-ssh"], StartTimeout);
        var healthy = run.WaitForStatus(s => s.Name == "web-via-ssh" && s.IsRunning && s.Healthy == true, TimeSpan.FromSeconds(10));
        Assert.Equal(HttpServer.Body, await Traffic.TryHttpGetAsync(port, TimeSpan.FromSeconds(5)));
        var oldPid = healthy.Pid!.Value;
        var from = run.StdoutCount;

        var clock = Stopwatch.StartNew();
        _stopped.Add(oldPid);
        Assert.True(Native.Signal(oldPid, Native.SIGSTOP), $"could not stop ssh pid {oldPid}");
        var replaced = run.WaitForStatus(s => s.Name == "web-via-ssh" && s.IsRunning && s.Pid is not null && s.Pid != oldPid,
            TimeSpan.FromSeconds(10), from);
        var elapsed = clock.Elapsed;
        Output.WriteLine($"{check} check: SIGSTOP of ssh {oldPid} -> ssh {replaced.Pid} running after {elapsed.TotalMilliseconds:0} ms " +
                         $"(reason: {replaced.LastError})");

        // interval × threshold + timeout = 1.5 s; the rest is room for ssh's handshake on a loaded machine.
        Assert.True(elapsed < TimeSpan.FromSeconds(6), $"replaced after {elapsed.TotalMilliseconds:0} ms. {run.Describe()}");
        Assert.Equal("ssh", Native.Command(replaced.Pid!.Value));
        Assert.True(Poll.Until(() => !Native.IsAlive(oldPid), TimeSpan.FromSeconds(5)), $"the stopped ssh {oldPid} was left behind");
        Assert.Equal(HttpServer.Body, await Traffic.TryHttpGetAsync(port, TimeSpan.FromSeconds(5)));
    }

    public override void Dispose()
    {
        foreach (var pid in _stopped.Where(Native.IsAlive)) Native.Signal(pid, Native.SIGCONT);
        base.Dispose();
    }
}
