namespace LocalPort.Cli.Daemon;

/// <summary>
/// The daemon runs from /: a caller's directory is never searched for programs nor kept busy. Paths that the
/// environment gives relative to that directory are made absolute first, for us and for the children we start.
/// </summary>
public static class RootDirectory
{
    private static readonly string[] PathVariables = ["LOCALPORT_HOME", "XDG_STATE_HOME", "XDG_RUNTIME_DIR", "LOCALPORT_CONFIG",
        "LOCALPORT_CONFIG_FILE", "LOCALPORT_RUNTIME_DIR"];
    private static readonly string[] PathListVariables = ["KUBECONFIG"];

    /// <summary>Rewrites relative paths in our environment against the current directory.</summary>
    public static void AbsolutizeEnvironment()
    {
        foreach (var name in PathVariables)
            if (Environment.GetEnvironmentVariable(name) is { Length: > 0 } value)
                Environment.SetEnvironmentVariable(name, Path.GetFullPath(value));
        foreach (var name in PathListVariables)
            if (Environment.GetEnvironmentVariable(name) is { Length: > 0 } value)
                Environment.SetEnvironmentVariable(name, string.Join(':',
                    value.Split(':').Select(entry => entry.Length == 0 ? entry : Path.GetFullPath(entry))));
    }

    /// <summary>Absolutizes the environment, then leaves the working directory for /.</summary>
    public static void Enter()
    {
        AbsolutizeEnvironment();
        Directory.SetCurrentDirectory("/");
    }
}
