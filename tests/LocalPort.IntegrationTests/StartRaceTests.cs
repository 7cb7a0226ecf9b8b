using LocalPort.IntegrationTests.Fixtures;

namespace LocalPort.IntegrationTests;

/// <summary>
/// Two LocalPorts started at the same moment for the same LOCALPORT_HOME: one wins the instance lock before anything
/// starts; the other says so and exits having started nothing, so no tunnel is leaked.
/// </summary>
[Collection(SshCollection.Name)]
public sealed class StartRaceTests(SshServer ssh, ITestOutputHelper output) : Scenario(output)
{
    [Fact]
    public void Of_two_concurrent_starts_one_runs_three_ssh_and_the_other_exits_having_started_nothing()
    {
        var echo = Own(new EchoServer());
        var ports = FreePort.Next(3);
        var path = WriteConfig(Yaml.File(Enumerable.Range(0, 3).Select(i => Yaml.Ssh($"ssh-{i}", ports[i], echo.Port, ssh)).ToArray()));

        var first = Start("run", "-c", path);
        var second = Start("run", "-c", path);
        Poll.Assert(() => first.HasExited || second.HasExited, TimeSpan.FromSeconds(30), "one of the two to give way");
        var (loser, winner) = first.HasExited ? (first, second) : (second, first);

        Assert.Equal(1, loser.WaitForExit(TimeSpan.FromSeconds(10)));
        Assert.Contains(loser.Stderr, line => line.Contains("is already running", StringComparison.Ordinal));
        Assert.Empty(loser.Statuses);
        var names = new[] { "ssh-0", "ssh-1", "ssh-2" };
        Poll.Assert(() => names.All(n => winner.Latest(n) is { IsRunning: true, Pid: not null }), TimeSpan.FromSeconds(30), "three running ssh");
        var pids = names.Select(n => winner.Latest(n)!.Pid!.Value).ToList();
        Output.WriteLine($"winner pid {winner.Pid} runs ssh {string.Join(", ", pids)}; loser pid {loser.Pid}: {string.Join(" | ", loser.Stderr)}");
        Assert.All(pids, pid => Assert.Equal("ssh", Native.Command(pid)));

        Assert.True(winner.SendSignal(Native.SIGTERM));
        Assert.Equal(0, winner.WaitForExit(TimeSpan.FromSeconds(30)));
        Assert.All(pids, pid => Assert.False(Native.IsAlive(pid), $"ssh {pid} outlived the shutdown"));

        // The lock went with the winner: the next start is free to run.
        var next = RunUntilRunning(path, names, TimeSpan.FromSeconds(30));
        Assert.True(next.SendSignal(Native.SIGTERM));
        Assert.Equal(0, next.WaitForExit(TimeSpan.FromSeconds(30)));
    }
}
