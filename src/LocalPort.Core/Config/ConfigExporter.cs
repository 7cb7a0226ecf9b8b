using System.Globalization;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace LocalPort.Core.Config;

/// <summary>
/// Writes the effective configuration (defaults merged, variables substituted) as YAML that
/// <see cref="ConfigLoader"/> reads back to the same config, except that every secret is masked.
/// </summary>
public static partial class ConfigExporter
{
    public const string Mask = "********";

    /// <param name="includeDefaults">False: leave out every value that equals the built-in default (a minimal file that loads the same).</param>
    public static string ToYaml(LocalPortConfig config, bool includeDefaults = true)
    {
        var root = Tree(config, includeDefaults);
        using var writer = new StringWriter(CultureInfo.InvariantCulture);
        writer.WriteLine("# Effective LocalPort configuration: defaults merged, variables substituted, secrets masked.");
        new YamlStream(new YamlDocument(root)).Save(writer, assignAnchors: false);
        // YamlStream always closes the document with "..."; a one-document file reads better without it.
        var yaml = writer.ToString();
        return yaml.EndsWith("...\n", StringComparison.Ordinal) || yaml.EndsWith("...\r\n", StringComparison.Ordinal)
            ? yaml[..yaml.LastIndexOf("...", StringComparison.Ordinal)]
            : yaml;
    }

    private static YamlMappingNode Tree(LocalPortConfig config, bool includeDefaults)
    {
        var root = new YamlMappingNode();
        if (config.Version is { } version) root.Add("version", Text(version));
        root.Add("shutdown", Map(
            ("stop_new_work", Duration(config.Shutdown.StopNewWork)),
            ("complete_current", Duration(config.Shutdown.CompleteCurrent)),
            ("cancel_tasks", Duration(config.Shutdown.CancelTasks)),
            ("force_cleanup", Duration(config.Shutdown.ForceCleanup))));
        AddClusterHealth(root, config.ClusterHealth);
        root.Add("services", new YamlSequenceNode(config.Services.Select(Service)));
        if (!includeDefaults) PruneDefaults(root, config);
        return root;
    }

    private static YamlMappingNode Service(ServiceSpec service) => Map(
        ("name", Text(service.Name)),
        ("technology", Plain(service.Technology.ToString().ToLowerInvariant())),
        ("local_port", Number(service.LocalPort)),
        ("remote_port", Number(service.RemotePort)),
        ("enabled", Bool(service.Enabled)),
        ("priority", Number(service.Priority)),
        ("description", service.Description is null ? null : Text(service.Description)),
        ("tags", service.Tags.Count == 0 ? null : List(service.Tags)),
        ("connection", Connection(service.Connection)),
        ("health_check", HealthCheck(service.HealthCheck)),
        ("restart_policy", Restart(service.RestartPolicy)),
        ("chaos", Chaos(service.Chaos)));

    private static YamlMappingNode Connection(ConnectionSpec connection) => connection switch
    {
        KubectlConnection k => Map(
            ("resource_type", Text(k.ResourceType)),
            ("resource_name", Text(k.ResourceName)),
            ("namespace", Text(k.Namespace)),
            ("context", Optional(k.Context)),
            ("kubeconfig", Optional(k.Kubeconfig)),
            ("kubectl_path", Optional(k.KubectlPath))),
        SshConnection s => Map(
            ("host", Text(s.Host)),
            ("user", Optional(s.User)),
            ("port", Number(s.Port)),
            ("key_file", Optional(s.KeyFile)),
            ("password", s.Password is null ? null : Masked()),
            ("remote_host", Text(s.RemoteHost)),
            ("jump_host", Optional(s.JumpHost)),
            ("strict_host_key_checking", Text(s.StrictHostKeyChecking)),
            ("options", s.Options.Count == 0 ? null : Map(s.Options.Select(o => (o.Key, (YamlNode?)Text(o.Value))).ToArray())),
            ("ssh_path", Optional(s.SshPath))),
        TcpConnection t => Map(("host", Text(t.Host))),
        _ => throw new ArgumentOutOfRangeException(nameof(connection), connection.GetType().Name, "unknown connection kind"),
    };

    private static YamlMappingNode HealthCheck(HealthCheckSpec check) => Map(
        ("type", Plain(check.Type.ToString().ToLowerInvariant())),
        ("enabled", Bool(check.Enabled)),
        ("interval", Duration(check.Interval)),
        ("timeout", Duration(check.Timeout)),
        ("failure_threshold", Number(check.FailureThreshold)),
        ("success_threshold", Number(check.SuccessThreshold)),
        ("cluster_aware", Bool(check.ClusterAware)),
        ("config", Settings(check.Settings)));

    /// <summary>Only what differs from the defaults, so a tcp check does not carry an http method.</summary>
    private static YamlMappingNode? Settings(HealthCheckSettings settings)
    {
        var map = Map(
            ("url", settings.Url is null ? null : Text(UrlPasswords.Mask(settings.Url))),
            ("method", settings.Method == "GET" ? null : Text(settings.Method)),
            ("expected_status_codes", settings.ExpectedStatusCodes.Count == 0 ? null : List(settings.ExpectedStatusCodes.Select(c => c.ToString(CultureInfo.InvariantCulture)), quote: false)),
            ("expected_content", Optional(settings.ExpectedContent)),
            ("headers", settings.Headers.Count == 0 ? null : Map(settings.Headers.Select(h => (h.Key, (YamlNode?)Masked())).ToArray())),
            ("verify_ssl", settings.VerifySsl ? null : Bool(false)),
            ("database", Optional(settings.Database)),
            ("user", Optional(settings.User)),
            ("password", settings.Password is null ? null : Masked()),
            ("sslmode", Optional(settings.SslMode)),
            ("bootstrap_servers", Optional(settings.BootstrapServers)),
            ("command", settings.Command.Count == 0 ? null : List(settings.Command)));
        return map.Children.Count == 0 ? null : map;
    }

    private static YamlMappingNode Restart(RestartPolicy policy) => Map(
        ("enabled", Bool(policy.Enabled)),
        ("max_attempts", Number(policy.MaxAttempts)),
        ("initial_delay", Duration(policy.InitialDelay)),
        ("max_delay", Duration(policy.MaxDelay)),
        ("backoff_multiplier", Number(policy.BackoffMultiplier)),
        ("jitter", Number(policy.Jitter)),
        ("reset_after", Duration(policy.ResetAfter)));

    private static YamlMappingNode Map(params (string Key, YamlNode? Value)[] entries)
    {
        var map = new YamlMappingNode();
        foreach (var (key, value) in entries)
            if (value is not null) map.Add(new YamlScalarNode(key), value);
        return map;
    }

    private static YamlSequenceNode List(IEnumerable<string> items, bool quote = true) =>
        new(items.Select(i => quote ? (YamlNode)Text(i) : Plain(i))) { Style = YamlDotNet.Core.Events.SequenceStyle.Flow };

    private static YamlScalarNode? Optional(string? value) => value is null ? null : Text(value);

    /// <summary>A string value: '$' doubled so the loader does not substitute it again; quoted where YAML would read it as something else.</summary>
    private static YamlScalarNode Text(string value)
    {
        var escaped = value.Replace("$", "$$");
        return new YamlScalarNode(escaped) { Style = PlainIsSafe().IsMatch(escaped) && !LooksTyped(escaped) ? ScalarStyle.Plain : ScalarStyle.DoubleQuoted };
    }

    private static YamlScalarNode Masked() => new(Mask) { Style = ScalarStyle.DoubleQuoted };

    private static YamlScalarNode Plain(string value) => new(value) { Style = ScalarStyle.Plain };

    private static YamlScalarNode Number(double value) => Plain(value.ToString("R", CultureInfo.InvariantCulture));

    private static YamlScalarNode Bool(bool value) => Plain(value ? "true" : "false");

    private static YamlScalarNode Duration(TimeSpan value) => Plain(Durations.Format(value));

    // Strings other YAML readers would take for null, a boolean or a number stay quoted there too.
    private static bool LooksTyped(string value) =>
        value.ToLowerInvariant() is "null" or "~" or "true" or "false" or "yes" or "no" or "on" or "off" or "y" or "n"
        || double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out _);

    [GeneratedRegex(@"^[A-Za-z0-9_./][A-Za-z0-9_./@+=,-]*$")]
    private static partial Regex PlainIsSafe();
}
