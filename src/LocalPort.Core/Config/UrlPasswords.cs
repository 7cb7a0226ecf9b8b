namespace LocalPort.Core.Config;

/// <summary>The password in a URL's userinfo (<c>http://user:password@host/</c>): found, masked, and kept out of messages.</summary>
public static class UrlPasswords
{
    /// <summary>The URL with its userinfo password replaced by <see cref="ConfigExporter.Mask"/>; the rest of the text unchanged.</summary>
    public static string Mask(string url) =>
        Find(url) is var (start, length) ? string.Concat(url.AsSpan(0, start), ConfigExporter.Mask, url.AsSpan(start + length)) : url;

    /// <summary>The password as written in the URL, or null when it has none.</summary>
    public static string? Of(string? url) =>
        url is not null && Find(url) is var (start, length) ? url.Substring(start, length) : null;

    /// <summary><paramref name="text"/> with every occurrence of the URL's password (as written and unescaped) masked.</summary>
    public static string Redact(string text, string? url)
    {
        if (Of(url) is not { } password) return text;
        text = text.Replace(password, ConfigExporter.Mask, StringComparison.Ordinal);
        var unescaped = Uri.UnescapeDataString(password);
        return unescaped.Length == 0 ? text : text.Replace(unescaped, ConfigExporter.Mask, StringComparison.Ordinal);
    }

    // Authority = after "://" up to the first '/', '?' or '#'; userinfo = before its last '@'; password = after userinfo's first ':'.
    private static (int Start, int Length)? Find(string url)
    {
        var scheme = url.IndexOf("://", StringComparison.Ordinal);
        if (scheme < 0) return null;
        var authority = scheme + 3;
        var end = url.IndexOfAny(['/', '?', '#'], authority);
        if (end < 0) end = url.Length;
        var at = url.LastIndexOf('@', end - 1, end - authority);
        if (at < 0) return null;
        var colon = url.IndexOf(':', authority, at - authority);
        return colon < 0 || colon + 1 == at ? null : (colon + 1, at - colon - 1);
    }
}
