using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using LocalPort.IntegrationTests.Fixtures;

namespace LocalPort.IntegrationTests;

/// <summary>
/// `localport run` with a low open-files limit and more held client connections than it allows: the relay pauses
/// (clients wait in the backlog), the process stays up, `status` answers, and once the clients go every descriptor
/// comes back and the port serves again.
/// </summary>
public sealed class DescriptorLimitTests(ITestOutputHelper output) : Scenario(output)
{
    /// <summary>
    /// What `ulimit -n 256` sets (soft and hard, so it cannot be raised). An idle `run` already holds ~245 of them here,
    /// two per loaded assembly, so this is the tightest case: the relay gets the few that are left.
    /// </summary>
    private const int Limit = 256;
    private const int Clients = 300;
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task Held_connections_beyond_the_limit_pause_the_relay_while_status_answers_and_every_descriptor_comes_back()
    {
        var upstream = Own(new EchoServer());
        var port = FreePort.Next();
        var path = WriteConfig($"""
            version: "1.0"
            services:
              - name: echo
                technology: tcp
                local_port: {port}
                remote_port: {upstream.Port}
                connection:
                  host: 127.0.0.1
            """);
        var run = Own(LocalPortProcess.StartAfter($"ulimit -n {Limit}", Home, WorkingDirectory, "run", "-c", path));
        run.WaitForStatus(s => s.Name == "echo" && s.IsRunning, StartTimeout);
        Assert.Equal(Limit, OpenFilesLimit(run.Pid));
        Assert.True(await Traffic.TryEchoAsync(port, TimeSpan.FromSeconds(5)), run.Describe());
        Assert.Equal(0, Invoke("status").ExitCode);
        var idle = QuietCount(run.Pid);

        var statusFailures = new List<string>();
        var statusTimes = new List<double>();
        using var stopStatus = new CancellationTokenSource();
        var statusLoop = Task.Run(() =>
        {
            while (!stopStatus.IsCancellationRequested)
            {
                var clock = Stopwatch.StartNew();
                var status = Invoke("status");
                lock (statusTimes) statusTimes.Add(clock.Elapsed.TotalMilliseconds);
                if (status.ExitCode != 0) lock (statusFailures) statusFailures.Add($"exit {status.ExitCode}: {status.Stdout} {status.Stderr}");
                stopStatus.Token.WaitHandle.WaitOne(300);
            }
        });

        var held = new List<Socket>();
        try
        {
            for (var i = 0; i < Clients; i++) held.Add(await ConnectAsync(port));
            // The relay takes what the limit allows, then pauses: a new client waits behind the held ones.
            var paused = !await Traffic.TryEchoAsync(port, TimeSpan.FromSeconds(1));
            var peak = Count(run.Pid);
            Assert.False(run.HasExited, run.Describe());
            Assert.True(Poll.Until(() => { lock (statusTimes) return statusTimes.Count >= 3; }, TimeSpan.FromSeconds(30)), "status did not run 3 times");

            var release = Stopwatch.StartNew();
            foreach (var socket in held) socket.Dispose();
            held.Clear();
            var servedAgain = await Poll.UntilAsync(() => Traffic.TryEchoAsync(port, TimeSpan.FromSeconds(1)), TimeSpan.FromSeconds(10));
            var servedAfter = release.Elapsed;
            var back = Poll.Until(() => Count(run.Pid) <= idle, TimeSpan.FromSeconds(15));
            var backAfter = release.Elapsed;
            stopStatus.Cancel();
            await statusLoop.WaitAsync(TimeSpan.FromSeconds(30));

            Output.WriteLine($"limit {Limit}: idle {idle} fds; {Clients} held clients -> peak {peak} fds, new connections " +
                             $"{(paused ? "waited (relay paused)" : "still served")}; status ran {statusTimes.Count} times, " +
                             $"max {statusTimes.Max():0} ms, {statusFailures.Count} failed; after release: served again in " +
                             $"{servedAfter.TotalMilliseconds:0} ms, fds back to {Count(run.Pid)} in {backAfter.TotalMilliseconds:0} ms");
            Assert.Empty(statusFailures);
            Assert.True(paused, $"the relay still accepted at {peak} of {Limit} descriptors");
            Assert.InRange(peak, idle, Limit - 1);
            Assert.True(servedAgain, $"not served again after the release. {run.Describe()}");
            Assert.True(servedAfter < TimeSpan.FromSeconds(1), $"served again only after {servedAfter.TotalMilliseconds:0} ms");
            Assert.True(back, $"{Count(run.Pid)} descriptors open after the release, {idle} before the load");
            Assert.True(run.Latest("echo")?.IsRunning, run.Describe());
        }
        finally
        {
            stopStatus.Cancel();
            foreach (var socket in held) socket.Dispose();
        }

        Assert.True(run.SendSignal(Native.SIGTERM));
        Assert.Equal(0, run.WaitForExit(TimeSpan.FromSeconds(10)));
    }

    private static async Task<Socket> ConnectAsync(int port)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), timeout.Token);
        return socket;
    }

    private static int Count(int pid) => Directory.GetFileSystemEntries($"/proc/{pid}/fd").Length;

    /// <summary>
    /// The lowest of samples over a second: a health check or status request in flight briefly holds a few more, and
    /// what start-up loads in the background (the control API's warm-up) is in by then.
    /// </summary>
    private static int QuietCount(int pid)
    {
        var lowest = int.MaxValue;
        for (var i = 0; i < 20; i++)
        {
            Thread.Sleep(50);
            lowest = Math.Min(lowest, Count(pid));
        }
        return lowest;
    }

    /// <summary>The soft "Max open files" of a process, from /proc/PID/limits.</summary>
    private static int OpenFilesLimit(int pid) =>
        int.Parse(File.ReadLines($"/proc/{pid}/limits").First(l => l.StartsWith("Max open files"))
            .Split(' ', StringSplitOptions.RemoveEmptyEntries)[3]);
}
