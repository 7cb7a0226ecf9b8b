using System.Text;
using LocalPort.Core.Config;

namespace LocalPort.Core.Forwarding;

/// <summary>
/// Which ssh services share one master connection: those whose connection settings are the same except for the far
/// end of each forward (remote_host and remote_port). The key holds no secret: services with a password share only
/// with services that have the same password, compared in memory.
/// </summary>
public sealed class SshGroup : IEquatable<SshGroup>
{
    /// <summary>ssh options that mean the user runs multiplexing their own way: such a service gets its own ssh.</summary>
    private static readonly string[] OwnControlOptions = ["ControlMaster", "ControlPath", "ControlPersist"];

    /// <summary>
    /// The longest control path we hand to ssh: it binds "PATH.XXXXXXXXXXXXXXXX" first, and a Unix socket path has at
    /// most 103 bytes on macOS (107 on Linux).
    /// </summary>
    public const int MaxControlPath = 86;

    private readonly string? _password;

    private SshGroup(SshConnection connection, string text)
    {
        Connection = connection;
        Text = text;
        _password = connection.Password?.Reveal();
        Destination = $"{(string.IsNullOrEmpty(connection.User) ? "" : connection.User + "@")}{connection.Host}:{connection.Port}";
        Hash = Fnv1a(text).ToString("x16")[..10];
    }

    /// <summary>The settings of the first service of the group; every member's are the same but for the far end.</summary>
    public SshConnection Connection { get; }
    /// <summary>Every shared setting, one per line, options sorted: equal text, same connection (but the password).</summary>
    public string Text { get; }
    /// <summary>user@host:port, for logs and messages.</summary>
    public string Destination { get; }
    /// <summary>A short, stable name for the group's files: the path of a Unix socket must stay short.</summary>
    public string Hash { get; }

    /// <summary>The group of a service's connection, or null when it does not share (multiplex: false, its own Control* options).</summary>
    public static SshGroup? Of(SshConnection connection)
    {
        if (!connection.Multiplex || connection.Options.Keys.Any(k => OwnControlOptions.Contains(k, StringComparer.OrdinalIgnoreCase)))
            return null;
        var text = new StringBuilder()
            .Append("ssh_path=").Append(connection.SshPath).Append('\n')
            .Append("user=").Append(connection.User).Append('\n')
            .Append("host=").Append(connection.Host).Append('\n')
            .Append("port=").Append(connection.Port).Append('\n')
            .Append("key_file=").Append(connection.KeyFile).Append('\n')
            .Append("jump_host=").Append(connection.JumpHost).Append('\n')
            .Append("strict_host_key_checking=").Append(connection.StrictHostKeyChecking).Append('\n')
            .Append("password=").Append(connection.Password is null ? "no" : "yes").Append('\n')
            .Append("standby=").Append(connection.Standby).Append('\n');
        foreach (var (key, value) in connection.Options.OrderBy(o => o.Key.ToLowerInvariant(), StringComparer.Ordinal))
            text.Append("option ").Append(key.ToLowerInvariant()).Append('=').Append(value).Append('\n');
        return new SshGroup(connection, text.ToString());
    }

    /// <summary>The control socket of the group's <paramref name="sequence"/>th master; null when the path would be too long.</summary>
    public string? ControlPath(string directory, int sequence)
    {
        var path = Path.Combine(directory, $"cm-{Hash}-{sequence}");
        return Encoding.UTF8.GetByteCount(path) <= MaxControlPath ? path : null;
    }

    public bool Equals(SshGroup? other) => other is not null && Text == other.Text && _password == other._password;
    public override bool Equals(object? obj) => Equals(obj as SshGroup);
    public override int GetHashCode() => Text.GetHashCode(StringComparison.Ordinal);
    public override string ToString() => Destination;

    /// <summary>64-bit FNV-1a: a short file name, not a secret (and no crypto assembly to load at start).</summary>
    private static ulong Fnv1a(string text)
    {
        var hash = 14695981039346656037UL;
        foreach (var b in Encoding.UTF8.GetBytes(text))
        {
            hash ^= b;
            hash *= 1099511628211UL;
        }
        return hash;
    }
}
