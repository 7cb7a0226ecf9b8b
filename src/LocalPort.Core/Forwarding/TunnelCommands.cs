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

        var args = new List<string> { "-N", "-T" };
        foreach (var (key, value) in options) args.AddRange(["-o", $"{key}={value}"]);
        args.AddRange(["-L", $"{socketPath}:{connection.RemoteHost}:{remotePort}"]);
        args.AddRange(["-p", connection.Port.ToString()]);
        if (!string.IsNullOrEmpty(connection.KeyFile)) args.AddRange(["-i", connection.KeyFile]);
        if (!string.IsNullOrEmpty(connection.JumpHost)) args.AddRange(["-J", connection.JumpHost]);
        args.Add(string.IsNullOrEmpty(connection.User) ? connection.Host : $"{connection.User}@{connection.Host}");
        return args;
    }
}
