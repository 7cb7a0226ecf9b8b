using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace LocalPort.Core.Config;

/// <summary>The export as JSON (the same tree, so it loads back too: JSON is YAML), and the export without default values.</summary>
public static partial class ConfigExporter
{
    public static string ToJson(LocalPortConfig config, bool includeDefaults = true)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
            Write(writer, Tree(config, includeDefaults));
        return Encoding.UTF8.GetString(buffer.ToArray()) + "\n";
    }

    private static void Write(Utf8JsonWriter writer, YamlNode node)
    {
        switch (node)
        {
            case YamlMappingNode map:
                writer.WriteStartObject();
                foreach (var (key, value) in map.Children)
                {
                    writer.WritePropertyName(((YamlScalarNode)key).Value!);
                    Write(writer, value);
                }
                writer.WriteEndObject();
                break;
            case YamlSequenceNode list:
                writer.WriteStartArray();
                foreach (var item in list.Children) Write(writer, item);
                writer.WriteEndArray();
                break;
            case YamlScalarNode { Style: ScalarStyle.Plain, Value: "true" or "false" } flag:
                writer.WriteBooleanValue(flag.Value == "true");
                break;
            // Numbers are written plain; durations (5s) and plain strings are not numbers.
            case YamlScalarNode { Style: ScalarStyle.Plain } plain when JsonNumber().IsMatch(plain.Value!):
                writer.WriteRawValue(plain.Value!);
                break;
            case YamlScalarNode scalar:
                writer.WriteStringValue(scalar.Value);
                break;
        }
    }

    [GeneratedRegex(@"^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$")]
    private static partial Regex JsonNumber();

    /// <summary>Removes every value equal to the built-in default, and mappings left empty; names, ports and hosts stay.</summary>
    private static void PruneDefaults(YamlMappingNode root, LocalPortConfig config)
    {
        Prune(root, Map(("shutdown", Map(
            ("stop_new_work", Duration(ShutdownTimeouts.Default.StopNewWork)),
            ("complete_current", Duration(ShutdownTimeouts.Default.CompleteCurrent)),
            ("cancel_tasks", Duration(ShutdownTimeouts.Default.CancelTasks)),
            ("force_cleanup", Duration(ShutdownTimeouts.Default.ForceCleanup))))));
        var services = (YamlSequenceNode)root.Children[new YamlScalarNode("services")];
        foreach (var (node, spec) in services.Children.Cast<YamlMappingNode>().Zip(config.Services))
            Prune(node, Map(
                ("enabled", Bool(true)),
                ("priority", Number(0)),
                ("connection", spec.Connection switch
                {
                    KubectlConnection => Map(("resource_type", Text("service")), ("namespace", Text("default"))),
                    SshConnection => Map(("port", Number(22)), ("remote_host", Text("localhost")), ("strict_host_key_checking", Text("accept-new"))),
                    _ => null,
                }),
                ("health_check", HealthCheck(HealthCheckSpec.Default)),
                ("restart_policy", Restart(RestartPolicy.Default))));
    }

    private static void Prune(YamlMappingNode node, YamlMappingNode defaults)
    {
        foreach (var (key, fallback) in defaults.Children)
        {
            if (!node.Children.TryGetValue(key, out var value)) continue;
            if (value is YamlMappingNode map && fallback is YamlMappingNode nested)
            {
                Prune(map, nested);
                if (map.Children.Count == 0) node.Children.Remove(key);
            }
            else if (value is YamlScalarNode scalar && fallback is YamlScalarNode same && scalar.Value == same.Value)
                node.Children.Remove(key);
        }
    }
}
