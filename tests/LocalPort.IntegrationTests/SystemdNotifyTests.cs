using System.Diagnostics;
using LocalPort.IntegrationTests.Fixtures;

namespace LocalPort.IntegrationTests;

/// <summary>
/// `localport daemon start --foreground` as systemd runs it for a Type=notify unit: the test binds the datagram socket
/// systemd would and passes it as NOTIFY_SOCKET (systemd itself cannot run here); the CLI is the real one, as a child.
/// </summary>
public sealed class SystemdNotifyTests(ITestOutputHelper output) : Scenario(output)
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(20);

    private string NotifyPath => Path.Combine(Root, "notify");

    private LocalPortProcess StartDaemon(NotifyListener manager, string config, params string[] extra) =>
        Own(LocalPortProcess.Start(Home, WorkingDirectory, new Dictionary<string, string?> { ["NOTIFY_SOCKET"] = manager.Path },
            ["daemon", "start", "--foreground", "-c", config, .. extra]));

    [Fact]
    public async Task Ready_comes_once_the_forward_serves_and_stopping_as_SIGTERM_starts_the_shutdown()
    {
        var upstream = Own(new EchoServer());
        var port = FreePort.Next();
        var config = WriteConfig(Yaml.File(Yaml.Tcp("echo", port, upstream.Port)));
        // Tried the moment READY=1 arrives, once, before the next notification is read: no retry can hide an early READY.
        var servedAtReady = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        var manager = Own(new NotifyListener(NotifyPath, async n =>
        {
            if (n.Has("READY")) servedAtReady.TrySetResult(await Traffic.TryEchoAsync(port, TimeSpan.FromSeconds(2)));
        }));
        var daemon = StartDaemon(manager, config);

        var ready = manager.WaitFor(n => n.Has("READY"), Bound, "READY=1");
        Assert.True(await servedAtReady.Task.WaitAsync(Bound), $"port {port} did not echo when READY=1 arrived. {manager.Describe()}");
        Assert.Equal("serving 1 of 1 service", ready.Fields["STATUS"]);

        Assert.True(daemon.SendSignal(Native.SIGTERM));
        var stopping = manager.WaitFor(n => n.Has("STOPPING"), Bound, "STOPPING=1");
        Assert.Equal(0, daemon.WaitForExit(Bound));
        Output.WriteLine(manager.Describe());
        var received = manager.Received;
        Assert.Single(received, n => n.Has("READY"));
        Assert.True(manager.IndexOf(stopping) > manager.IndexOf(ready), manager.Describe());
        Assert.Single(received, n => n.Has("STOPPING"));
    }

    [Fact]
    public void A_reload_by_SIGHUP_and_a_refused_one_are_each_bracketed_by_RELOADING_and_READY()
    {
        var upstream = Own(new EchoServer());
        var port = FreePort.Next();
        var config = WriteConfig(Yaml.File(Yaml.Tcp("echo", port, upstream.Port)));
        var manager = Own(new NotifyListener(NotifyPath));
        var daemon = StartDaemon(manager, config);
        var ready = manager.WaitFor(n => n.Has("READY"), Bound, "READY=1");

        // What ExecReload=/bin/kill -HUP $MAINPID does.
        var before = MonotonicMicroseconds();
        Assert.True(daemon.SendSignal(Native.SIGHUP));
        var reloading = manager.WaitFor(n => n.Has("RELOADING"), Bound, "RELOADING=1", from: manager.IndexOf(ready) + 1);
        var after = MonotonicMicroseconds();
        // systemd ≥ 253 (Type=notify-reload) wants the reload's start on CLOCK_MONOTONIC, in microseconds, in the same datagram.
        Assert.True(long.TryParse(reloading.Fields.GetValueOrDefault("MONOTONIC_USEC"), out var monotonic), reloading.Raw);
        Assert.InRange(monotonic, before, after);
        var reloaded = manager.WaitFor(n => n.Has("READY"), Bound, "READY=1 after the reload", from: manager.IndexOf(reloading) + 1);
        Assert.Equal("serving 1 of 1 service", reloaded.Fields["STATUS"]);

        // A broken file is picked up by the watcher and refused: the manager still hears the reload end.
        File.WriteAllText(config, Yaml.File(Yaml.Tcp("echo", port, upstream.Port)) + "  - name: broken\n    technology: teleport\n");
        var refusedStart = manager.WaitFor(n => n.Has("RELOADING"), Bound, "RELOADING=1 for the broken file", from: manager.IndexOf(reloaded) + 1);
        var refused = manager.WaitFor(n => n.Has("READY"), Bound, "READY=1 after the refused reload", from: manager.IndexOf(refusedStart) + 1);
        Assert.StartsWith("reload refused", refused.Fields["STATUS"]);

        Assert.True(daemon.SendSignal(Native.SIGTERM));
        Assert.Equal(0, daemon.WaitForExit(Bound));
        Output.WriteLine(manager.Describe());
    }

    [Fact]
    public void The_watchdog_is_pinged_every_half_period_when_systemd_sets_WATCHDOG_USEC_for_this_pid()
    {
        var upstream = Own(new EchoServer());
        var config = WriteConfig(Yaml.File(Yaml.Tcp("echo", FreePort.Next(), upstream.Port)));
        var manager = Own(new NotifyListener(NotifyPath));
        // As systemd does: WATCHDOG_PID is the main process, which the shell's exec keeps ($$).
        var daemon = Own(LocalPortProcess.StartAfter($"export NOTIFY_SOCKET='{manager.Path}' WATCHDOG_USEC=1000000 WATCHDOG_PID=$$",
            Home, WorkingDirectory, "daemon", "start", "--foreground", "-c", config));

        var pings = new List<Notification>();
        for (var i = 0; i < 4; i++)
            pings.Add(manager.WaitFor(n => n.Has("WATCHDOG"), Bound, $"WATCHDOG=1 #{i + 1}",
                from: i == 0 ? 0 : manager.IndexOf(pings[^1]) + 1));
        var gaps = pings.Zip(pings.Skip(1), (a, b) => b.At - a.At).ToList();
        Output.WriteLine($"gaps between pings: {string.Join(", ", gaps.Select(g => $"{g.TotalMilliseconds:0} ms"))}");
        // Every 500 ms (half of 1 s): a ping loop with no timer would come far faster; a stuck one not at all.
        Assert.All(gaps, gap => Assert.True(gap > TimeSpan.FromMilliseconds(250), $"pings {gap.TotalMilliseconds:0} ms apart"));

        Assert.True(daemon.SendSignal(Native.SIGTERM));
        Assert.Equal(0, daemon.WaitForExit(Bound));
    }

    /// <summary>CLOCK_MONOTONIC in microseconds, as systemd reads it (Stopwatch reads that clock on Linux).</summary>
    private static long MonotonicMicroseconds() => (long)(Stopwatch.GetTimestamp() * (1_000_000.0 / Stopwatch.Frequency));
}
