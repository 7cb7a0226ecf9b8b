using LocalPort.IntegrationTests.Fixtures;

namespace LocalPort.IntegrationTests;

/// <summary>`localport ssh test` against a real sshd on loopback: success, and each failure named in plain words (issue 13).</summary>
[Collection(SshCollection.Name)]
public sealed class SshTestCommandTests(SshServer ssh, ITestOutputHelper output) : Scenario(output)
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    private static string Dump(Run.Result result) => $"exit {result.ExitCode}\n--- stdout ---\n{result.Stdout}\n--- stderr ---\n{result.Stderr}";

    /// <summary>The fixture's connection block with one setting changed (known_hosts stays the test's own, never ~/.ssh).</summary>
    private string Service(string from = "", string to = "") => Yaml.File($"""
          - name: tunnel
            technology: ssh
            local_port: {FreePort.Next()}
            remote_port: 80
            connection:
        {(from.Length == 0 ? ssh.ConnectionYaml() : ssh.ConnectionYaml().Replace(from, to))}
        """);

    public static TheoryData<string, string, int, string> Cases => new()
    {
        { "", "", 0, "ok: logged in to 127.0.0.1" },
        { "user: {user}", "user: lp-no-such-user", 1, "authentication failed" },
        { "strict_host_key_checking: accept-new", "strict_host_key_checking: \"yes\"", 1, "host key not trusted" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Ssh_test_logs_in_with_the_services_settings_and_names_what_went_wrong(string from, string to, int exitCode, string words)
    {
        var yaml = Service(from.Replace("{user}", ssh.User), to);
        // Host key case: a known_hosts that does not know this server.
        if (to.Contains("\"yes\"")) yaml = yaml.Replace(ssh.KnownHosts, "/dev/null");
        WriteConfig(yaml);

        var result = LocalPortProcess.Invoke(Home, WorkingDirectory, null, Bound, "ssh", "test", "tunnel");

        Assert.True(result.ExitCode == exitCode, Dump(result));
        Assert.Contains(words, result.Stdout + result.Stderr);
        Assert.DoesNotContain("   at ", result.Stderr);
    }

    [Fact]
    public void Ssh_test_of_a_closed_loopback_port_says_it_is_unreachable()
    {
        var closed = FreePort.Next();

        var result = LocalPortProcess.Invoke(Home, WorkingDirectory, null, Bound, "ssh", "test", "--host", "127.0.0.1", "--port", closed.ToString());

        Assert.True(result.ExitCode == 1, Dump(result));
        Assert.Contains($"unreachable: nothing listens on 127.0.0.1:{closed} (connection refused)", result.Stderr);
    }

    [Fact]
    public void Ssh_validate_names_a_missing_key_file()
    {
        WriteConfig(Service($"key_file: {ssh.ClientKey}", "key_file: /nonexistent/key"));

        var result = LocalPortProcess.Invoke(Home, WorkingDirectory, null, Bound, "ssh", "validate");

        Assert.True(result.ExitCode == 2, Dump(result));
        Assert.Contains("tunnel: key_file /nonexistent/key does not exist", result.Stdout);
    }
}
