namespace LocalPort.Core.Config;

/// <summary>One place a config file may be, and why it is looked at.</summary>
public sealed record ConfigCandidate(string Path, string Origin, bool Exists)
{
    /// <summary>Named by the user (--config, $LOCALPORT_CONFIG or $LOCALPORT_CONFIG_FILE): used even when missing, so the loader can say so.</summary>
    public bool IsExplicit => Origin is ConfigLocator.FromOption or ConfigLocator.FromEnvironment or ConfigLocator.FromUpstreamEnvironment;
}

/// <summary>The one search order every command uses to find localport.yaml.</summary>
public static class ConfigLocator
{
    public const string EnvironmentVariable = "LOCALPORT_CONFIG";
    public const string FromOption = "--config";
    public const string FromEnvironment = "$" + EnvironmentVariable;
    /// <summary>Upstream localport's name for the same setting.</summary>
    public const string UpstreamEnvironmentVariable = "LOCALPORT_CONFIG_FILE";
    public const string FromUpstreamEnvironment = "$" + UpstreamEnvironmentVariable;

    /// <summary>The file to load: an explicit path whether or not it exists, else the first candidate that exists, else null.</summary>
    public static string? Find(string? explicitPath, Func<string, string?> getEnv, string currentDirectory, string homeDirectory)
    {
        var candidates = Candidates(explicitPath, getEnv, currentDirectory, homeDirectory);
        return candidates.FirstOrDefault(c => c.IsExplicit || c.Exists)?.Path;
    }

    /// <summary>Every place searched, in order (for <c>localport config paths</c>).</summary>
    public static IReadOnlyList<ConfigCandidate> Candidates(string? explicitPath, Func<string, string?> getEnv, string currentDirectory, string homeDirectory)
    {
        var candidates = new List<ConfigCandidate>();
        void Add(string path, string origin)
        {
            var full = Path.GetFullPath(PathExpansion.Expand(path, homeDirectory), currentDirectory);
            candidates.Add(new ConfigCandidate(full, origin, File.Exists(full)));
        }

        if (!string.IsNullOrWhiteSpace(explicitPath)) Add(explicitPath, FromOption);
        if (getEnv(EnvironmentVariable) is { } fromEnv && !string.IsNullOrWhiteSpace(fromEnv)) Add(fromEnv, FromEnvironment);
        if (getEnv(UpstreamEnvironmentVariable) is { } fromUpstream && !string.IsNullOrWhiteSpace(fromUpstream)) Add(fromUpstream, FromUpstreamEnvironment);
        Add("localport.yaml", "current directory");
        Add("localport.yml", "current directory");
        Add(".localport.yaml", "current directory");
        Add(Path.Combine(homeDirectory, ".config", "localport", "config.yaml"), "user config");
        Add(Path.Combine(homeDirectory, ".localport.yaml"), "home directory");
        Add("/etc/localport/config.yaml", "system");
        return candidates;
    }
}
