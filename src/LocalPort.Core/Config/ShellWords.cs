using System.Text;

namespace LocalPort.Core.Config;

/// <summary>Splits <c>exec</c> command strings into arguments the way a shell would, without running one.</summary>
public static class ShellWords
{
    /// <summary>Whitespace separates words; '…' is literal; "…" honours \" and \\; a backslash outside quotes escapes the next character.</summary>
    public static bool TrySplit(string text, out IReadOnlyList<string> words, out string? error)
    {
        var result = new List<string>();
        var current = new StringBuilder();
        var inWord = false;
        char? quote = null;
        error = null;
        words = result;

        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (quote == '\'')
            {
                if (c == '\'') quote = null;
                else current.Append(c);
                continue;
            }
            if (quote == '"')
            {
                if (c == '"') quote = null;
                else if (c == '\\' && i + 1 < text.Length && text[i + 1] is '"' or '\\') current.Append(text[++i]);
                else current.Append(c);
                continue;
            }
            if (char.IsWhiteSpace(c))
            {
                if (inWord) result.Add(current.ToString());
                current.Clear();
                inWord = false;
                continue;
            }
            inWord = true;
            if (c is '\'' or '"') quote = c;
            else if (c == '\\' && i + 1 < text.Length) current.Append(text[++i]);
            else current.Append(c);
        }

        if (quote is not null)
        {
            error = $"the {(quote == '\'' ? "single" : "double")} quote is never closed";
            return false;
        }
        if (inWord) result.Add(current.ToString());
        return true;
    }
}
