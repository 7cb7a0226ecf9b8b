using System.Text.RegularExpressions;
using YamlDotNet.RepresentationModel;

namespace LocalPort.Core.Config;

/// <summary>What the top level inherits into every service.</summary>
internal sealed record ServiceDefaults(ConfigSection HealthCheck, ConfigSection RestartPolicy);

/// <summary>One service as read, kept even when invalid so names and ports can still be checked across services.</summary>
internal sealed record ParsedService(string Path, ServiceSpec? Spec, string? Name, ConfigField? NameField, int? LocalPort, ConfigField? LocalPortField, bool Enabled);

/// <summary>Reads one entry of <c>services</c>.</summary>
internal static partial class ServiceParser
{
    private static readonly string[] Keys =
    [
        "name", "technology", "local_port", "remote_port", "connection", "enabled", "tags", "description", "priority",
        "health_check", "restart_policy", "chaos",
    ];

    private static readonly Dictionary<string, Technology> Technologies = new(StringComparer.OrdinalIgnoreCase)
    {
        ["kubectl"] = Technology.Kubectl,
        ["ssh"] = Technology.Ssh,
        ["tcp"] = Technology.Tcp,
    };

    /// <param name="key">In the mapping form (<c>services: {name: {...}}</c>), the key, which is the default name.</param>
    public static ParsedService Parse(ConfigField item, ConfigField? key, ServiceDefaults defaults, LoadContext context)
    {
        var read = context.Reader;
        if (item.Node is not YamlMappingNode mapping)
        {
            context.Bag.Error(item.Node.Start,
                $"{item.Path}: expected a service (name, technology, local_port, remote_port, connection), found {NodeText.Describe(item.Node)}");
            return new ParsedService(item.Path, null, null, null, null, null, false);
        }

        var section = ConfigSection.Of(mapping, item.Path);
        section.WarnUnknownKeys(context.Bag, Keys);

        var (name, nameField) = ParseName(section, key, context);
        var technology = ParseTechnology(section, context);
        var localPortField = section.Get("local_port");
        var localPort = read.RequiredPort(section, "local_port");
        var remotePort = read.RequiredPort(section, "remote_port");
        var enabled = read.Bool(section, "enabled", true);
        var tags = (read.List(section, "tags") ?? []).Select(t => t.Text.Trim()).Distinct().ToList();
        var description = read.OptionalString(section, "description");
        var priority = read.Int(section, "priority", 0, int.MinValue, int.MaxValue);

        var connectionSection = section.Child("connection", context.Bag);
        ConnectionSpec? connection = null;
        if (connectionSection.IsPresent && technology is { } known)
            connection = ConnectionParser.Parse(known, connectionSection, context);
        else if (section.Get("connection") is not { } written || NodeText.IsNull(written.Node))
            context.Bag.Error(section.Start, $"{item.Path}.connection is missing; add the {TechnologyHint(technology)} to connect to");

        var healthCheck = HealthCheckParser.Parse(section.Child("health_check", context.Bag).InheritFrom(defaults.HealthCheck), context);
        var restartPolicy = RestartPolicyParser.Parse(section.Child("restart_policy", context.Bag).InheritFrom(defaults.RestartPolicy), context);
        var chaos = ChaosParser.Parse(section, context);

        var spec = name is null || technology is null || localPort is null || remotePort is null || connection is null
            ? null
            : new ServiceSpec
            {
                Name = name,
                Technology = technology.Value,
                LocalPort = localPort.Value,
                RemotePort = remotePort.Value,
                Connection = connection,
                Enabled = enabled,
                Tags = tags,
                Description = description,
                Priority = priority,
                HealthCheck = healthCheck,
                RestartPolicy = restartPolicy,
                Chaos = chaos,
            };
        return new ParsedService(item.Path, spec, name, nameField, localPort, localPortField, enabled);
    }

    private static (string? Name, ConfigField? Field) ParseName(ConfigSection section, ConfigField? key, LoadContext context)
    {
        var field = section.Get("name");
        var name = key is null
            ? context.Reader.RequiredString(section, "name", "give the service a unique name such as postgres")
            : context.Reader.OptionalString(section, "name");
        if (key is { } keyField && context.Reader.Text(keyField) is { } keyName)
        {
            if (name is not null && name != keyName)
                context.Bag.Warning(field!.Value.Node.Start, $"{field.Value.Path}: {NodeText.Quote(name)} differs from its key {NodeText.Quote(keyName)}; the name is used");
            if (name is null)
            {
                name = keyName;
                field = keyField;
            }
        }
        if (name is null || field is null) return (null, null);
        if (ValidName().IsMatch(name)) return (name, field);
        context.Bag.Error(field.Value.Node.Start,
            $"{field.Value.Path}: {NodeText.Quote(name)} is not a valid name; use letters, digits, '.', '_' and '-' only");
        return (null, null);
    }

    private static Technology? ParseTechnology(ConfigSection section, LoadContext context)
    {
        const string choices = "kubectl, ssh, tcp";
        var text = context.Reader.RequiredString(section, "technology", $"use one of {choices}");
        if (text is null) return null;
        if (Technologies.TryGetValue(text.Trim(), out var technology)) return technology;
        context.Bag.Error(section.Get("technology")!.Value.Node.Start, $"{section.Path}.technology: {NodeText.Quote(text)} is not one of {choices}");
        return null;
    }

    private static string TechnologyHint(Technology? technology) => technology switch
    {
        Technology.Kubectl => "Kubernetes resource (resource_name, namespace)",
        Technology.Ssh => "ssh server (host, user, key_file)",
        Technology.Tcp => "upstream host",
        _ => "endpoint",
    };

    [GeneratedRegex("^[A-Za-z0-9._-]+$")]
    private static partial Regex ValidName();
}
