using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace LocalPort.Core.Config;

/// <summary>How nodes read in messages, and which scalars mean "nothing".</summary>
internal static class NodeText
{
    /// <summary>YAML's null spellings, as PyYAML reads them; only unquoted, so <c>"null"</c> stays a string.</summary>
    public static bool IsNull(YamlNode node) =>
        node is YamlScalarNode { Style: ScalarStyle.Plain or ScalarStyle.Any, Value: null or "" or "~" or "null" or "Null" or "NULL" };

    public static string Describe(YamlNode node) => node switch
    {
        YamlSequenceNode => "a list",
        YamlMappingNode => "a mapping",
        YamlScalarNode scalar => Quote(scalar.Value ?? ""),
        _ => "an alias",
    };

    /// <summary>A value as shown in a message: quoted, shortened, on one line.</summary>
    public static string Quote(string value)
    {
        var oneLine = value.Replace("\r", "\\r").Replace("\n", "\\n").Replace("\t", "\\t");
        // Any other control character is shown escaped: a message must not drive the terminal it is printed on.
        if (ControlCharacters.IndexOf(oneLine) >= 0)
            oneLine = string.Concat(oneLine.Select(c => ControlCharacters.IsControl(c) ? $"\\u{(int)c:x4}" : c.ToString()));
        return oneLine.Length > 60 ? $"'{oneLine[..57]}...'" : $"'{oneLine}'";
    }
}
