using System.Text;

namespace LocalPort.Core;

/// <summary>
/// NUL and other control characters: refused in config values (a NUL cuts an argv entry short), and stripped from
/// a child's output, whose escape sequences would otherwise drive the user's terminal through status and logs.
/// </summary>
public static class ControlCharacters
{
    private const char Escape = '\u001b';
    private const char Bell = '\u0007';
    private const char StringTerminator = '\u009c';

    /// <summary>C0 (NUL to US), DEL and C1; with <paramref name="allowLineWhitespace"/>, tab, LF and CR are text.</summary>
    public static bool IsControl(char c, bool allowLineWhitespace = false) =>
        c is < ' ' or '\u007f' or >= '\u0080' and <= '\u009f' && !(allowLineWhitespace && c is '\t' or '\n' or '\r');

    /// <summary>The index of the first control character, or -1.</summary>
    public static int IndexOf(string text, bool allowLineWhitespace = false)
    {
        for (var i = 0; i < text.Length; i++)
            if (IsControl(text[i], allowLineWhitespace)) return i;
        return -1;
    }

    /// <summary>How a message names one: U+0000 (NUL), U+001B, ...</summary>
    public static string Name(char c) => c switch
    {
        '\0' => "U+0000 (NUL)",
        '\t' => "U+0009 (tab)",
        '\n' => "U+000A (line feed)",
        '\r' => "U+000D (carriage return)",
        Escape => "U+001B (escape)",
        _ => $"U+{(int)c:X4}",
    };

    /// <summary>
    /// The text with terminal control sequences removed whole (CSI, OSC, DCS and other ESC/C1 sequences), every
    /// other control character dropped, and tabs turned to spaces: what remains cannot move a cursor or set a title.
    /// </summary>
    public static string Strip(string text)
    {
        if (IndexOf(text) < 0) return text;
        var clean = new StringBuilder(text.Length);
        var i = 0;
        while (i < text.Length)
        {
            var c = text[i];
            if (!IsControl(c))
            {
                clean.Append(c);
                i++;
            }
            else if (c == '\t')
            {
                clean.Append(' ');
                i++;
            }
            else if (c == Escape && i + 1 < text.Length)
            {
                i = SkipSequence(text, i + 2, Introducer(text[i + 1]));
            }
            else if (c is >= '\u0080' and <= '\u009f')
            {
                i = SkipSequence(text, i + 1, Introducer((char)(c - 0x40)));
            }
            else
            {
                i++;
            }
        }
        return clean.ToString();
    }

    private enum Kind { Csi, String, Escape, Single }

    // ESC X and the C1 character X+0x40 introduce the same sequence.
    private static Kind Introducer(char c) => c switch
    {
        '[' => Kind.Csi,
        ']' or 'P' or 'X' or '^' or '_' => Kind.String,
        >= ' ' and <= '/' => Kind.Escape,
        _ => Kind.Single,
    };

    /// <summary>The index just past the sequence whose body starts at <paramref name="start"/>.</summary>
    private static int SkipSequence(string text, int start, Kind kind)
    {
        var i = start;
        switch (kind)
        {
            case Kind.Csi:
                // Parameter and intermediate bytes, then one final byte.
                while (i < text.Length && text[i] is >= ' ' and <= '?') i++;
                return Math.Min(i + 1, text.Length);
            case Kind.String:
                // Up to BEL, ESC \ or ST; an unterminated string runs to the end of the line.
                while (i < text.Length)
                {
                    if (text[i] is Bell or StringTerminator) return i + 1;
                    if (text[i] == Escape) return Math.Min(i + 2, text.Length);
                    i++;
                }
                return i;
            case Kind.Escape:
                // ESC, intermediate bytes (the introducer was one), then one final byte.
                while (i < text.Length && text[i] is >= ' ' and <= '/') i++;
                return Math.Min(i + 1, text.Length);
            default:
                return start;
        }
    }
}
