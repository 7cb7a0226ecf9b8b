namespace LocalPort.Core.Config;

/// <summary>Reads <c>connection.options</c>: extra <c>-o Key=Value</c> pairs for ssh.</summary>
internal static class SshOptions
{
    /// <summary>Options whose value ssh runs as a command (through the user's shell) on this machine.</summary>
    private static readonly HashSet<string> RunCommands = new(StringComparer.OrdinalIgnoreCase)
    {
        "ProxyCommand", "LocalCommand", "PermitLocalCommand", "KnownHostsCommand", "RemoteCommand", "Match",
    };

    public static IReadOnlyDictionary<string, string> Parse(ConfigSection section, LoadContext context)
    {
        var options = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (key, field) in section.Entries())
        {
            // ssh option names are single words; anything else would turn into a different argument.
            if (key.Length == 0 || !key.All(char.IsAsciiLetterOrDigit))
            {
                context.Bag.Error(field.Node.Start, $"{field.Path}: {NodeText.Quote(key)} is not an ssh option name; use names like ServerAliveInterval");
                continue;
            }
            var value = context.Reader.Text(field);
            if (value is null || value.Contains('\n') || value.Contains('\r'))
            {
                // Text has already reported a list or a mapping.
                if (value is not null || NodeText.IsNull(field.Node))
                    context.Bag.Error(field.Node.Start, $"{field.Path}: give a single-line value, e.g. {key}: yes");
                continue;
            }
            if (!context.Reader.IsArgument(field, value)) continue;
            if (key.Equals("StrictHostKeyChecking", StringComparison.OrdinalIgnoreCase) && value.Trim().ToLowerInvariant() is "no" or "off" or "false")
                context.Bag.Warning(field.Node.Start, $"{field.Path}: {NodeText.Quote(value)} accepts any host key, so a man in the middle goes unnoticed; prefer accept-new");
            if (RunCommands.Contains(key))
                context.Bag.Warning(field.Node.Start,
                    $"{field.Path}: {key} makes ssh run a command{(key.Equals("RemoteCommand", StringComparison.OrdinalIgnoreCase) ? " on the server" : " on this machine through your shell")} " +
                    "whenever the tunnel starts; keep it only if you wrote it (ProxyJump, i.e. jump_host, covers most proxies)");
            options[key] = value;
        }
        return options;
    }
}
