using LocalPort.Core.Config;

namespace LocalPort.Core.Tests.Config;

public sealed class ShellWordsTests
{
    [Theory]
    [InlineData("a b  c", new[] { "a", "b", "c" })]
    [InlineData("  lead and trail  ", new[] { "lead", "and", "trail" })]
    [InlineData("'single quoted' x", new[] { "single quoted", "x" })]
    [InlineData("\"double \\\"quoted\\\"\"", new[] { "double \"quoted\"" })]
    [InlineData("it''s joined", new[] { "its", "joined" })]
    [InlineData("a\\ b", new[] { "a b" })]
    [InlineData("''", new[] { "" })]
    [InlineData("", new string[0])]
    public void Words_are_split_like_a_shell_would(string text, string[] expected)
    {
        Assert.True(ShellWords.TrySplit(text, out var words, out _));
        Assert.Equal(expected, words);
    }

    [Theory]
    [InlineData("echo 'oops")]
    [InlineData("echo \"oops")]
    public void An_unclosed_quote_is_refused(string text)
    {
        Assert.False(ShellWords.TrySplit(text, out _, out var error));
        Assert.Contains("never closed", error);
    }
}
