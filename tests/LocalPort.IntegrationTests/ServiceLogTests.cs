using System.Text.RegularExpressions;
using LocalPort.IntegrationTests.Fixtures;

namespace LocalPort.IntegrationTests;

/// <summary>
/// A service log has one writer (issue 13 item 4). A restart runs the old ssh and the new one side by side, and both
/// write to the log. Real sshd, real ssh at LogLevel VERBOSE: it logs a line when it has connected and two when SIGTERM
/// ends it, after its successor's header. Restarts go through the CLI.
/// </summary>
[Collection(SshCollection.Name)]
public sealed partial class ServiceLogTests(SshServer ssh, ITestOutputHelper output) : Scenario(output)
{
    private const int Restarts = 20;
    private const string Service = "talky";
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    [GeneratedRegex(@"^==== \d{4}-\d\d-\d\dT[\d:.]+(Z|[+-]\d\d:\d\d) started pid (?<pid>\d+): ssh -N -T( -o \w+=\S+)+ -L /\S+\.sock:127\.0\.0\.1:\d+ -p \d+ -i /\S+ \S+@127\.0\.0\.1$")]
    private static partial Regex StartHeader();

    [GeneratedRegex(@"^==== \d{4}-\d\d-\d\dT[\d:.]+(Z|[+-]\d\d:\d\d) pid (?<pid>\d+) exited with code -?\d+$")]
    private static partial Regex ExitHeader();

    [GeneratedRegex(@"^\[pid (?<pid>\d+)\] (?<text>.*)$")]
    private static partial Regex Tagged();

    [Fact]
    public void Twenty_restarts_leave_twenty_intact_start_headers_in_order_each_followed_by_its_own_output()
    {
        var echo = Own(new EchoServer());
        // Its own ssh per restart (multiplex: false): a restart on a shared master starts no process, so nothing would overlap.
        var service = Yaml.Ssh(Service, FreePort.Next(), echo.Port, ssh, connection: "multiplex: false")
            .Replace("IdentitiesOnly: \"yes\"", "IdentitiesOnly: \"yes\"\n        LogLevel: VERBOSE", StringComparison.Ordinal);
        var config = WriteConfig(Yaml.File(service));
        var run = RunUntilRunning(config, [Service], Bound);
        var pids = new List<int> { run.Latest(Service)!.Pid!.Value };

        for (var i = 1; i <= Restarts; i++)
        {
            var from = run.StdoutCount;
            var restart = Invoke("restart", Service);
            Assert.True(restart.ExitCode == 0, $"restart {i}: {restart.Stderr}");
            var next = run.WaitForStatus(s => s.Name == Service && s.IsRunning && s.Pid is { } pid && !pids.Contains(pid), Bound, from).Pid!.Value;
            var previous = pids[^1];
            Poll.Assert(() => !Native.IsAlive(previous), Bound, $"the ssh replaced by restart {i} ({previous}) to exit");
            pids.Add(next);
        }
        Assert.True(run.SendSignal(Native.SIGTERM));
        Assert.Equal(0, run.WaitForExit(Bound));

        var lines = File.ReadAllLines(Path.Combine(Home, "state", "logs", $"{Service}.log"));
        Output.WriteLine(string.Join('\n', lines.Take(12)));
        var starts = lines.Select(line => StartHeader().Match(line)).Where(m => m.Success).Select(m => int.Parse(m.Groups["pid"].Value)).ToList();
        Assert.Equal(pids, starts);

        // Line by line: a header opens a child's run, its exit header closes it, and every other line is output of a
        // child whose run is open: untagged, the child whose header came last; tagged "[pid N]", child N.
        int? latest = null;
        var open = new HashSet<int>();
        var exited = new List<int>();
        var said = pids.ToDictionary(pid => pid, _ => new List<string>());
        foreach (var (line, number) in lines.Select((line, index) => (line, index + 1)))
        {
            var where = $"line {number}: {line}";
            if (StartHeader().Match(line) is { Success: true } start)
            {
                latest = int.Parse(start.Groups["pid"].Value);
                open.Add(latest.Value);
                continue;
            }
            if (ExitHeader().Match(line) is { Success: true } exit)
            {
                var pid = int.Parse(exit.Groups["pid"].Value);
                Assert.True(open.Remove(pid), $"an exit of a child that is not running: {where}");
                exited.Add(pid);
                continue;
            }
            Assert.False(line.Contains("====", StringComparison.Ordinal) || line.Contains("started pid", StringComparison.Ordinal),
                $"a broken header: {where}");
            var tagged = Tagged().Match(line);
            var speaker = tagged.Success ? int.Parse(tagged.Groups["pid"].Value) : latest;
            Assert.True(speaker is { } s && open.Contains(s), $"output outside its child's run: {where}");
            said[speaker!.Value].Add(tagged.Success ? tagged.Groups["text"].Value : line);
        }
        Assert.Empty(open);
        Assert.Equal(pids.Order(), exited.Order());
        Assert.All(pids, pid => Assert.Single(said[pid], text => text.StartsWith("Authenticated to 127.0.0.1", StringComparison.Ordinal)));
        Assert.All(pids, pid => Assert.Single(said[pid], text => text.StartsWith("Transferred: ", StringComparison.Ordinal)));
    }
}
