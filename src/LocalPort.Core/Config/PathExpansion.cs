namespace LocalPort.Core.Config;

/// <summary>File paths written in the config: <c>~</c> is the user's home, relative paths are the config file's neighbours.</summary>
public static class PathExpansion
{
    /// <param name="baseDirectory">The config file's directory; null keeps relative paths as written.</param>
    public static string Expand(string path, string homeDirectory, string? baseDirectory = null)
    {
        var expanded = path == "~" ? homeDirectory
            : path.StartsWith("~/", StringComparison.Ordinal) || path.StartsWith("~\\", StringComparison.Ordinal)
                ? Path.Combine(homeDirectory, path[2..])
                : path;
        // Relative to the file, not to whatever directory the daemon happens to run in.
        return baseDirectory is not null && !Path.IsPathRooted(expanded) && !expanded.StartsWith('~')
            ? Path.GetFullPath(Path.Combine(baseDirectory, expanded))
            : expanded;
    }
}
