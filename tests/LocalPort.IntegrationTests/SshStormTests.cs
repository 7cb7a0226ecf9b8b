using System.Collections.Concurrent;
using System.Globalization;
using LocalPort.IntegrationTests.Fixtures;

namespace LocalPort.IntegrationTests;

/// <summary>
/// A restart under a connection storm: clients that gave up while the tunnel was away are not dialled through the
/// new ssh, so the requests still waiting are answered as soon as it is ready.
/// </summary>
[Collection(SshCollection.Name)]
public sealed class SshStormTests(SshServer ssh, ITestOutputHelper output) : Scenario(output)
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(20);
    private static readonly TimeSpan GiveUpAfter = TimeSpan.FromMilliseconds(50);

    [Fact]
    public async Task After_a_kill_under_a_storm_of_clients_that_give_up_the_first_waiting_request_is_answered_right_after_the_tunnel_is_ready()
    {
        var web = Own(new HttpServer());
        var port = FreePort.Next();
        var path = WriteConfig("version: \"1.0\"\nservices:\n" + Yaml.Ssh("web", port, web.Port, ssh) + "\n");
        var run = RunUntilRunning(path, ["web"], StartTimeout);
        Assert.Equal(HttpServer.Body, await Traffic.TryHttpGetAsync(port, TimeSpan.FromSeconds(5)));

        // A client every 10 ms, each giving up 50 ms after it connected (a script with a short timeout).
        var answers = new ConcurrentQueue<DateTime>();
        var started = new ConcurrentQueue<DateTime>();
        using var stop = new CancellationTokenSource();
        var storm = Task.Run(async () =>
        {
            var inFlight = new List<Task>();
            while (!stop.IsCancellationRequested)
            {
                started.Enqueue(DateTime.Now);
                inFlight.Add(Task.Run(async () =>
                {
                    if (await Traffic.TryHttpGetAsync(port, GiveUpAfter) == HttpServer.Body) answers.Enqueue(DateTime.Now);
                }));
                await Task.Delay(10);
            }
            await Task.WhenAll(inFlight);
        });
        Assert.True(Poll.Until(() => !answers.IsEmpty, TimeSpan.FromSeconds(10)), $"the storm got no answer before the kill. {run.Describe()}");

        var before = run.Latest("web")!;
        var from = run.StdoutCount;
        var requestsBefore = web.Requests;
        var killedAt = DateTime.Now;
        Assert.True(Native.Signal(before.Pid!.Value, Native.SIGKILL));
        var down = run.WaitForStatus(s => s.Name == "web" && !s.IsRunning, TimeSpan.FromSeconds(10), from);
        var ready = run.WaitForStatus(s => s.Name == "web" && s.IsRunning && s.Pid is not null && s.Pid != before.Pid, StartTimeout, from);
        Assert.True(Poll.Until(() => answers.Any(a => a > At(down)), TimeSpan.FromSeconds(10)), $"no answer after the restart. {run.Describe()}");
        stop.Cancel();
        await storm.WaitAsync(TimeSpan.FromSeconds(10));

        var downAt = At(down);
        var readyAt = At(ready);
        var firstAnswer = answers.Where(a => a > downAt).Min();
        var queued = started.Count(s => s >= downAt && s <= readyAt);
        var waitingAtReady = started.Count(s => s > readyAt - GiveUpAfter && s <= readyAt);
        var dialled = web.Requests - requestsBefore;
        var sinceKill = started.Count(s => s >= killedAt);
        var gaveUpBeforeReady = started.Count(s => s >= killedAt && s < readyAt - GiveUpAfter);
        Output.WriteLine($"kill -9 of ssh under a client every 10 ms giving up after {GiveUpAfter.TotalMilliseconds:0} ms: down for " +
                         $"{(readyAt - downAt).TotalMilliseconds:0} ms, {queued} clients came meanwhile (~{waitingAtReady} still waiting at ready); " +
                         $"first answer {(firstAnswer - readyAt).TotalMilliseconds:0} ms after the tunnel was ready (status line time); " +
                         $"{dialled} of the {sinceKill} requests since the kill reached the upstream, {gaveUpBeforeReady} had given up before it was ready");
        // Those that gave up before the tunnel was back are not dialled (a few ms of slack around the status line's time).
        Assert.True(dialled <= sinceKill - gaveUpBeforeReady + 3, $"{dialled} dialled, {sinceKill - gaveUpBeforeReady} were still waiting");
        // The figure is the line above; this bound only catches a relay that dials the dead queue first again.
        Assert.True(firstAnswer - readyAt < TimeSpan.FromSeconds(1), $"first answer {(firstAnswer - readyAt).TotalMilliseconds:0} ms after ready");
    }

    /// <summary>When LocalPort printed the line (its HH:mm:ss.fff prefix, today, local time).</summary>
    private static DateTime At(StatusLine line) =>
        DateTime.Today + TimeSpan.ParseExact(line.Raw[..12], @"hh\:mm\:ss\.fff", CultureInfo.InvariantCulture);
}
