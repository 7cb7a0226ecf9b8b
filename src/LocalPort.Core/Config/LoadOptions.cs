namespace LocalPort.Core.Config;

/// <summary>How <see cref="ConfigLoader"/> treats the environment around a config file.</summary>
public sealed record LoadOptions
{
    public static LoadOptions Default { get; } = new();

    /// <summary>Unset environment variables are errors instead of warnings (<c>config validate --strict</c>).</summary>
    public bool Strict { get; init; }

    /// <summary>Reads an environment variable; injected by tests so they never depend on the machine.</summary>
    public Func<string, string?> GetEnv { get; init; } = Environment.GetEnvironmentVariable;

    /// <summary>What <c>~</c> expands to; null means the current user's profile directory.</summary>
    public string? HomeDirectory { get; init; }

    internal string ResolveHome() =>
        HomeDirectory ?? Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
}
