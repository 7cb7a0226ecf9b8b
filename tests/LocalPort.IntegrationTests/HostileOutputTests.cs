using LocalPort.IntegrationTests.Fixtures;

namespace LocalPort.IntegrationTests;

/// <summary>
/// Terminal escapes a child prints never reach `run`'s status, last_error or the service log (issue 11 item 7), as
/// the issue found it: a kubectl_path script that prints OSC (window title) and clear-screen sequences. The script
/// stands in for a hostile or broken kubectl on purpose; the real kubectl prints no such thing.
/// </summary>
public sealed class HostileOutputTests(ITestOutputHelper output) : Scenario(output)
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(20);

    [Fact]
    public void Escape_sequences_from_a_child_are_stripped_from_status_last_error_and_the_log()
    {
        var kubectl = Path.Combine(WorkingDirectory, "hostile-kubectl");
        File.WriteAllText(kubectl,
            "#!/bin/sh\nprintf '\\033]0;owned\\007\\033[2J\\033[H\\033[31mUnable to connect to the server\\033[0m\\n' >&2\nexit 1\n");
        File.SetUnixFileMode(kubectl, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var config = WriteConfig(Yaml.File(Yaml.Kubectl("api", FreePort.Next(), 80, $"""
            resource_name: api
            kubectl_path: {kubectl}
            """)));

        var run = Start("run", "-c", config);

        var failed = run.WaitForStatus(s => s.Name == "api" && s.LastError is not null, Bound);
        Output.WriteLine(failed.Raw);
        Assert.Contains("Unable to connect to the server", failed.LastError);
        Assert.DoesNotContain(run.Stdout.Concat(run.Stderr), line => line.Contains('\u001b') || line.Contains('\u0007'));
        var log = Path.Combine(Home, "state", "logs", "api.log");
        Assert.True(Poll.Until(() => File.Exists(log) && File.ReadAllText(log).Contains("Unable to connect"), Bound), $"{log} has no output");
        var logged = File.ReadAllText(log);
        Assert.DoesNotContain('\u001b', logged);
        Assert.DoesNotContain('\u0007', logged);
    }
}
