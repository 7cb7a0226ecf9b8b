using System.Text;

namespace LocalPort.Core.Config;

/// <summary>The outcome of expanding one scalar: its new text, and what could not be expanded.</summary>
public sealed record EnvExpansion(string Value, IReadOnlyList<string> UnsetVariables, IReadOnlyList<string> Malformed);

/// <summary>
/// <c>${VAR}</c>, <c>${VAR:default}</c>, <c>${VAR:-default}</c> and <c>$$</c> (a literal <c>$</c>).
/// Applied to one parsed scalar at a time, so a variable's value can never add YAML structure.
/// </summary>
public static class EnvSubstitution
{
    public static EnvExpansion Expand(string text, Func<string, string?> getEnv)
    {
        if (!text.Contains('$')) return new EnvExpansion(text, [], []);

        var output = new StringBuilder(text.Length);
        var unset = new List<string>();
        var malformed = new List<string>();
        var i = 0;
        while (i < text.Length)
        {
            var c = text[i];
            var next = i + 1 < text.Length ? text[i + 1] : '\0';
            if (c != '$' || (next != '$' && next != '{'))
            {
                output.Append(c);
                i++;
                continue;
            }
            if (next == '$')
            {
                output.Append('$');
                i += 2;
                continue;
            }

            var close = text.IndexOf('}', i + 2);
            if (close < 0)
            {
                malformed.Add(text[i..]);
                output.Append(text, i, text.Length - i);
                break;
            }

            var reference = text[(i + 2)..close];
            if (TrySplit(reference, out var name, out var fallback))
                output.Append(Resolve(name, fallback, getEnv, unset));
            else
            {
                malformed.Add("${" + reference + "}");
                output.Append("${").Append(reference).Append('}');
            }
            i = close + 1;
        }
        return new EnvExpansion(output.ToString(), unset, malformed);
    }

    private static string Resolve(string name, string? fallback, Func<string, string?> getEnv, List<string> unset)
    {
        var value = getEnv(name);
        // An exported-but-empty variable takes the default too, as with the shell's ${VAR:-default}.
        if (!string.IsNullOrEmpty(value)) return value;
        if (fallback is not null) return fallback;
        if (value is null && !unset.Contains(name)) unset.Add(name);
        return value ?? "";
    }

    private static bool TrySplit(string reference, out string name, out string? fallback)
    {
        var colon = reference.IndexOf(':');
        name = colon < 0 ? reference : reference[..colon];
        fallback = colon < 0 ? null : reference[(colon + 1)..];
        if (fallback is not null && fallback.StartsWith('-')) fallback = fallback[1..];
        return IsName(name);
    }

    private static bool IsName(string name) =>
        name.Length > 0
        && (char.IsAsciiLetter(name[0]) || name[0] == '_')
        && name.All(ch => char.IsAsciiLetterOrDigit(ch) || ch == '_');
}
