using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace LocalPort.Core.Config;

/// <summary>A service to add with `localport config add`: its fields in the order they are written.</summary>
public sealed record NewService(string Name, Technology Technology, int LocalPort, int RemotePort,
    IReadOnlyList<KeyValuePair<string, string>> Connection, IReadOnlyList<string> Tags, string? Description = null);

public sealed class ConfigEditException(string message) : Exception(message);

/// <summary>
/// Adds or removes one service of a localport.yaml as lines of text, so that every comment, blank line, key order and
/// quoting style outside that service stays as the user wrote it. YamlDotNet's parser finds the services; the lines
/// between them are left alone. Values are written plain where YAML reads them back as the same string, else quoted.
/// </summary>
public static partial class ConfigEditor
{
    public static string AddService(string yaml, NewService service)
    {
        var lines = Lines(yaml, out var newline);
        var (sequence, key) = Services(yaml);
        if (sequence is null)
        {
            // No service yet: an empty `services:` gets its first item, or a new block goes at the end.
            var endsWithNewline = lines.Count > 0 && lines[^1].Length == 0;
            if (endsWithNewline) lines.RemoveAt(lines.Count - 1);
            var at = lines.Count;
            if (key is not null)
            {
                var keyLine = (int)key.Start.Line - 1;
                lines[keyLine] = lines[keyLine][..((int)key.Start.Column - 1)] + "services:";
                at = keyLine + 1;
            }
            else lines.Add("services:");
            lines.InsertRange(key is null ? lines.Count : at, Render(service, "  ", "    ", "  "));
            lines.Add("");
            return Join(lines, newline);
        }
        var items = Items(lines, sequence);
        if (items.Any(i => i.Name == service.Name)) throw new ConfigEditException($"a service named '{service.Name}' is already configured");
        var last = items[^1];
        var block = Render(service, new string(' ', last.DashIndent), new string(' ', last.KeyIndent), NestedStep(sequence)).ToList();
        // A file that separates its services with a blank line gets one before the new service too.
        if (last.DashLine > 0 && IsBlank(lines[last.DashLine - 1]) && items.Count > 1) block.Insert(0, "");
        lines.InsertRange(last.LastContent + 1, block);
        return Join(lines, newline);
    }

    public static string RemoveService(string yaml, string name)
    {
        var lines = Lines(yaml, out var newline);
        var sequence = Services(yaml).Sequence ?? throw new ConfigEditException("the file has no services");
        var items = Items(lines, sequence);
        var index = items.FindIndex(i => i.Name == name);
        if (index < 0) throw new ConfigEditException($"no service named '{name}' in the file");
        if (items.Count == 1) throw new ConfigEditException($"'{name}' is the only service, and a configuration needs at least one");
        var item = items[index];
        // Comment lines right above the item (no blank line between) are about it: they go with it.
        var first = item.DashLine;
        while (first > 0 && IsComment(lines[first - 1]) && Indent(lines[first - 1]) == item.DashIndent) first--;
        var end = item.LastContent;
        // One blank separator goes with the service, so the file keeps its spacing (the last line is the final newline).
        var nextIsService = index + 1 < items.Count;
        if (nextIsService && end + 2 < lines.Count && IsBlank(lines[end + 1])) end++;
        else if (!nextIsService && first > 0 && IsBlank(lines[first - 1])) first--;
        lines.RemoveRange(first, end - first + 1);
        return Join(lines, newline);
    }

    /// <summary>The names of the services in the file, in order (for messages and checks).</summary>
    public static IReadOnlyList<string> ServiceNames(string yaml) =>
        Services(yaml).Sequence is { } sequence ? Items(Lines(yaml, out _), sequence).Select(i => i.Name).ToList() : [];

    private sealed record Item(string Name, int DashLine, int DashIndent, int KeyIndent, int LastContent);

    /// <summary>The services list and its key; a null list when the key is missing (null key) or has no value.</summary>
    private static (YamlSequenceNode? Sequence, YamlScalarNode? Key) Services(string yaml)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yaml));
        }
        catch (YamlException e)
        {
            throw new ConfigEditException($"the file is not valid YAML ({e.Start.Line}:{e.Start.Column}: {e.Message}); fix it first");
        }
        if (stream.Documents.Count != 1 || stream.Documents[0].RootNode is not YamlMappingNode root)
            throw new ConfigEditException("the file is not one YAML mapping; fix it first (`localport config validate`)");
        foreach (var (key, value) in root.Children)
        {
            if (key is not YamlScalarNode { Value: "services" } name) continue;
            if (value is YamlScalarNode { Value: null or "" or "~" or "null" }) return (null, name);
            if (value is not YamlSequenceNode sequence)
                throw new ConfigEditException("services: is not a list; fix it first (`localport config validate`)");
            if (sequence.Children.Count == 0) return (null, name);
            if (sequence.Style == YamlDotNet.Core.Events.SequenceStyle.Flow)
                throw new ConfigEditException("services: is written in flow style ([…]); edit it by hand or write it as a block list");
            return (sequence, name);
        }
        return (null, null);
    }

    private static List<Item> Items(List<string> lines, YamlSequenceNode sequence)
    {
        var items = new List<Item>();
        foreach (var node in sequence.Children)
        {
            if (node is not YamlMappingNode { Style: not YamlDotNet.Core.Events.MappingStyle.Flow } map)
                throw new ConfigEditException($"line {node.Start.Line}: a service written in flow style ({{…}}); edit it by hand");
            var name = map.Children.FirstOrDefault(c => c.Key is YamlScalarNode { Value: "name" }).Value is YamlScalarNode { Value: { } n } ? n : "";
            var start = (int)map.Start.Line - 1;
            var dashLine = start;
            while (dashLine >= 0 && !lines[dashLine].TrimStart().StartsWith('-')) dashLine--;
            if (dashLine < 0) throw new ConfigEditException($"line {start + 1}: cannot find the '-' of service '{name}'");
            var dashIndent = Indent(lines[dashLine]);
            // The item runs until the next line of content at the dash's indentation or less (the next item, the next key).
            var lastContent = dashLine;
            for (var i = dashLine + 1; i < lines.Count; i++)
            {
                if (lines[i].Trim().Length == 0 || IsComment(lines[i])) continue;
                if (Indent(lines[i]) <= dashIndent) break;
                lastContent = i;
            }
            items.Add(new Item(name, dashLine, dashIndent, (int)map.Start.Column - 1, lastContent));
        }
        return items;
    }

    /// <summary>How far the file indents a nested mapping (connection:) under its key; 2 when it has none to copy.</summary>
    private static string NestedStep(YamlSequenceNode sequence)
    {
        foreach (var map in sequence.Children.OfType<YamlMappingNode>())
            foreach (var (key, value) in map.Children)
                if (value is YamlMappingNode { Style: not YamlDotNet.Core.Events.MappingStyle.Flow } nested && nested.Start.Line > key.Start.Line)
                    return new string(' ', Math.Max(1, (int)(nested.Start.Column - key.Start.Column)));
        return "  ";
    }

    private static IEnumerable<string> Render(NewService s, string dash, string key, string step)
    {
        yield return $"{dash}- name: {Scalar(s.Name)}";
        yield return $"{key}technology: {s.Technology.ToString().ToLowerInvariant()}";
        yield return $"{key}local_port: {s.LocalPort.ToString(CultureInfo.InvariantCulture)}";
        yield return $"{key}remote_port: {s.RemotePort.ToString(CultureInfo.InvariantCulture)}";
        yield return $"{key}connection:";
        foreach (var (name, value) in s.Connection) yield return $"{key}{step}{name}: {Scalar(value)}";
        if (s.Tags.Count > 0) yield return $"{key}tags: [{string.Join(", ", s.Tags.Select(Scalar))}]";
        if (s.Description is not null) yield return $"{key}description: {Scalar(s.Description)}";
    }

    /// <summary>Plain where YAML reads it back as this same string; otherwise double-quoted (JSON escapes are YAML escapes).</summary>
    public static string Scalar(string value) =>
        PlainIsSafe().IsMatch(value) && !LooksTyped(value)
            ? value
            : Quoted(value);

    private static string Quoted(string value)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
            writer.WriteStringValue(value);
        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static bool LooksTyped(string value) =>
        value.ToLowerInvariant() is "null" or "~" or "true" or "false" or "yes" or "no" or "on" or "off" or "y" or "n"
        || double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out _);

    [GeneratedRegex(@"^[A-Za-z0-9_./~][A-Za-z0-9_./~@+=,-]*$")]
    private static partial Regex PlainIsSafe();

    private static bool IsBlank(string line) => line.Trim().Length == 0;

    private static bool IsComment(string line) => line.TrimStart().StartsWith('#');

    private static int Indent(string line) => line.Length - line.TrimStart(' ').Length;

    private static List<string> Lines(string yaml, out string newline)
    {
        newline = yaml.Contains("\r\n", StringComparison.Ordinal) ? "\r\n" : "\n";
        return yaml.Split(newline).ToList();
    }

    private static string Join(List<string> lines, string newline) => string.Join(newline, lines);
}
