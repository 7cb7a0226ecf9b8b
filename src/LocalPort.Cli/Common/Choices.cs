using System.CommandLine;
using System.CommandLine.Parsing;

namespace LocalPort.Cli.Common;

/// <summary>
/// An option whose value is one of a few lowercase words: shown as `&lt;a|b|c&gt;` in help, completed by the shell,
/// read case-insensitively, and refused with the valid words and the closest one.
/// </summary>
public static class Choices
{
    public static Option<T> Option<T>(string name, string description, IReadOnlyDictionary<string, T> values, params string[] aliases)
    {
        var option = new Option<T>(name, aliases)
        {
            Description = description,
            HelpName = string.Join('|', values.Keys),
            CustomParser = result => Parse(result, name, values),
        };
        option.CompletionSources.Clear();
        option.CompletionSources.Add(values.Keys.ToArray());
        return option;
    }

    public static T Parse<T>(ArgumentResult result, string name, IReadOnlyDictionary<string, T> values)
    {
        var text = result.Tokens.Count == 0 ? "" : result.Tokens[^1].Value;
        if (Lookup(text, values, out var value)) return value;
        result.AddError(Refusal(name, text, values.Keys));
        return default!;
    }

    public static bool Lookup<T>(string text, IReadOnlyDictionary<string, T> values, out T value)
    {
        foreach (var (key, candidate) in values)
        {
            if (!key.Equals(text.Trim(), StringComparison.OrdinalIgnoreCase)) continue;
            value = candidate;
            return true;
        }
        value = default!;
        return false;
    }

    public static string Refusal(string name, string text, IEnumerable<string> valid)
    {
        var words = valid.ToList();
        return $"'{text}' is not a valid value for {name}; use {string.Join(", ", words.SkipLast(1))} or {words[^1]}{Hints.DidYouMean(text, words)}";
    }
}
