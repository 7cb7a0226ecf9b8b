namespace LocalPort.Core.Config;

/// <summary>Reads <c>health_check.config.headers</c>; values are secrets because they often carry tokens.</summary>
internal static class HeaderParser
{
    public static IReadOnlyDictionary<string, Secret> Parse(ConfigSection section, LoadContext context)
    {
        var headers = new Dictionary<string, Secret>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, field) in section.Entries())
        {
            if (name.Length == 0 || !name.All(IsTokenChar))
            {
                context.Bag.Error(field.Node.Start, $"{field.Path}: {NodeText.Quote(name)} is not a valid header name; use letters, digits and - only");
                continue;
            }
            var value = context.Reader.Text(field) ?? "";
            // A line break in a header value would let the config smuggle extra headers into the request.
            if (value.Contains('\r') || value.Contains('\n'))
            {
                context.Bag.Error(field.Node.Start, $"{field.Path}: a header value must be a single line");
                continue;
            }
            headers[name] = new Secret(value);
        }
        return headers;
    }

    // RFC 9110 token characters.
    private static bool IsTokenChar(char c) => char.IsAsciiLetterOrDigit(c) || "!#$%&'*+-.^_`|~".Contains(c);
}
