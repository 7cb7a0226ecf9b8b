using LocalPort.IntegrationTests.Fixtures;
using LocalPort.IntegrationTests.Recovery;

namespace LocalPort.IntegrationTests.SshSharing;

/// <summary>
/// ssh services to one host share one OpenSSH master (issue 14, item 1), driven through the real `localport run` and
/// CLI against a real sshd on loopback, with the shipped defaults (no restart_policy anywhere).
/// </summary>
[Collection(SshCollection.Name)]
public sealed class SharedMasterTests(SshServer ssh, ITestOutputHelper output) : Scenario(output)
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan ClientPeriod = TimeSpan.FromMilliseconds(20);
    private static readonly TimeSpan ExchangeTimeout = TimeSpan.FromSeconds(5);
    private static readonly string[] Names = ["web-a", "web-b", "web-c"];
    private static readonly string Check = NewUserYaml.HealthCheck("http", TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1), 2);

    private readonly StoppedProcesses _stopped = new();

    /// <summary>The three shared services, each to its own web server, running and answering.</summary>
    private async Task<(LocalPortProcess Run, int[] Ports)> StartShared(params string[] extra)
    {
        var ports = FreePort.Next(Names.Length);
        var services = Names.Select((name, i) => Yaml.Ssh(name, ports[i], Own(new HttpServer()).Port, ssh, healthCheck: Check)).Concat(extra).ToArray();
        var run = RunUntilRunning(WriteConfig(NewUserYaml.File(services)), Names, StartTimeout);
        foreach (var port in ports)
            Assert.True(await Poll.UntilAsync(async () => await Traffic.TryHttpGetAsync(port, TimeSpan.FromSeconds(2)) == HttpServer.Body, Bound),
                $"no HTTP answer through port {port} after start. {run.Describe()}");
        return (run, ports);
    }

    /// <summary>The one pid every shared service reports running, waiting (bounded) until they agree on a live one.</summary>
    private static async Task<int> Carrier(LocalPortProcess run, TimeSpan bound)
    {
        int? Agreed() => Names.Select(n => run.Latest(n)).ToList() is var all && all.All(s => s is { IsRunning: true, Pid: not null })
                         && all.Select(s => s!.Pid).Distinct().Count() == 1 && Native.IsAlive(all[0]!.Pid!.Value) ? all[0]!.Pid : null;
        Assert.True(await Poll.UntilAsync(() => Task.FromResult(Agreed() is not null), bound),
            $"the shared services do not report one running pid: {string.Join(" | ", Names.Select(n => run.Latest(n)?.Raw))}. {run.Describe()}");
        return Agreed()!.Value;
    }

    /// <summary>Waits until every shared service has reported running on a pid other than <paramref name="old"/>; returns that pid.</summary>
    private static async Task<int> MovedOff(LocalPortProcess run, int old, int from, TimeSpan bound)
    {
        var moved = new Dictionary<string, int>();
        foreach (var name in Names)
        {
            var line = await Blocking.Wait(() => run.TryWaitForLine(l => StatusLine.TryParse(l) is { } s && s.Name == name &&
                (s.State == "failed" || s.IsRunning && s.Pid is { } pid && pid != old), bound, from));
            var status = line is null ? null : StatusLine.TryParse(line);
            Assert.True(status is { IsRunning: true }, $"{name} did not come back running off pid {old}: {status?.Raw}. {run.Describe()}");
            moved[name] = status!.Pid!.Value;
        }
        Assert.True(moved.Values.Distinct().Count() == 1, $"the services came back on different pids: {string.Join(", ", moved)}");
        return moved.Values.First();
    }

    [Fact]
    public async Task Three_ssh_services_to_one_host_share_one_master_and_a_multiplex_false_service_runs_its_own_ssh()
    {
        var own = Own(new HttpServer());
        var ownPort = FreePort.Next();
        var (run, ports) = await StartShared(Yaml.Ssh("own", ownPort, own.Port, ssh, connection: "multiplex: false"));
        run.WaitForStatus(s => s.Name == "own" && s.IsRunning, StartTimeout);

        var shared = await Carrier(run, Bound);
        var ownPid = run.Latest("own")!.Pid!.Value;
        Assert.True(Poll.Until(() => SshProcesses.Children(run).Count == 2, Bound),
            $"ssh children: {string.Join(", ", SshProcesses.Children(run))} (master {shared}, own {ownPid})");
        var master = SshProcesses.CommandLine(shared);
        var single = SshProcesses.CommandLine(ownPid);
        Output.WriteLine($"shared master {shared}: {string.Join(' ', master)}\nown ssh {ownPid}: {string.Join(' ', single)}");

        Assert.NotEqual(shared, ownPid);
        Assert.Contains("ControlMaster=yes", master);
        Assert.DoesNotContain("-L", master);
        Assert.Contains("-L", single);
        Assert.DoesNotContain(single, a => a.StartsWith("ControlMaster", StringComparison.Ordinal));
        foreach (var port in ports.Append(ownPort))
            Assert.Equal(HttpServer.Body, await Traffic.TryHttpGetAsync(port, TimeSpan.FromSeconds(5)));
    }

    /// <summary>
    /// Restart, stop and start stay per service: the other services on the master keep serving every request, the
    /// master stays the same process, and the restarted service gets a forward of its own again.
    /// </summary>
    [Fact]
    public async Task Restarting_stopping_and_starting_one_shared_service_leaves_the_others_and_the_master_untouched()
    {
        var (run, ports) = await StartShared();
        var master = await Carrier(run, Bound);
        var tunnels = Path.Combine(Home, "state", "run", "tunnels");
        string[] Sockets(string service) => Directory.GetFiles(tunnels, $"{service}-*.sock").Select(Path.GetFileName).ToArray()!;
        var first = Sockets("web-a");
        Assert.Single(first);
        await using var b = ClientLoop.Http(ports[1], ClientPeriod, ExchangeTimeout);
        await using var c = ClientLoop.Http(ports[2], ClientPeriod, ExchangeTimeout);
        await using var a = ClientLoop.Http(ports[0], ClientPeriod, ExchangeTimeout);

        for (var number = 1; number <= 3; number++)
        {
            var before = Sockets("web-a").Single();
            var restart = Invoke("restart", "web-a");
            Assert.True(restart.ExitCode == 0, restart.Stderr);
            // The old forward serves until the new one is up, then is cancelled: the socket changes, nothing else does.
            Assert.True(Poll.Until(() => Sockets("web-a") is [var now] && now != before, Bound),
                $"restart #{number}: web-a's forward socket is still {string.Join(", ", Sockets("web-a"))}");
            var answeredAt = a.Now;
            Assert.True(await a.FirstAnswerAfterAsync(answeredAt, Bound) is not null, $"restart #{number}: web-a does not answer. {a.Summary()}");
        }
        // Enough traffic around the restarts to mean something, however fast the commands were.
        Assert.True(Poll.Until(() => a.Exchanges.Count > 50, Bound), $"web-a's client stalled: {a.Summary()}");
        var stoppedAt = a.Now;
        var stop = Invoke("stop", "web-a");
        Assert.True(stop.ExitCode == 0, stop.Stderr);
        Assert.True(Poll.Until(() => run.Latest("web-a") is { State: "stopped" } && Sockets("web-a").Length == 0, Bound), $"web-a did not stop. {run.Describe()}");
        Assert.True(Traffic.Refuses(ports[0]), "web-a's port still accepts after stop");
        var start = Invoke("start", "web-a");
        Assert.True(start.ExitCode == 0, start.Stderr);
        Assert.True(await Poll.UntilAsync(async () => await Traffic.TryHttpGetAsync(ports[0], TimeSpan.FromSeconds(2)) == HttpServer.Body, Bound),
            $"web-a does not serve after start. {run.Describe()}");
        Assert.True(Poll.Until(() => b.Exchanges.Count > 50 && c.Exchanges.Count > 50, Bound), $"clients stalled: {b.Summary()}; {c.Summary()}");
        await Task.WhenAll(a.StopAsync(), b.StopAsync(), c.StopAsync());

        Output.WriteLine($"web-b: {b.Summary()}\nweb-c: {c.Summary()}\nweb-a (restarted 3x, stopped, started): {a.Summary()}");
        Assert.Equal(master, run.Latest("web-a")!.Pid);
        Assert.Equal(master, await Carrier(run, Bound));
        Assert.True(b.Exchanges.Count > 50 && b.Exchanges.All(e => e.Outcome == Outcome.Ok), $"web-b was disturbed: {b.Summary()}");
        Assert.True(c.Exchanges.Count > 50 && c.Exchanges.All(e => e.Outcome == Outcome.Ok), $"web-c was disturbed: {c.Summary()}");
        // Through three restarts every request got its answer (while it is stopped its port is closed, as promised).
        var beforeStop = a.Exchanges.Where(e => e.Ended < stoppedAt).ToList();
        Assert.True(beforeStop.Count > 50 && beforeStop.All(e => e.Outcome == Outcome.Ok),
            $"web-a lost requests across its restarts: {string.Join("; ", beforeStop.Where(e => e.Outcome != Outcome.Ok).Take(5))}");
    }

    /// <summary>
    /// A reload that changes one shared service's connection moves it to a master of its own while the others keep
    /// theirs undisturbed; a reload that removes every ssh service leaves no ssh process behind.
    /// </summary>
    [Fact]
    public async Task A_reload_that_changes_one_services_connection_moves_it_to_a_new_master_and_removing_the_last_member_stops_its_master()
    {
        var ports = FreePort.Next(Names.Length);
        var upstream = Own(new HttpServer()).Port;
        string Service(int i) => Yaml.Ssh(Names[i], ports[i], upstream, ssh, healthCheck: Check);
        var config = WriteConfig(NewUserYaml.File(Names.Select((_, i) => Service(i)).ToArray()));
        var run = RunUntilRunning(config, Names, StartTimeout);
        var master = await Carrier(run, Bound);
        await using var a = ClientLoop.Http(ports[0], ClientPeriod, ExchangeTimeout);

        // web-c gains an ssh option: a different connection, so a different master.
        var from = run.StdoutCount;
        var option = "IdentitiesOnly: \"yes\"";
        WriteConfig(NewUserYaml.File(Service(0), Service(1), Service(2).Replace(option, option + "\n        Compression: \"no\"")));
        var line = await Blocking.Wait(() => run.TryWaitForLine(l => StatusLine.TryParse(l) is { Name: "web-c", IsRunning: true, Pid: { } pid } && pid != master, Bound, from));
        Assert.True(line is not null, $"web-c did not come back on a master of its own after the reload. {run.Describe()}");
        var own = StatusLine.TryParse(line!)!.Pid!.Value;
        Assert.True(await Poll.UntilAsync(async () => await Traffic.TryHttpGetAsync(ports[2], TimeSpan.FromSeconds(2)) == HttpServer.Body, Bound),
            $"web-c does not serve after the reload. {run.Describe()}");
        Assert.True(SshProcesses.IsMaster(own), $"web-c's new carrier {own} is not a master: {string.Join(' ', SshProcesses.CommandLine(own))}");
        Assert.Contains("Compression=no", SshProcesses.CommandLine(own));
        Assert.Equal(master, run.Latest("web-a")!.Pid);
        Assert.Equal(master, run.Latest("web-b")!.Pid);
        Assert.True(Poll.Until(() => SshProcesses.Children(run).Order().SequenceEqual(new[] { master, own }.Order()), Bound),
            $"ssh children: {string.Join(", ", SshProcesses.Children(run))}, expected {master} and {own}");
        Assert.True(Poll.Until(() => a.Exchanges.Count > 20, Bound), $"web-a's client stalled: {a.Summary()}");
        await a.StopAsync();
        Assert.True(a.Exchanges.All(e => e.Outcome == Outcome.Ok), $"web-a was disturbed by web-c's move: {a.Summary()}");

        // Every ssh service goes: both masters lose their last member and exit; the process runs on with a tcp service.
        var tcpPort = FreePort.Next();
        WriteConfig(NewUserYaml.File(Yaml.Tcp("plain", tcpPort, upstream)));
        run.WaitForStatus(s => s.Name == "plain" && s.IsRunning, Bound);
        Assert.True(Poll.Until(() => SshProcesses.Children(run).Count == 0 && !Native.IsAlive(master) && !Native.IsAlive(own), Bound),
            $"ssh processes left after the last ssh service was removed: {string.Join(", ", SshProcesses.Children(run))}. {run.Describe()}");
        Assert.Equal(HttpServer.Body, await Traffic.TryHttpGetAsync(tcpPort, TimeSpan.FromSeconds(5)));
        // Control sockets and forward sockets go with them.
        var tunnels = Path.Combine(Home, "state", "run", "tunnels");
        Assert.True(Poll.Until(() => !Directory.Exists(tunnels) || Directory.GetFiles(tunnels).Length == 0, Bound),
            $"left in {tunnels}: {string.Join(", ", Directory.GetFiles(tunnels).Select(Path.GetFileName))}");
    }

    [Fact]
    public void Chaos_kill_and_pause_of_a_shared_service_act_on_the_master_and_name_every_service_they_hit()
    {
        var ports = FreePort.Next(Names.Length);
        var echo = Own(new EchoServer());
        var run = RunUntilRunning(WriteConfig(NewUserYaml.File(Names.Select((n, i) => Yaml.Ssh(n, ports[i], echo.Port, ssh)).ToArray())), Names, StartTimeout);
        var master = Carrier(run, Bound).GetAwaiter().GetResult();

        var from = run.StdoutCount;
        var kill = Invoke("chaos", "kill", "web-b");
        Output.WriteLine(kill.Stdout + kill.Stderr);
        Assert.True(kill.ExitCode == 0, kill.Stderr);
        Assert.Contains($"sent SIGKILL to pid {master}", kill.Stdout);
        Assert.Contains("shared with web-a, web-c: every one of them is hit", kill.Stdout);
        var next = MovedOff(run, master, from, Bound).GetAwaiter().GetResult();

        var pause = Invoke("chaos", "pause", "web-c", "--for", "1s");
        Output.WriteLine(pause.Stdout + pause.Stderr);
        Assert.True(pause.ExitCode == 0, pause.Stderr);
        Assert.Contains($"sent SIGSTOP to pid {next}", pause.Stdout);
        Assert.Contains("shared with web-a, web-b: every one of them is hit", pause.Stdout);
        Poll.Assert(() => Native.State(next) is 'S' or 'R', TimeSpan.FromSeconds(5), "the paused master to continue");
    }

    /// <summary>
    /// The brief's repeated faults: the shared master killed 8 times 2 s apart, then SIGSTOPped. Every service sharing it
    /// serves again each time (a proven master that drops is an incident, retried at once, so the default policy never gives
    /// up), no connection is refused, and after SIGTERM no ssh process of ours is left.
    /// </summary>
    [Fact]
    public async Task The_shared_master_killed_8_times_then_sigstopped_leaves_every_service_serving_each_time_and_nothing_after_sigterm()
    {
        var (run, ports) = await StartShared();
        var loops = ports.Select(p => ClientLoop.Http(p, ClientPeriod, ExchangeTimeout)).ToList();
        var seen = new HashSet<int>();
        var instance = SshProcesses.InstanceOf(await Carrier(run, Bound));
        Assert.NotNull(instance);
        var recoveries = new List<double>();
        var deadline = new Deadline(TimeSpan.FromSeconds(60), "8 kills and a SIGSTOP");
        try
        {
            var next = TimeSpan.Zero;
            var clock = System.Diagnostics.Stopwatch.StartNew();
            for (var number = 1; number <= 9; number++)
            {
                if (next > clock.Elapsed) await Task.Delay(next - clock.Elapsed); // the scenario's own pacing: faults 2 s apart
                var master = await Carrier(run, deadline.Bound(Bound));
                seen.UnionWith(SshProcesses.Children(run));
                // Each service proved itself on this master before it is hurt again (its check passed).
                Assert.True(Poll.Until(() => Names.All(n => run.Latest(n) is { Healthy: true } s && s.Pid == master), deadline.Bound(Bound)),
                    $"fault #{number}: not every service was healthy on {master}. {run.Describe()}");
                var from = run.StdoutCount;
                var at = loops.Select(l => l.Now).ToList();
                var sigstop = number == 9;
                Assert.True(sigstop ? _stopped.StopChild(master) : Native.Signal(master, Native.SIGKILL), $"could not signal {master}");
                next = clock.Elapsed + TimeSpan.FromSeconds(2);

                var moved = await MovedOff(run, master, from, deadline.Bound(Bound));
                var served = new List<double>();
                for (var i = 0; i < loops.Count; i++)
                {
                    var answer = await loops[i].FirstAnswerAfterAsync(at[i], deadline.Bound(Bound));
                    Assert.True(answer is not null, $"fault #{number}: {Names[i]} gives no answer after {(sigstop ? "SIGSTOP" : "kill -9")} of {master}. " +
                                                    $"{loops[i].Summary()}. {run.Describe()}");
                    served.Add((answer!.Value - at[i]).TotalMilliseconds);
                }
                recoveries.Add(served.Max());
                Output.WriteLine($"{(sigstop ? "SIGSTOP" : "kill -9")} #{number} of master {master} -> {moved}; every service answering again after " +
                                 $"{Figures.Milliseconds(served)} ms");
                if (sigstop) Assert.True(Poll.Until(() => !Native.IsAlive(master), Bound), $"the stopped master {master} was left behind");
            }
        }
        finally
        {
            foreach (var loop in loops) await loop.StopAsync();
        }
        seen.UnionWith(SshProcesses.Children(run));
        foreach (var (loop, name) in loops.Zip(Names)) Output.WriteLine($"{name}: {loop.Summary()}");
        Output.WriteLine($"kill -> every service answering (ms): {Figures.Milliseconds(recoveries.Take(8))}; median {Figures.Median(recoveries.Take(8).ToList()):0}; " +
                         $"SIGSTOP -> answering: {recoveries[^1]:0} ms");

        Assert.All(loops, loop => Assert.Equal(0, loop.Count(Outcome.Refused)));
        Assert.All(Names, name => Assert.True(run.Latest(name) is { IsRunning: true }, $"{name} ends {run.Latest(name)?.Raw}"));
        Assert.True(run.SendSignal(Native.SIGTERM));
        Assert.Equal(0, run.WaitForExit(TimeSpan.FromSeconds(30)));
        Assert.All(seen, pid => Assert.False(Native.IsAlive(pid), $"ssh {pid} outlived localport"));
        Assert.Empty(SshProcesses.Tagged(instance!));
        foreach (var loop in loops) await loop.DisposeAsync();
    }

    public override void Dispose()
    {
        _stopped.Dispose();
        base.Dispose();
    }
}
