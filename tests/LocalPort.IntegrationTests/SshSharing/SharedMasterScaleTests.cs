using System.Diagnostics;
using LocalPort.IntegrationTests.Fixtures;

namespace LocalPort.IntegrationTests.SshSharing;

/// <summary>
/// Issue 14's scale target, as a test with a generous bound (the figure belongs to bench): 30 ssh services to one
/// host (with a standby) plus 30 tcp services, all serving soon after launch over at most two ssh processes, and a
/// SIGTERM that leaves no process and no port behind.
/// </summary>
[Collection(SshCollection.Name)]
public sealed class SharedMasterScaleTests(SshServer ssh, ITestOutputHelper output) : Scenario(output)
{
    private const int Count = 30;

    [Fact]
    public async Task Thirty_ssh_and_thirty_tcp_services_serve_soon_after_launch_over_two_ssh_processes_and_sigterm_leaves_nothing()
    {
        var echo = Own(new EchoServer());
        var ports = FreePort.Next(2 * Count);
        var services = Enumerable.Range(0, Count).Select(i => Yaml.Ssh($"ssh-{i:00}", ports[i], echo.Port, ssh, connection: "standby: true"))
            .Concat(Enumerable.Range(0, Count).Select(i => Yaml.Tcp($"tcp-{i:00}", ports[Count + i], echo.Port)));
        var path = WriteConfig(NewUserYaml.File([.. services]));

        var clock = Stopwatch.StartNew();
        var run = Start("run", "-c", path);
        // Sampled all along: every ssh child, and the most masters at once.
        var masters = 0;
        var seen = new HashSet<int>();
        using var sampling = new CancellationTokenSource();
        var sampler = Task.Factory.StartNew(() =>
        {
            while (!sampling.IsCancellationRequested)
            {
                var children = SshProcesses.Children(run);
                lock (seen) seen.UnionWith(children);
                masters = Math.Max(masters, children.Count(SshProcesses.IsMaster));
                sampling.Token.WaitHandle.WaitOne(10); // the sampling period; ends at once when sampling stops
            }
        }, TaskCreationOptions.LongRunning);

        var served = await Task.WhenAll(ports.Select(async port =>
            await Traffic.EchoEventuallyAsync(port, TimeSpan.FromSeconds(60)) ? clock.Elapsed : (TimeSpan?)null));
        var allServed = clock.Elapsed;
        Assert.All(served.Select((at, i) => (at, i)), s => Assert.True(s.at is not null, $"port {ports[s.i]} never served. {run.Describe()}"));
        var ssh30 = served.Take(Count).Max()!.Value;
        var tcp30 = served.Skip(Count).Max()!.Value;
        Assert.True(Poll.Until(() => SshProcesses.Masters(run).Count == 2, TimeSpan.FromSeconds(20)), "the standby did not come up");
        var carriers = run.Statuses.Where(s => s.Name.StartsWith("ssh-", StringComparison.Ordinal) && s.Pid is not null).Select(s => s.Pid!.Value).Distinct().ToList();

        var stopClock = Stopwatch.StartNew();
        Assert.True(run.SendSignal(Native.SIGTERM));
        var code = run.WaitForExit(TimeSpan.FromSeconds(30));
        var stopped = stopClock.Elapsed;
        sampling.Cancel();
        await sampler;

        Output.WriteLine($"launch -> all 30 ssh serving: {ssh30.TotalMilliseconds:0} ms; all 30 tcp: {tcp30.TotalMilliseconds:0} ms; all 60: {allServed.TotalMilliseconds:0} ms");
        Output.WriteLine($"ssh masters at once, at most: {masters}; ssh children seen (masters and -O clients): {seen.Count}; carrier pids reported: {string.Join(", ", carriers)}");
        Output.WriteLine($"SIGTERM -> exit {code} after {stopped.TotalMilliseconds:0} ms");
        foreach (var line in run.Stderr.Where(l => l.StartsWith("stopped", StringComparison.Ordinal))) Output.WriteLine("  " + line);

        Assert.True(masters <= 2, $"{masters} ssh masters at once");
        Assert.Single(carriers);
        // The figure is printed above (bench measures it); this bound only catches per-service handshakes coming back.
        Assert.True(allServed < TimeSpan.FromSeconds(20), $"60 services served only after {allServed.TotalMilliseconds:0} ms");
        Assert.Equal(0, code);
        Assert.All(seen, pid => Assert.False(Native.IsAlive(pid), $"ssh {pid} outlived localport"));
        Assert.All(ports, port => Assert.True(Traffic.Refuses(port), $"port {port} still accepts connections"));
        Assert.Contains(run.Stderr, l => l.Contains("nothing left behind", StringComparison.Ordinal));
    }
}
