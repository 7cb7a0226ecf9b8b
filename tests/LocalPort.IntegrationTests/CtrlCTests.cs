using System.Diagnostics;
using System.Text.RegularExpressions;
using LocalPort.IntegrationTests.Fixtures;

namespace LocalPort.IntegrationTests;

/// <summary>
/// Ctrl-C in a terminal is SIGINT to the whole foreground process group. LocalPort's children must not be in it:
/// an ssh that gets it exits 255, is counted as a failure and is replaced while the shutdown runs.
/// </summary>
[Collection(SshCollection.Name)]
public sealed partial class CtrlCTests(SshServer ssh, ITestOutputHelper output) : Scenario(output)
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(20);
    private static readonly string[] Names = ["web-via-ssh", "echo-via-ssh"];

    [GeneratedRegex(@"started pid (\d+):")]
    private static partial Regex StartedPid();

    [Fact]
    public void Ctrl_c_to_the_process_group_exits_0_within_2_seconds_without_starting_or_leaving_an_ssh()
    {
        var web = Own(new HttpServer());
        var echo = Own(new EchoServer());
        var ports = FreePort.Next(2);
        // The defaults are the product: no restart_policy anywhere in this file.
        var path = WriteConfig("version: \"1.0\"\nservices:\n" +
                               Yaml.Ssh(Names[0], ports[0], web.Port, ssh) + "\n" +
                               Yaml.Ssh(Names[1], ports[1], echo.Port, ssh) + "\n");
        var run = Own(LocalPortProcess.StartAsProcessGroupLeader(Home, WorkingDirectory, "run", "-c", path));
        foreach (var name in Names) run.WaitForStatus(s => s.Name == name && s.IsRunning, StartTimeout);

        // localport leads its own group, as a foreground job does; the test is elsewhere and cannot be hit.
        Assert.Equal(run.Pid, Native.ProcessGroup(run.Pid));
        Assert.NotEqual(Native.ProcessGroup(Environment.ProcessId), run.Pid);
        var sshBefore = Names.Select(n => run.Latest(n)!.Pid!.Value).ToHashSet();
        Assert.All(sshBefore, pid => Assert.Equal("ssh", Native.Command(pid)));
        var startsBefore = Starts();
        var descendants = Native.Descendants(run.Pid);
        var stdoutFrom = run.StdoutCount;
        var stderrFrom = run.Stderr.Count;

        var clock = Stopwatch.StartNew();
        Assert.True(Native.SignalGroup(run.Pid, Native.SIGINT), $"could not signal process group {run.Pid}");
        // Watch localport's children while it shuts down: a replacement ssh shows up here (and in the service logs).
        var sshDuring = new HashSet<int>();
        var exit = Task.Run(() =>
        {
            var code = run.WaitForExit(TimeSpan.FromSeconds(30));
            return (Code: code, Elapsed: clock.Elapsed);
        });
        Poll.Until(() =>
        {
            foreach (var pid in Native.Children(run.Pid).Where(p => Native.Command(p) == "ssh")) sshDuring.Add(pid);
            return exit.IsCompleted;
        }, TimeSpan.FromSeconds(35));
        var (code, elapsed) = exit.GetAwaiter().GetResult();
        var startsAfter = Starts();
        var stderrAfter = run.Stderr.Skip(stderrFrom).ToList();
        var statusesAfter = run.Stdout.Skip(stdoutFrom).Select(StatusLine.TryParse).OfType<StatusLine>().ToList();
        var leftInGroup = Native.GroupMembers(run.Pid);
        Output.WriteLine($"SIGINT to process group {run.Pid}: exit {code} after {elapsed.TotalMilliseconds:0} ms; " +
                         $"ssh before [{string.Join(", ", sshBefore)}], seen after [{string.Join(", ", sshDuring)}], " +
                         $"starts {startsBefore.Count} -> {startsAfter.Count}, left in group [{string.Join(", ", leftInGroup)}]");
        foreach (var line in stderrAfter) Output.WriteLine("  " + line);

        Assert.True(code == 0, $"exit {code}. {run.Describe()}");
        Assert.True(elapsed < TimeSpan.FromSeconds(2), $"exit took {elapsed.TotalMilliseconds:0} ms. {run.Describe()}");
        Assert.True(startsAfter.SequenceEqual(startsBefore), $"ssh started after the signal: [{string.Join(", ", startsAfter.Except(startsBefore))}]. {run.Describe()}");
        Assert.True(sshDuring.IsSubsetOf(sshBefore), $"new ssh after the signal: [{string.Join(", ", sshDuring.Except(sshBefore))}]. {run.Describe()}");
        Assert.DoesNotContain(stderrAfter, l => l.Contains("(failure", StringComparison.Ordinal));
        Assert.DoesNotContain(statusesAfter, s => s.Pid is { } pid && !sshBefore.Contains(pid));
        Assert.All(descendants, pid => Assert.False(Native.IsAlive(pid), $"pid {pid} ({Native.Command(pid)}) outlived localport"));
        Assert.Empty(leftInGroup);
    }

    /// <summary>Every ssh pid the services ever started, in order, from the service logs (one header per start).</summary>
    private List<int> Starts() => Names
        .Select(name => Path.Combine(Home, "state", "logs", $"{name}.log"))
        .Where(File.Exists)
        .SelectMany(File.ReadAllLines)
        .Select(line => StartedPid().Match(line))
        .Where(m => m.Success)
        .Select(m => int.Parse(m.Groups[1].Value))
        .ToList();
}
