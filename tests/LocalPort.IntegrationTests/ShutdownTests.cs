using System.Diagnostics;
using LocalPort.IntegrationTests.Fixtures;

namespace LocalPort.IntegrationTests;

/// <summary>SIGTERM/SIGINT on `localport run`: every phase runs, everything we started is gone, exit 0.</summary>
[Collection(SshCollection.Name)]
public sealed class ShutdownTests(SshServer ssh, ITestOutputHelper output) : Scenario(output)
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(20);

    [Theory]
    [InlineData(Native.SIGTERM, "SIGTERM")]
    [InlineData(Native.SIGINT, "SIGINT")]
    public async Task A_signal_stops_two_ssh_and_two_tcp_services_within_3_seconds_and_leaves_nothing_behind(int signal, string signalName)
    {
        var web = Own(new HttpServer());
        var echo = Own(new EchoServer());
        var ports = FreePort.Next(4);
        var path = WriteConfig(Yaml.File(
            Yaml.Ssh("web-via-ssh", ports[0], web.Port, ssh),
            Yaml.Ssh("echo-via-ssh", ports[1], echo.Port, ssh),
            Yaml.Tcp("web", ports[2], web.Port),
            Yaml.Tcp("echo", ports[3], echo.Port)));
        string[] names = ["web-via-ssh", "echo-via-ssh", "web", "echo"];
        var run = RunUntilRunning(path, names, StartTimeout);

        Assert.Equal(HttpServer.Body, await Traffic.TryHttpGetAsync(ports[0], TimeSpan.FromSeconds(5)));
        Assert.True(await Traffic.TryEchoAsync(ports[1], TimeSpan.FromSeconds(5)), run.Describe());
        Assert.Equal(HttpServer.Body, await Traffic.TryHttpGetAsync(ports[2], TimeSpan.FromSeconds(5)));
        Assert.True(await Traffic.TryEchoAsync(ports[3], TimeSpan.FromSeconds(5)), run.Describe());
        var sshPids = names.Take(2).Select(n => run.Latest(n)!.Pid!.Value).ToList();
        Assert.All(sshPids, pid => Assert.Equal("ssh", Native.Command(pid)));
        var children = Native.Descendants(run.Pid);
        Assert.Superset(sshPids.ToHashSet(), children.ToHashSet());

        var clock = Stopwatch.StartNew();
        Assert.True(run.SendSignal(signal));
        var code = run.WaitForExit(TimeSpan.FromSeconds(30));
        var elapsed = clock.Elapsed;
        Output.WriteLine($"{signalName}: exit {code} after {elapsed.TotalMilliseconds:0} ms; ssh pids {string.Join(", ", sshPids)}");
        foreach (var line in run.Stderr) Output.WriteLine("  " + line);

        Assert.True(code == 0, run.Describe());
        Assert.True(elapsed < TimeSpan.FromSeconds(5), $"exit took {elapsed.TotalMilliseconds:0} ms. {run.Describe()}");
        Assert.True(run.SaidStopped, run.Describe());
        Assert.All(children, pid => Assert.False(Native.IsAlive(pid), $"pid {pid} ({Native.Command(pid)}) outlived localport"));
        Assert.All(ports, port => Assert.True(Traffic.Refuses(port), $"port {port} still accepts connections"));
        var tunnels = Path.Combine(Home, "state", "run", "tunnels");
        var leftovers = Directory.Exists(tunnels) ? Directory.GetFiles(tunnels, "*.sock") : [];
        Assert.True(leftovers.Length == 0, $"tunnel sockets left behind: {string.Join(", ", leftovers)}");
    }

    /// <summary>
    /// SIGTERM as soon as the services run, while their first health checks may still hold a bare connection through the
    /// relays: complete-current has nothing in flight to wait for and says so, and cancel-tasks stops the shared ssh master
    /// and sees it exit, so force-cleanup has nothing left to kill.
    /// </summary>
    [Fact]
    public void Sigterm_right_after_start_finds_nothing_in_flight_and_leaves_force_cleanup_nothing_to_kill()
    {
        var echo = Own(new EchoServer());
        var ports = FreePort.Next(4);
        string[] names = ["ssh-a", "ssh-b", "tcp-a", "tcp-b"];
        var path = WriteConfig(Yaml.File(
            Yaml.Ssh(names[0], ports[0], echo.Port, ssh),
            Yaml.Ssh(names[1], ports[1], echo.Port, ssh),
            Yaml.Tcp(names[2], ports[2], echo.Port),
            Yaml.Tcp(names[3], ports[3], echo.Port)));
        var run = RunUntilRunning(path, names, StartTimeout);
        var master = run.Latest(names[0])!.Pid!.Value;
        Assert.Equal(master, run.Latest(names[1])!.Pid);

        Assert.True(run.SendSignal(Native.SIGTERM));
        var code = run.WaitForExit(TimeSpan.FromSeconds(30));
        foreach (var line in run.Stderr.Where(l => l.StartsWith("shutdown:", StringComparison.Ordinal))) Output.WriteLine("  " + line);

        Assert.True(code == 0, run.Describe());
        var report = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(Home, "state", "last-shutdown.json"))).RootElement;
        Output.WriteLine(report.ToString());
        var phases = report.GetProperty("phases").EnumerateArray().ToDictionary(p => p.GetProperty("phase").GetString()!);
        var completeCurrent = phases["localport-complete-current"];
        Assert.Equal(0, completeCurrent.GetProperty("in_flight").GetInt32());
        Assert.Equal("nothing in flight", completeCurrent.GetProperty("note").GetString());
        Assert.Contains(run.Stderr, l => l.StartsWith("shutdown: localport-complete-current done", StringComparison.Ordinal) && l.Contains("(nothing in flight)"));
        Assert.DoesNotContain(phases["localport-force-cleanup"].GetProperty("cleaned").EnumerateArray(),
            c => c.GetString()!.StartsWith("SIGKILL", StringComparison.Ordinal));
        Assert.False(Native.IsAlive(master), $"the shared ssh master {master} outlived localport");
        Assert.Equal(0, report.GetProperty("leftovers").GetArrayLength());
        Assert.All(ports, port => Assert.True(Traffic.Refuses(port), $"port {port} still accepts connections"));
    }

    /// <summary>
    /// A client that connected to a failed service's port is waiting for a tunnel that will never come
    /// (restarts are over, and shutdown freezes them anyway). It is not in-flight work, so the
    /// complete-current phase must not wait for it.
    /// </summary>
    [Fact]
    public async Task Sigterm_does_not_wait_for_a_client_that_is_waiting_on_a_failed_service()
    {
        var closedPort = FreePort.Next(); // no sshd here: ssh fails at once with "Connection refused"
        var port = FreePort.Next();
        var path = WriteConfig(Yaml.File($"""
              - name: nowhere
                technology: ssh
                local_port: {port}
                remote_port: 80
                connection:
                  host: 127.0.0.1
                  port: {closedPort}
                  user: {ssh.User}
                  key_file: {ssh.ClientKey}
                  options:
                    UserKnownHostsFile: {ssh.KnownHosts}
                restart_policy:
                  max_attempts: 1
            """));
        var run = Start("run", "-c", path);
        var failed = run.WaitForStatus(s => s.Name == "nowhere" && s.State == "failed", StartTimeout);
        Assert.Contains("refused", failed.LastError);
        // The port is LocalPort's own: it stays bound even while the service has failed.
        using var waiting = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
        await waiting.ConnectAsync(System.Net.IPAddress.Loopback, port);

        var clock = Stopwatch.StartNew();
        Assert.True(run.SendSignal(Native.SIGTERM));
        var code = run.WaitForExit(TimeSpan.FromSeconds(30));
        var elapsed = clock.Elapsed;
        Output.WriteLine($"SIGTERM with a client waiting on a failed service: exit {code} after {elapsed.TotalMilliseconds:0} ms");
        foreach (var line in run.Stderr.Where(l => !l.Contains("WRN"))) Output.WriteLine("  " + line);

        Assert.Equal(0, code);
        Assert.True(elapsed < TimeSpan.FromSeconds(5), $"exit took {elapsed.TotalMilliseconds:0} ms. {run.Describe()}");
    }
}
