using LocalPort.Core.Config;
using LocalPort.Core.Forwarding;

namespace LocalPort.Core.Tests.Forwarding;

/// <summary>Which ssh services share a master, and the command lines of a master and of its -O clients.</summary>
public sealed class SshGroupTests
{
    private static SshConnection Bastion(string remoteHost = "db.internal", IReadOnlyDictionary<string, string>? options = null) =>
        new("bastion", "deploy", 2222, "/keys/id", null, remoteHost, "jump@gw", "accept-new",
            options ?? new Dictionary<string, string> { ["ServerAliveInterval"] = "15", ["Compression"] = "yes" }, "/usr/bin/ssh");

    [Fact]
    public void Services_that_differ_only_in_the_far_end_share_a_group()
    {
        var db = SshGroup.Of(Bastion("db.internal"));
        var cache = SshGroup.Of(Bastion("cache.internal", new Dictionary<string, string> { ["compression"] = "yes", ["ServerAliveInterval"] = "15" }));

        Assert.NotNull(db);
        Assert.Equal(db, cache);
        Assert.Equal(db!.Hash, cache!.Hash);
        Assert.Equal("deploy@bastion:2222", db.Destination);
    }

    [Theory]
    [InlineData("user")]
    [InlineData("port")]
    [InlineData("key")]
    [InlineData("jump")]
    [InlineData("hostkeys")]
    [InlineData("option")]
    [InlineData("ssh_path")]
    [InlineData("standby")]
    public void Any_other_difference_makes_another_group(string what)
    {
        var one = Bastion();
        var other = what switch
        {
            "user" => one with { User = "root" },
            "port" => one with { Port = 22 },
            "key" => one with { KeyFile = "/keys/other" },
            "jump" => one with { JumpHost = null },
            "hostkeys" => one with { StrictHostKeyChecking = "yes" },
            "option" => one with { Options = new Dictionary<string, string> { ["ServerAliveInterval"] = "30", ["Compression"] = "yes" } },
            "ssh_path" => one with { SshPath = "/opt/ssh" },
            _ => one with { Standby = true },
        };

        Assert.NotEqual(SshGroup.Of(one), SshGroup.Of(other));
    }

    [Fact]
    public void Passwords_share_only_with_the_same_password_and_never_reach_the_key_text()
    {
        var one = SshGroup.Of(Bastion() with { Password = new Secret("hunter2") })!;
        var same = SshGroup.Of(Bastion() with { Password = new Secret("hunter2") })!;
        var other = SshGroup.Of(Bastion() with { Password = new Secret("swordfish") })!;

        Assert.Equal(one, same);
        Assert.NotEqual(one, other);
        Assert.DoesNotContain("hunter2", one.Text);
        Assert.DoesNotContain("hunter2", one.Hash);
    }

    [Theory]
    [InlineData("ControlMaster")]
    [InlineData("controlpath")]
    [InlineData("ControlPersist")]
    public void Services_that_opt_out_or_run_their_own_multiplexing_have_no_group(string option)
    {
        Assert.Null(SshGroup.Of(Bastion() with { Multiplex = false }));
        Assert.Null(SshGroup.Of(Bastion(options: new Dictionary<string, string> { [option] = "auto" })));
    }

    [Fact]
    public void A_control_path_that_would_be_too_long_for_a_unix_socket_is_refused()
    {
        var group = SshGroup.Of(Bastion())!;

        Assert.Equal($"/run/user/1000/localport/tunnels/cm-{group.Hash}-7", group.ControlPath("/run/user/1000/localport/tunnels", 7));
        Assert.Null(group.ControlPath("/home/" + new string('x', 80), 7));
    }

    [Fact]
    public void A_master_carries_no_forward_and_our_control_settings_win_over_the_users()
    {
        var args = TunnelCommands.SshMaster(Bastion(options: new Dictionary<string, string> { ["ServerAliveInterval"] = "15" }), "/run/t/cm-1");

        Assert.DoesNotContain("-L", args);
        Assert.Equal(["-N", "-T"], args.Take(2));
        Assert.Contains("ControlMaster=yes", args);
        Assert.Contains("ControlPath=/run/t/cm-1", args);
        Assert.Contains("ControlPersist=no", args);
        Assert.Contains("ServerAliveInterval=15", args);
        Assert.Equal(["-p", "2222", "-i", "/keys/id", "-J", "jump@gw", "deploy@bastion"], args.TakeLast(7));
    }

    [Fact]
    public void A_control_command_names_the_socket_its_forwards_and_the_destination_and_never_opens_a_connection()
    {
        var forwards = new[] { new SshForward("/run/t/db-1.sock", "db.internal", 5432), new SshForward("/run/t/api-2.sock", "localhost", 80) };

        var args = TunnelCommands.SshControl(Bastion(), "/run/t/cm-1", SshControl.Forward, forwards);

        Assert.Equal(["-S", "/run/t/cm-1", "-O", "forward", "-o", "ControlMaster=no",
            "-L", "/run/t/db-1.sock:db.internal:5432", "-L", "/run/t/api-2.sock:localhost:80", "deploy@bastion"], args);
        Assert.Equal(["-S", "/run/t/cm-1", "-O", "check", "-o", "ControlMaster=no", "deploy@bastion"],
            TunnelCommands.SshControl(Bastion(), "/run/t/cm-1", SshControl.Check, []));
    }

    [Theory]
    [InlineData(137, true)]
    [InlineData(143, true)]
    [InlineData(255, false)]
    [InlineData(0, false)]
    [InlineData(1, false)]
    public void Only_signal_exit_codes_count_as_killed(int code, bool bySignal) => Assert.Equal(bySignal, SshMaster.EndedBySignal(code));
}
