using YamlDotNet.RepresentationModel;

namespace LocalPort.Core.Config;

/// <summary>Reads <c>health_check</c> (the service's keys over <c>defaults.health_check</c>).</summary>
internal static class HealthCheckParser
{
    private static readonly string[] Keys =
        ["type", "enabled", "interval", "timeout", "failure_threshold", "success_threshold", "cluster_aware", "config"];

    private static readonly string[] SettingKeys =
    [
        "url", "method", "expected_status_codes", "expected_status", "expected_content", "headers", "verify_ssl",
        "database", "user", "password", "sslmode", "bootstrap_servers", "command",
    ];

    // Upstream files set these; the check always targets the forwarded local port, so they have no use here.
    private static readonly Dictionary<string, string> SettingHints = new()
    {
        ["host"] = "checks always connect to the service's local_port on 127.0.0.1",
        ["port"] = "checks always connect to the service's local_port on 127.0.0.1",
    };

    private static readonly Dictionary<string, HealthCheckType> Types = new(StringComparer.OrdinalIgnoreCase)
    {
        ["tcp"] = HealthCheckType.Tcp,
        ["http"] = HealthCheckType.Http,
        ["https"] = HealthCheckType.Https,
        ["postgres"] = HealthCheckType.Postgres,
        ["postgresql"] = HealthCheckType.Postgres,
        ["kafka"] = HealthCheckType.Kafka,
        ["redis"] = HealthCheckType.Redis,
        ["exec"] = HealthCheckType.Exec,
    };

    private static readonly string[] SslModes = ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"];

    public static HealthCheckSpec Parse(ConfigSection section, LoadContext context)
    {
        var read = context.Reader;
        var fallback = HealthCheckSpec.Default;
        section.WarnUnknownKeys(context.Bag, Keys);

        var type = ParseType(section, context);
        var settings = section.Child("config", context.Bag);
        settings.WarnUnknownKeys(context.Bag, SettingKeys, SettingHints);

        return new HealthCheckSpec(
            type,
            read.Bool(section, "enabled", fallback.Enabled),
            read.Duration(section, "interval", fallback.Interval),
            read.Duration(section, "timeout", fallback.Timeout),
            read.Int(section, "failure_threshold", fallback.FailureThreshold, 1, int.MaxValue),
            read.Int(section, "success_threshold", fallback.SuccessThreshold, 1, int.MaxValue),
            read.Bool(section, "cluster_aware", fallback.ClusterAware),
            ParseSettings(type, settings, context));
    }

    private static HealthCheckType ParseType(ConfigSection section, LoadContext context)
    {
        if (section.Get("type") is not { } field || context.Reader.Text(field) is not { } text || text.Trim().Length == 0)
            return HealthCheckSpec.Default.Type;
        if (Types.TryGetValue(text.Trim(), out var type)) return type;
        context.Bag.Error(field.Node.Start,
            $"{field.Path}: {NodeText.Quote(text)} is not one of tcp, http, https, postgres, postgresql, kafka, redis, exec");
        return HealthCheckSpec.Default.Type;
    }

    private static HealthCheckSettings ParseSettings(HealthCheckType type, ConfigSection section, LoadContext context)
    {
        var read = context.Reader;
        return new HealthCheckSettings
        {
            Url = ParseUrl(section, context),
            Method = ParseMethod(section, context),
            ExpectedStatusCodes = ParseStatusCodes(section, context),
            ExpectedContent = read.OptionalString(section, "expected_content"),
            Headers = HeaderParser.Parse(section.Child("headers", context.Bag), context),
            VerifySsl = read.Bool(section, "verify_ssl", true),
            Database = read.OptionalString(section, "database"),
            User = read.OptionalString(section, "user"),
            Password = read.OptionalString(section, "password") is { } password ? new Secret(password) : null,
            SslMode = ParseSslMode(section, context),
            BootstrapServers = ParseBootstrapServers(section, context),
            Command = ParseCommand(type, section, context),
        };
    }

    private static string? ParseUrl(ConfigSection section, LoadContext context)
    {
        if (section.Get("url") is not { } field || context.Reader.OptionalArgument(section, "url") is not { } url) return null;
        if (Uri.TryCreate(url, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https") return url;
        context.Bag.Error(field.Node.Start, $"{field.Path}: {NodeText.Quote(url)} is not an http(s) URL; write it like http://localhost:8080/health");
        return null;
    }

    private static string ParseMethod(ConfigSection section, LoadContext context)
    {
        if (section.Get("method") is not { } field || context.Reader.OptionalString(section, "method") is not { } method) return "GET";
        var upper = method.Trim().ToUpperInvariant();
        if (upper.Length > 0 && upper.All(char.IsAsciiLetterUpper)) return upper;
        context.Bag.Error(field.Node.Start, $"{field.Path}: {NodeText.Quote(method)} is not an HTTP method; use GET, HEAD, POST, ...");
        return "GET";
    }

    /// <summary><c>expected_status_codes</c> (a list) and upstream's <c>expected_status</c> (one code, or a list) together.</summary>
    private static IReadOnlyList<int> ParseStatusCodes(ConfigSection section, LoadContext context)
    {
        var codes = new List<int>();
        foreach (var key in new[] { "expected_status_codes", "expected_status" })
        {
            if (section.Get(key) is not { } field || NodeText.IsNull(field.Node)) continue;
            var items = field.Node is YamlSequenceNode
                ? context.Reader.List(section, key) ?? []
                : context.Reader.Text(field) is { } single && single.Trim().Length > 0 ? [(single, field)] : [];
            foreach (var (text, item) in items)
                if (context.Reader.ParseInt(item, text, 100, 599) is { } code && !codes.Contains(code))
                    codes.Add(code);
        }
        return codes;
    }

    private static string? ParseSslMode(ConfigSection section, LoadContext context)
    {
        if (section.Get("sslmode") is not { } field || context.Reader.OptionalString(section, "sslmode") is not { } mode) return null;
        var normal = mode.Trim().ToLowerInvariant();
        if (SslModes.Contains(normal)) return normal;
        context.Bag.Error(field.Node.Start, $"{field.Path}: {NodeText.Quote(mode)} is not one of {string.Join(", ", SslModes)}");
        return null;
    }

    private static string? ParseBootstrapServers(ConfigSection section, LoadContext context)
    {
        if (section.Get("bootstrap_servers") is not { } field) return null;
        return field.Node is YamlSequenceNode
            ? string.Join(",", (context.Reader.List(section, "bootstrap_servers") ?? []).Select(i => i.Text.Trim()))
            : context.Reader.OptionalString(section, "bootstrap_servers");
    }

    private static IReadOnlyList<string> ParseCommand(HealthCheckType type, ConfigSection section, LoadContext context)
    {
        var field = section.Get("command");
        IReadOnlyList<string> command = [];
        if (field is { Node: YamlSequenceNode })
            command = (context.Reader.List(section, "command") ?? []).Select(i => i.Text).ToList();
        else if (field is { } text && context.Reader.OptionalString(section, "command") is { } line
                 && !ShellWords.TrySplit(line, out command, out var problem))
        {
            context.Bag.Error(text.Node.Start, $"{text.Path}: {NodeText.Quote(line)} cannot be split into arguments: {problem}; write the command as a list instead");
            return [];
        }

        if (type == HealthCheckType.Exec && command.Count == 0)
        {
            const string example = "an exec check needs a command such as [pg_isready, -h, 127.0.0.1]";
            if (field is { } empty) context.Bag.Error(empty.Node.Start, $"{empty.Path} is empty; {example}");
            else context.Bag.Error(section.Start, $"{section.Path}.command is missing; {example}");
        }
        return command;
    }
}
