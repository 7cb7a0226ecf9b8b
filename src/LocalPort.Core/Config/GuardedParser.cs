using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace LocalPort.Core.Config;

/// <summary>
/// Wraps YamlDotNet's parser so that every way malformed text can fail becomes a located
/// <see cref="YamlException"/>, which the loader turns into a diagnostic.
/// </summary>
internal sealed class GuardedParser(IParser inner) : IParser
{
    /// <summary>Building the node tree recurses once per level, and a stack overflow cannot be caught.</summary>
    public const int MaxDepth = 64;

    private int _depth;

    public ParsingEvent? Current => inner.Current;

    public bool MoveNext()
    {
        var lastGood = inner.Current?.End ?? Mark.Empty;
        try
        {
            if (!inner.MoveNext()) return false;
        }
        catch (Exception e) when (e is not YamlException)
        {
            // The scanner sometimes gives up on garbage with a bare InvalidOperationException.
            throw new SyntaxErrorException(lastGood, lastGood, "the text after this point is not valid YAML; check quotes, brackets and indentation");
        }

        switch (inner.Current)
        {
            case MappingStart or SequenceStart when ++_depth > MaxDepth:
                throw new SemanticErrorException(inner.Current.Start, inner.Current.End,
                    $"nesting is deeper than {MaxDepth} levels; a localport config never needs that");
            case MappingEnd or SequenceEnd:
                _depth--;
                break;
        }
        return true;
    }
}
