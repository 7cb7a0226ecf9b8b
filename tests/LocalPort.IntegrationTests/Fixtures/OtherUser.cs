namespace LocalPort.IntegrationTests.Fixtures;

/// <summary>
/// Another local user (nobody, uid 65534), for what only ownership and peer checks decide: files they own and
/// requests they send. Becoming them or giving them a file takes root, which CI runs as (DESIGN.md field notes).
/// </summary>
public static class OtherUser
{
    public const uint Uid = 65534;
    public const uint Gid = 65534;

    /// <summary>Fails (never skips) when the tests do not run as root, saying why.</summary>
    public static void RequireRoot() => Assert.True(Run.Program("/usr/bin/id", ["-u"]).Stdout.Trim() == "0",
        "this test acts as another user (chown, setpriv), which needs root; CI runs the tests as root");

    /// <summary>Makes a file or directory theirs (chown, no link followed).</summary>
    public static void Own(string path)
    {
        var result = Run.Program("/bin/chown", ["-h", $"{Uid}:{Gid}", path]);
        Assert.True(result.ExitCode == 0, $"chown {path}: {result.Stderr}");
    }

    /// <summary>Gives a file of ours their group (chgrp, no link followed): group write then lets them change it.</summary>
    public static void ShareGroup(string path)
    {
        var result = Run.Program("/bin/chgrp", ["-h", $"{Gid}", path]);
        Assert.True(result.ExitCode == 0, $"chgrp {path}: {result.Stderr}");
    }

    /// <summary>The argv prefix that runs a program as them: util-linux setpriv execs in place, so the pid is the program's.</summary>
    public static string[] Prefix => ["/usr/bin/setpriv", $"--reuid={Uid}", $"--regid={Gid}", "--clear-groups", "--"];
}
