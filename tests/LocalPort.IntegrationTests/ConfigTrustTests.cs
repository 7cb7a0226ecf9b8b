using System.Text.Json;
using LocalPort.Core;
using LocalPort.IntegrationTests.Fixtures;

namespace LocalPort.IntegrationTests;

/// <summary>
/// A config is read only from a file nobody else can change (issue 11 item 5): one that group or others may write, or
/// that another user owns, is refused with exit 2 by every command that reads it, and by a reload, naming the file and
/// the fix; `--trust-config` reads it anyway.
/// </summary>
public sealed class ConfigTrustTests(ITestOutputHelper output) : Scenario(output)
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);
    private static readonly UnixFileMode Writable = (UnixFileMode)Convert.ToInt32("666", 8);

    private static readonly string[][] ReadingCommands =
    [
        ["config", "validate"],
        ["config", "export"],
        ["run"],
        ["daemon", "start"],
        ["start", "--all"],
        ["cluster", "status"],
    ];

    private string Config(UnixFileMode mode, params int[] ports)
    {
        var path = WriteConfig(Yaml.File(ports.Select((port, i) => Yaml.Tcp($"svc{i}", port, 9)).ToArray()));
        File.SetUnixFileMode(path, mode);
        return path;
    }

    private void AssertRefusedEverywhere(string path, string expected, string fix)
    {
        foreach (var command in ReadingCommands)
        {
            var result = Invoke([.. command, "-c", path]);
            Output.WriteLine($"localport {string.Join(' ', command)}: exit {result.ExitCode}\n{result.Stderr}");
            Assert.True(result.ExitCode == 2, $"{string.Join(' ', command)} exited {result.ExitCode}, expected 2");
            Assert.Contains($"{path}:1:1: error: config file {path}", result.Stderr);
            Assert.Contains(expected, result.Stderr);
            Assert.Contains(fix, result.Stderr);
            Assert.Contains("--trust-config", result.Stderr);
        }
        // Nothing was started: no daemon answers, and no state was created.
        Assert.Equal(3, Invoke("status").ExitCode);
        Assert.False(Directory.Exists(Path.Combine(Home, "state")), "a refused config must start nothing");
    }

    [Theory]
    [InlineData("666", "is writable by group and others (mode 0666)")]
    [InlineData("664", "is writable by group (mode 0664)")]
    [InlineData("602", "is writable by others (mode 0602)")]
    public void A_config_others_can_write_is_refused_by_every_command_that_reads_it(string octal, string expected)
    {
        OtherUser.RequireRoot();
        var path = Config((UnixFileMode)Convert.ToInt32(octal, 8), FreePort.Next());
        // A group another user is in (nobody's): group write is theirs too.
        OtherUser.ShareGroup(path);

        AssertRefusedEverywhere(path, expected, $"chmod go-w {path}");
    }

    /// <summary>Under umask 002 (Debian and Ubuntu users' default) an editor writes 0664 with the user's private group: still only theirs.</summary>
    [Fact]
    public void A_config_writable_only_by_its_owners_private_group_is_read()
    {
        OtherUser.RequireRoot();
        var path = Config((UnixFileMode)Convert.ToInt32("664", 8), FreePort.Next());
        Assert.True(Accounts.IsPrivateGroup(0, 0), "root's group is expected to be root's alone on the test machine (/etc/group, /etc/passwd)");

        var result = Invoke("config", "validate", "-c", path);

        Assert.True(result.ExitCode == 0, $"exit {result.ExitCode}: {result.Stderr}");
    }

    [Fact]
    public void A_config_another_user_owns_is_refused_by_every_command_that_reads_it()
    {
        OtherUser.RequireRoot();
        var path = Config((UnixFileMode)Convert.ToInt32("644", 8), FreePort.Next());
        OtherUser.Own(path);

        AssertRefusedEverywhere(path, $"belongs to uid {OtherUser.Uid}, not to you (uid 0) or root", $"chown 0 {path}");
    }

    [Fact]
    public void A_link_to_a_writable_config_is_judged_by_the_file_it_leads_to()
    {
        var target = Config(Writable, FreePort.Next());
        var link = Path.Combine(WorkingDirectory, "linked.yaml");
        File.CreateSymbolicLink(link, target);

        var refused = Invoke("config", "validate", "-c", link);
        Output.WriteLine(refused.Stderr);
        Assert.Equal(2, refused.ExitCode);
        Assert.Contains($"config file {link} (a link to {target}) is writable by group and others", refused.Stderr);

        File.SetUnixFileMode(target, (UnixFileMode)Convert.ToInt32("644", 8));
        var accepted = Invoke("config", "validate", "-c", link);
        Assert.True(accepted.ExitCode == 0, accepted.Stderr);
    }

    [Fact]
    public void Trust_config_reads_a_writable_config_and_is_documented_in_help()
    {
        var path = Config(Writable, FreePort.Next());

        var validate = Invoke("--trust-config", "config", "validate", "-c", path);
        Assert.True(validate.ExitCode == 0, validate.Stderr);
        var run = RunUntilRunning(path, ["svc0"], Bound, "--trust-config");
        Assert.True(run.SendSignal(Native.SIGTERM));
        Assert.Equal(0, run.WaitForExit(Bound));

        var help = Invoke("--help");
        Assert.Contains("--trust-config", help.Stdout);
    }

    [Fact]
    public async Task A_reload_of_a_file_that_became_writable_by_others_is_refused_and_the_services_keep_running()
    {
        var echo = Own(new EchoServer());
        var ports = FreePort.Next(2);
        var path = WriteConfig(Yaml.File(Yaml.Tcp("kept", ports[0], echo.Port)));
        var run = RunUntilRunning(path, ["kept"], Bound);

        // Someone loosens the mode (no file event), then the file is changed: the watcher's reload must refuse it.
        File.SetUnixFileMode(path, Writable);
        File.AppendAllText(path, Yaml.Tcp("planted", ports[1], echo.Port) + "\n");
        Poll.Assert(() => LastReload() is { } last && !last.GetProperty("ok").GetBoolean(), Bound, "the file change to be refused");
        var refusal = LastReload()!.Value.GetProperty("error").GetString();
        Output.WriteLine(refusal);
        Assert.Contains($"config file {path} is writable by group and others (mode 0666)", refusal);

        // An explicit reload is refused the same way, with the documented exit code.
        var reload = Invoke("daemon", "reload");
        Output.WriteLine($"daemon reload: exit {reload.ExitCode}\n{reload.Stderr}");
        Assert.Equal(2, reload.ExitCode);
        Assert.Contains($"chmod go-w {path}", reload.Stderr);

        Assert.True(await Traffic.TryEchoAsync(ports[0], Bound), "the running service stopped serving");
        Assert.DoesNotContain(Services(), name => name == "planted");
        Assert.True(Traffic.Refuses(ports[1]), "the planted service's port was opened");
        var log = File.ReadAllText(Path.Combine(Home, "state", "logs", "localport.log"));
        Assert.Contains($"config file {path} is writable by group and others", log);

        Assert.True(run.SendSignal(Native.SIGTERM));
        Assert.Equal(0, run.WaitForExit(Bound));
    }

    private JsonElement Status()
    {
        var result = Invoke("status", "-o", "json");
        Assert.True(result.ExitCode == 0, result.Stderr);
        return JsonDocument.Parse(result.Stdout).RootElement.Clone();
    }

    private JsonElement? LastReload() => Status().GetProperty("last_reload") is { ValueKind: JsonValueKind.Object } last ? last : null;

    private IEnumerable<string?> Services() => Status().GetProperty("services").EnumerateArray().Select(s => s.GetProperty("name").GetString());
}
