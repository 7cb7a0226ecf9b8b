using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace LocalPort.Core.Config;

/// <summary>
/// Refuses absurdly deep nesting before the node tree is built: building it recurses once per level,
/// and a stack overflow cannot be caught, which would break the loader's never-throw promise.
/// </summary>
internal sealed class DepthLimitedParser(IParser inner) : IParser
{
    public const int MaxDepth = 64;

    private int _depth;

    public ParsingEvent? Current => inner.Current;

    public bool MoveNext()
    {
        if (!inner.MoveNext()) return false;
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
