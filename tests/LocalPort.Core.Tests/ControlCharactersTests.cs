namespace LocalPort.Core.Tests;

/// <summary>A child's output loses every terminal control sequence before status, last_error or a log sees it.</summary>
public sealed class ControlCharactersTests
{
    [Theory]
    [InlineData("plain text stays", "plain text stays")]
    [InlineData("\u001b[2J\u001b[Hcleared", "cleared")]
    [InlineData("\u001b[1;31mred\u001b[0m error", "red error")]
    [InlineData("\u001b]0;owned title\u0007after", "after")]
    [InlineData("\u001b]8;;http://evil\u001b\\link\u001b]8;;\u001b\\", "link")]
    [InlineData("\u001bPdevice control\u001b\\x", "x")]
    [InlineData("\u001b(Bcharset", "charset")]
    [InlineData("\u001bcreset", "reset")]
    [InlineData("\u009b2Jc1 csi", "c1 csi")]
    [InlineData("\u009d0;title\u009cc1 osc", "c1 osc")]
    [InlineData("nul\0bell\u0007del\u007fbs\b", "nulbelldelbs")]
    [InlineData("tab\there", "tab here")]
    [InlineData("unterminated \u001b]0;title", "unterminated ")]
    [InlineData("trailing escape \u001b", "trailing escape ")]
    [InlineData("ünïcødé → kept", "ünïcødé → kept")]
    public void Strip_leaves_only_printable_text(string raw, string expected)
    {
        Assert.Equal(expected, ControlCharacters.Strip(raw));
    }

    [Fact]
    public void Nothing_stripped_leaves_no_control_character()
    {
        var everything = new string(Enumerable.Range(0, 0xa0).Select(c => (char)c).ToArray());

        Assert.Equal(-1, ControlCharacters.IndexOf(ControlCharacters.Strip(everything + "x" + everything)));
    }

    [Theory]
    [InlineData("a\tb", true, -1)]
    [InlineData("a\nb", true, -1)]
    [InlineData("a\tb", false, 1)]
    [InlineData("ab\0", true, 2)]
    [InlineData("a\u001bb", true, 1)]
    [InlineData("a\u0085b", true, 1)]
    public void IndexOf_finds_the_first_control_character(string text, bool allowLineWhitespace, int expected)
    {
        Assert.Equal(expected, ControlCharacters.IndexOf(text, allowLineWhitespace));
    }
}
