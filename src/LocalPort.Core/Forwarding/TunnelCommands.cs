using LocalPort.Core.Config;

namespace LocalPort.Core.Forwarding;

/// <summary>Argument lists for kubectl and ssh. Secrets never appear here.</summary>
public static class TunnelCommands
{
    public static IReadOnlyList<string> Kubectl(KubectlConnection connection, int remotePort)
    {
        var args = new List<string>
        {
            "port-forward", "--address", "127.0.0.1",
            $"{connection.ResourceType}/{connection.ResourceName}", $":{remotePort}",
            "--namespace", connection.Namespace,
        };
        if (!string.IsNullOrEmpty(connection.Context)) args.AddRange(["--context", connection.Context]);
        if (!string.IsNullOrEmpty(connection.Kubeconfig)) args.AddRange(["--kubeconfig", connection.Kubeconfig]);
        return args;
    }

    /// <summary>ssh -L onto a private Unix socket: no port races, and no other local user can use the tunnel.</summary>
    public static IReadOnlyList<string> Ssh(SshConnection connection, int remotePort, string socketPath)
    {
        var args = new List<string> { "-N", "-T" };
        foreach (var (key, value) in SshOptions(connection)) args.AddRange(["-o", $"{key}={value}"]);
        args.AddRange(["-L", $"{socketPath}:{connection.RemoteHost}:{remotePort}"]);
        AddDestination(args, connection);
        return args;
    }

    /// <summary>
    /// An ssh master that carries no forward of its own: forwards are added with <see cref="SshControl"/>. Ours are the
    /// last word on ControlMaster/ControlPath/ControlPersist (a user's ssh_config must not make it fork away or share
    /// someone else's socket).
    /// </summary>
    public static IReadOnlyList<string> SshMaster(SshConnection connection, string controlPath)
    {
        var options = SshOptions(connection);
        options["ControlMaster"] = "yes";
        options["ControlPath"] = controlPath;
        options["ControlPersist"] = "no";
        var args = new List<string> { "-N", "-T" };
        foreach (var (key, value) in options) args.AddRange(["-o", $"{key}={value}"]);
        AddDestination(args, connection);
        return args;
    }

    /// <summary>
    /// A short-lived client of a master: <c>-O forward</c>, <c>-O cancel</c> (each with its -L specs) or <c>-O check</c>.
    /// ControlMaster=no: a user's "ControlMaster yes" would otherwise make it open a connection of its own.
    /// </summary>
    public static IReadOnlyList<string> SshControl(SshConnection connection, string controlPath, string command, IEnumerable<SshForward> forwards)
    {
        var args = new List<string> { "-S", controlPath, "-O", command, "-o", "ControlMaster=no" };
        foreach (var forward in forwards) args.AddRange(["-L", forward.Spec]);
        args.Add(Destination(connection));
        return args;
    }

    private static Dictionary<string, string> SshOptions(SshConnection connection)
    {
        var options = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
        {
            ["ExitOnForwardFailure"] = "yes",
            ["BatchMode"] = connection.Password is null ? "yes" : "no",
            ["ServerAliveInterval"] = "5",
            ["ServerAliveCountMax"] = "3",
            ["ConnectTimeout"] = "10",
            ["StreamLocalBindUnlink"] = "yes",
            ["StrictHostKeyChecking"] = connection.StrictHostKeyChecking,
        };
        if (connection.Password is not null)
        {
            options["PreferredAuthentications"] = "password,keyboard-interactive";
            options["NumberOfPasswordPrompts"] = "1";
        }
        foreach (var (key, value) in connection.Options) options[key] = value;
        return options;
    }

    private static void AddDestination(List<string> args, SshConnection connection)
    {
        args.AddRange(["-p", connection.Port.ToString()]);
        if (!string.IsNullOrEmpty(connection.KeyFile)) args.AddRange(["-i", connection.KeyFile]);
        if (!string.IsNullOrEmpty(connection.JumpHost)) args.AddRange(["-J", connection.JumpHost]);
        args.Add(Destination(connection));
    }

    private static string Destination(SshConnection connection) =>
        string.IsNullOrEmpty(connection.User) ? connection.Host : $"{connection.User}@{connection.Host}";
}

/// <summary>One forward on a shared master: a private Unix socket here to host:port on the far side.</summary>
public sealed record SshForward(string SocketPath, string RemoteHost, int RemotePort)
{
    public string Spec => $"{SocketPath}:{RemoteHost}:{RemotePort}";
}
