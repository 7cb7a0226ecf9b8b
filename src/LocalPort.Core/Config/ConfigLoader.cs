using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace LocalPort.Core.Config;

/// <summary>
/// Reads and validates <c>localport.yaml</c>. Never throws: every problem, syntax included,
/// comes back as a diagnostic with file:line:column, and the config is null when any is an error.
/// </summary>
public static partial class ConfigLoader
{
    private static readonly string[] TopLevelKeys = ["version", "defaults", "services", "cluster_contexts", "shutdown"];
    private static readonly string[] DefaultsKeys = ["health_check", "restart_policy", "cluster_health"];
    private static readonly string[] ShutdownKeys = ["stop_new_work", "complete_current", "cancel_tasks", "force_cleanup"];

    /// <summary>A config is a few KB; past this, parsing costs hundreds of MB, so the file is refused unread.</summary>
    public const long MaxFileBytes = 4L * 1024 * 1024;

    public static ConfigLoadResult Load(string path, LoadOptions? options = null)
    {
        options ??= LoadOptions.Default;
        if (ReadFile(path, options, out var text) is { } problem)
            return new ConfigLoadResult(null, [problem]);
        var fullPath = Path.GetFullPath(path);
        return Parse(text, path, fullPath, Path.GetDirectoryName(fullPath), options);
    }

    /// <param name="fileNameForMessages">Shown in diagnostics; relative paths in the text stay relative.</param>
    public static ConfigLoadResult LoadText(string yaml, string fileNameForMessages, LoadOptions? options = null) =>
        Parse(yaml, fileNameForMessages, null, null, options ?? LoadOptions.Default);

    private static ConfigDiagnostic? ReadFile(string path, LoadOptions options, out string text)
    {
        text = "";
        ConfigDiagnostic Problem(string message) => new(Severity.Error, path, 1, 1, message);
        try
        {
            if (Directory.Exists(path)) return Problem($"{path} is a directory; give the path of a localport.yaml file");
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            // Judged by the open file, so what is checked is what is read, links and all.
            if (!options.TrustFile && ConfigFileTrust.Problem(path, stream.SafeFileHandle) is { } untrusted) return Problem(untrusted);
            // A plain file's length is known unread; a pipe is read one byte past the cap to find out.
            var bytes = stream.CanSeek && stream.Length > MaxFileBytes ? null : ReadUpTo(stream, MaxFileBytes + 1);
            if (bytes is null || bytes.Length > MaxFileBytes)
            {
                var size = bytes is null ? $"{stream.Length} bytes" : $"more than {MaxFileBytes} bytes";
                return Problem($"config file {path} is {size}, over the {MaxFileBytes / (1024 * 1024)} MB cap; a LocalPort config is a few KB, check that this is the right file");
            }
            using var reader = new StreamReader(new MemoryStream(bytes));
            text = reader.ReadToEnd();
            return null;
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return Problem($"config file {path} not found; create one with `localport config init` or pass another with --config");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            return Problem($"config file {path} cannot be read: {e.Message}");
        }
    }

    private static byte[] ReadUpTo(Stream stream, long limit)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        while (buffer.Length < limit && (read = stream.Read(chunk, 0, (int)Math.Min(chunk.Length, limit - buffer.Length))) > 0)
            buffer.Write(chunk, 0, read);
        return buffer.ToArray();
    }

    private static ConfigLoadResult Parse(string yaml, string file, string? sourcePath, string? baseDirectory, LoadOptions options)
    {
        var bag = new DiagnosticBag(file);
        LocalPortConfig? config = null;
        try
        {
            if (ReadDocument(yaml, bag) is { } root)
                config = Build(root, sourcePath, new LoadContext(bag, options, baseDirectory));
        }
        catch (YamlException e)
        {
            bag.Error(e.Start, $"YAML syntax error: {StripPosition(e.Message)}");
        }
        catch (Exception e)
        {
            // Last line of defence for the never-throw promise; the message asks for a bug report.
            bag.Error(Mark.Empty, $"internal error while reading the config ({e.GetType().Name}: {e.Message}); please report this with the file");
        }
        if (config is null && !bag.HasErrors)
            bag.Error(Mark.Empty, "internal error: the config was rejected without a reason; please report this with the file");
        return new ConfigLoadResult(bag.HasErrors ? null : config, bag.ToList());
    }

    private static YamlMappingNode? ReadDocument(string yaml, DiagnosticBag bag)
    {
        var stream = new YamlStream();
        var parser = new GuardedParser(new Parser(new StringReader(yaml)));
        try
        {
            stream.Load(parser);
        }
        catch (Exception e) when (e is not YamlException)
        {
            // YamlDotNet's node builder rejects some well-formed-looking event sequences with a plain ArgumentException.
            var at = parser.Current?.Start ?? Mark.Empty;
            throw new SyntaxErrorException(at, at, "this YAML structure cannot be read here; check the indentation and the ':' and '-' markers");
        }
        if (stream.Documents.Count > 1)
            bag.Warning(stream.Documents[1].RootNode.Start, "only the first YAML document is read; remove the '---' and what follows");

        var root = stream.Documents.Count == 0 ? null : stream.Documents[0].RootNode;
        if (root is null || NodeText.IsNull(root))
            bag.Error(root?.Start ?? Mark.Empty, "the file has no settings; start from `localport config init`, which lists services under 'services:'");
        else if (root is not YamlMappingNode mapping)
            bag.Error(root.Start, $"the file must be a mapping with a 'services:' key, found {NodeText.Describe(root)}");
        else
            return mapping;
        return null;
    }

    private static LocalPortConfig? Build(YamlMappingNode rootNode, string? sourcePath, LoadContext context)
    {
        var root = ConfigSection.Of(rootNode, "");
        root.WarnUnknownKeys(context.Bag, TopLevelKeys);

        var version = context.Reader.OptionalString(root, "version");
        var defaults = root.Child("defaults", context.Bag);
        defaults.WarnUnknownKeys(context.Bag, DefaultsKeys);
        var clusterHealth = ClusterHealthParser.Parse(defaults.Child("cluster_health", context.Bag), root.Child("cluster_contexts", context.Bag), context);
        var serviceDefaults = new ServiceDefaults(defaults.Child("health_check", context.Bag), defaults.Child("restart_policy", context.Bag));

        var services = ReadServices(root, serviceDefaults, context);
        ServiceSetValidator.Check(services, context.Bag);
        var shutdown = ReadShutdown(root.Child("shutdown", context.Bag), context);

        var specs = services.Select(s => s.Spec).OfType<ServiceSpec>().ToList();
        return specs.Count == services.Count && specs.Count > 0
            ? new LocalPortConfig(version, specs, shutdown, sourcePath) { ClusterHealth = clusterHealth }
            : null;
    }

    private static List<ParsedService> ReadServices(ConfigSection root, ServiceDefaults defaults, LoadContext context)
    {
        const string fix = "add at least one service (`localport config init` writes an example)";
        var parsed = new List<ParsedService>();
        var written = root.Get("services");
        if (written is not { } field || NodeText.IsNull(field.Node))
        {
            context.Bag.Error(written?.Node.Start ?? root.Start, $"services is missing; {fix}");
            return parsed;
        }

        switch (field.Node)
        {
            case YamlSequenceNode list:
                for (var i = 0; i < list.Children.Count; i++)
                    parsed.Add(ServiceParser.Parse(new ConfigField(list.Children[i], $"services[{i}]"), null, defaults, context));
                break;
            // Upstream also accepted `services: {name: {...}}`, where the key is the default name.
            case YamlMappingNode map:
                foreach (var (key, value) in map.Children)
                {
                    var path = $"services.{(key as YamlScalarNode)?.Value}";
                    parsed.Add(ServiceParser.Parse(new ConfigField(value, path), new ConfigField(key, path), defaults, context));
                }
                break;
            default:
                context.Bag.Error(field.Node.Start, $"services: expected a list of services, found {NodeText.Describe(field.Node)}; {fix}");
                return parsed;
        }

        if (parsed.Count == 0) context.Bag.Error(field.Node.Start, $"services is empty; {fix}");
        return parsed;
    }

    private static ShutdownTimeouts ReadShutdown(ConfigSection section, LoadContext context)
    {
        section.WarnUnknownKeys(context.Bag, ShutdownKeys);
        var read = context.Reader;
        var fallback = ShutdownTimeouts.Default;
        return new ShutdownTimeouts(
            read.Duration(section, "stop_new_work", fallback.StopNewWork),
            read.Duration(section, "complete_current", fallback.CompleteCurrent),
            read.Duration(section, "cancel_tasks", fallback.CancelTasks),
            read.Duration(section, "force_cleanup", fallback.ForceCleanup));
    }

    /// <summary>YamlDotNet repeats the position in its message; ours already carries it.</summary>
    private static string StripPosition(string message) => PositionPrefix().Replace(message, "");

    [GeneratedRegex(@"^\(Line: \d+, Col: \d+, Idx: \d+\) - \(Line: \d+, Col: \d+, Idx: \d+\): ")]
    private static partial Regex PositionPrefix();
}
