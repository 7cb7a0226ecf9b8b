namespace LocalPort.Core.Config;

/// <summary>How <see cref="ConfigLoader"/> treats the environment around a config file.</summary>
public sealed record LoadOptions
{
    public static LoadOptions Default { get; } = new();

    /// <summary>Unset environment variables are errors instead of warnings (<c>config validate --strict</c>).</summary>
    public bool Strict { get; init; }

    /// <summary>
    /// Reads a file that another user owns or that group or others may write (<c>--trust-config</c>); by default such a
    /// file is refused, since whoever can change it can make LocalPort run commands.
    /// </summary>
    public bool TrustFile { get; init; }

    /// <summary>Reads an environment variable; injected by tests so they never depend on the machine.</summary>
    public Func<string, string?> GetEnv { get; init; } = Environment.GetEnvironmentVariable;

    /// <summary>What <c>~</c> expands to; null means the current user's profile directory.</summary>
    public string? HomeDirectory { get; init; }

    internal string ResolveHome() =>
        HomeDirectory ?? Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
}
