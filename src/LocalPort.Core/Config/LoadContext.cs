namespace LocalPort.Core.Config;

/// <summary>Everything one load shares: where problems go, how values are read, where paths are resolved.</summary>
internal sealed class LoadContext(DiagnosticBag bag, LoadOptions options, string? baseDirectory)
{
    public DiagnosticBag Bag { get; } = bag;

    public YamlNodeReader Reader { get; } = new(bag, options);

    public LoadOptions Options { get; } = options;

    public string HomeDirectory { get; } = options.ResolveHome();

    /// <summary>The config file's directory; null for text that did not come from a file.</summary>
    public string? BaseDirectory { get; } = baseDirectory;

    public string ExpandPath(string path) => PathExpansion.Expand(path, HomeDirectory, BaseDirectory);
}
