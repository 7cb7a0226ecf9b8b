namespace LocalPort.TestKube.Cluster;

/// <summary>
/// Kubernetes label selectors as kubectl sends them in <c>?labelSelector=</c>: <c>a=b</c>, <c>a==b</c>,
/// <c>a!=b</c>, <c>a in (x,y)</c>, <c>a notin (x,y)</c>, <c>a</c>, <c>!a</c>, comma-separated (AND).
/// </summary>
internal sealed class LabelSelector
{
    private readonly List<Func<IReadOnlyDictionary<string, string>, bool>> _requirements = [];

    public static readonly LabelSelector Everything = new();

    public bool Matches(IReadOnlyDictionary<string, string> labels) => _requirements.All(r => r(labels));

    public static LabelSelector Parse(string? text)
    {
        var selector = new LabelSelector();
        if (string.IsNullOrWhiteSpace(text))
        {
            return selector;
        }
        foreach (var term in SplitTopLevel(text))
        {
            selector._requirements.Add(ParseRequirement(term.Trim()));
        }
        return selector;
    }

    /// <summary>The selector string for a map of labels (what kubectl builds from matchLabels / a service selector).</summary>
    public static string Format(IReadOnlyDictionary<string, string> labels) =>
        string.Join(",", labels.OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => $"{l.Key}={l.Value}"));

    private static Func<IReadOnlyDictionary<string, string>, bool> ParseRequirement(string term)
    {
        if (term.Length == 0)
        {
            return _ => true;
        }
        var setMatch = System.Text.RegularExpressions.Regex.Match(term, @"^(\S+)\s+(in|notin)\s*\((.*)\)$");
        if (setMatch.Success)
        {
            var key = setMatch.Groups[1].Value;
            var values = setMatch.Groups[3].Value.Split(',').Select(v => v.Trim()).ToHashSet(StringComparer.Ordinal);
            return setMatch.Groups[2].Value == "in"
                ? labels => labels.TryGetValue(key, out var v) && values.Contains(v)
                : labels => !labels.TryGetValue(key, out var v) || !values.Contains(v);
        }
        foreach (var op in new[] { "!=", "==", "=" })
        {
            var at = term.IndexOf(op, StringComparison.Ordinal);
            if (at > 0)
            {
                var key = term[..at].Trim();
                var value = term[(at + op.Length)..].Trim();
                return op == "!="
                    ? labels => !labels.TryGetValue(key, out var v) || v != value
                    : labels => labels.TryGetValue(key, out var v) && v == value;
            }
        }
        if (term.StartsWith('!'))
        {
            var key = term[1..].Trim();
            return labels => !labels.ContainsKey(key);
        }
        return labels => labels.ContainsKey(term);
    }

    private static IEnumerable<string> SplitTopLevel(string text)
    {
        var depth = 0;
        var start = 0;
        for (var i = 0; i < text.Length; i++)
        {
            switch (text[i])
            {
                case '(':
                    depth++;
                    break;
                case ')':
                    depth--;
                    break;
                case ',' when depth == 0:
                    yield return text[start..i];
                    start = i + 1;
                    break;
            }
        }
        yield return text[start..];
    }
}

/// <summary>Field selectors: only <c>metadata.name</c> and <c>metadata.namespace</c> with =, == or != (others match everything).</summary>
internal sealed class FieldSelector
{
    private readonly List<Func<string?, string, bool>> _requirements = [];

    public bool Matches(string? ns, string name) => _requirements.All(r => r(ns, name));

    public static FieldSelector Parse(string? text)
    {
        var selector = new FieldSelector();
        if (string.IsNullOrWhiteSpace(text))
        {
            return selector;
        }
        foreach (var term in text.Split(','))
        {
            var negate = term.Contains("!=", StringComparison.Ordinal);
            var parts = term.Split(["!=", "==", "="], 2, StringSplitOptions.None);
            if (parts.Length != 2)
            {
                continue;
            }
            var (field, value) = (parts[0].Trim(), parts[1].Trim());
            Func<string?, string, bool>? test = field switch
            {
                "metadata.name" => (_, name) => name == value,
                "metadata.namespace" => (ns, _) => ns == value,
                _ => null,
            };
            if (test is not null)
            {
                selector._requirements.Add(negate ? (ns, name) => !test(ns, name) : test);
            }
        }
        return selector;
    }
}
