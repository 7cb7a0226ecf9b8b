using LocalPort.IntegrationTests.Fixtures;

namespace LocalPort.IntegrationTests;

/// <summary>
/// The control socket answers only its own user and root, by the peer's credentials (SO_PEERCRED), not only by the
/// socket's 0600 mode (issue 11 item 8). The other user is real (nobody, through setpriv) and runs the real CLI.
/// </summary>
public sealed class ControlSocketPeerTests(ITestOutputHelper output) : Scenario(output)
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);
    private static readonly UnixFileMode Traversable = (UnixFileMode)Convert.ToInt32("711", 8);

    private string State => Path.Combine(Home, "state");
    private string Socket => Path.Combine(State, "run", "localport.sock");

    /// <summary>`localport ARGS` as the other user, against this test's LOCALPORT_HOME, to completion.</summary>
    private Run.Result InvokeAsOtherUser(params string[] arguments)
    {
        using var process = LocalPortProcess.StartAsOtherUser(Home, null, arguments);
        var code = process.WaitForExit(Bound);
        Output.WriteLine($"as uid {OtherUser.Uid}: localport {string.Join(' ', arguments)}: exit {code}\n{process.Describe()}");
        return new Run.Result(code, string.Join('\n', process.Stdout), string.Join('\n', process.Stderr));
    }

    [Fact]
    public void Another_user_who_can_reach_the_socket_is_refused_by_its_uid()
    {
        OtherUser.RequireRoot();
        var config = WriteConfig(Yaml.File(Yaml.Tcp("plain", FreePort.Next(), 9)));
        var run = RunUntilRunning(config, ["plain"], Bound);
        Assert.Equal(0, Invoke("status").ExitCode);

        // Take the mode away as a guard: the directories become traversable and the socket 0666, so only the peer check is left.
        foreach (var directory in new[] { Root, Home, State, Path.Combine(State, "run") })
            File.SetUnixFileMode(directory, File.GetUnixFileMode(directory) | Traversable);
        File.SetUnixFileMode(Socket, (UnixFileMode)Convert.ToInt32("666", 8));

        var refused = InvokeAsOtherUser("status");

        Assert.Equal(1, refused.ExitCode);
        // Naming the uid proves the request reached LocalPort and was refused there, not by a file permission.
        Assert.Contains($"refused this request: the control API answers only root (uid 0); this request came from uid {OtherUser.Uid}", refused.Stderr);
        Assert.Equal(0, Invoke("status").ExitCode); // its own user is still answered
        Assert.True(run.SendSignal(Native.SIGTERM));
        Assert.Equal(0, run.WaitForExit(Bound));
        var log = File.ReadAllText(Path.Combine(State, "logs", "localport.log"));
        Assert.Contains($"control API: refused GET /v1/status: the control API answers only root (uid 0); this request came from uid {OtherUser.Uid}", log);
    }

    [Fact]
    public void A_LocalPort_another_user_runs_answers_root_and_that_user_trusts_a_root_owned_config()
    {
        OtherUser.RequireRoot();
        // The other user's home and config: the config stays root's (0644), which they may read and trust.
        foreach (var directory in new[] { Root, WorkingDirectory })
            File.SetUnixFileMode(directory, File.GetUnixFileMode(directory) | Traversable);
        var config = WriteConfig(Yaml.File(Yaml.Tcp("theirs", FreePort.Next(), 9)));
        File.SetUnixFileMode(config, (UnixFileMode)Convert.ToInt32("644", 8));
        File.SetUnixFileMode(Home, (UnixFileMode)Convert.ToInt32("755", 8));
        OtherUser.Own(Home);

        using var run = LocalPortProcess.StartAsOtherUser(Home, null, "run", "-c", config);
        run.WaitForStatus(s => s.Name == "theirs" && s.IsRunning, Bound);

        Assert.Equal(OtherUser.Uid, uint.Parse(Run.Program("/usr/bin/stat", ["-c", "%u", Socket]).Stdout.Trim()));
        var status = Invoke("status");
        Output.WriteLine(status.Stdout + status.Stderr);
        Assert.True(status.ExitCode == 0, status.Stderr);
        Assert.Contains("theirs", status.Stdout);
        Assert.True(run.SendSignal(Native.SIGTERM));
        Assert.True(run.WaitForExit(Bound) == 0, run.Describe());
    }
}
