using YamlDotNet.Core;

namespace LocalPort.Core.Config;

/// <summary>Collects every problem of one load, so the user sees them all at once.</summary>
internal sealed class DiagnosticBag(string file)
{
    private readonly List<ConfigDiagnostic> _items = [];
    // Values inherited from `defaults` are read once per service; each problem is still reported once.
    private readonly HashSet<ConfigDiagnostic> _seen = [];

    public string File { get; } = file;

    public bool HasErrors { get; private set; }

    public void Error(Mark at, string message) => Add(Severity.Error, at, message);

    public void Warning(Mark at, string message) => Add(Severity.Warning, at, message);

    public void Add(Severity severity, Mark at, string message) =>
        Add(new ConfigDiagnostic(severity, File, ToLine(at.Line), ToLine(at.Column), message));

    public void Add(ConfigDiagnostic diagnostic)
    {
        if (!_seen.Add(diagnostic)) return;
        _items.Add(diagnostic);
        if (diagnostic.Severity == Severity.Error) HasErrors = true;
    }

    /// <summary>In file order, so the list reads top to bottom like the file.</summary>
    public IReadOnlyList<ConfigDiagnostic> ToList() =>
        _items.OrderBy(d => d.Line).ThenBy(d => d.Column).ToList();

    // Positions are 1-based; a synthetic node has no position and is shown at the top of the file.
    private static int ToLine(long value) => value < 1 ? 1 : value > int.MaxValue ? int.MaxValue : (int)value;
}
