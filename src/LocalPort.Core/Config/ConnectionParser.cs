using System.Text.RegularExpressions;

namespace LocalPort.Core.Config;

/// <summary>Reads <c>connection</c> according to the service's technology.</summary>
internal static partial class ConnectionParser
{
    private static readonly string[] KubectlKeys = ["resource_type", "resource_name", "namespace", "context", "kubeconfig", "kubectl_path"];
    private static readonly string[] SshKeys =
        ["host", "user", "port", "key_file", "password", "remote_host", "jump_host", "strict_host_key_checking", "options", "ssh_path",
         "multiplex", "standby"];
    private static readonly string[] TcpKeys = ["host"];
    private static readonly string[] ResourceTypes = ["service", "pod", "deployment", "statefulset"];

    // yes/true and no/false/off are OpenSSH's own spellings; booleans come from YAML 1.1 habits.
    private static readonly Dictionary<string, string> HostKeyModes = new(StringComparer.OrdinalIgnoreCase)
    {
        ["yes"] = "yes", ["true"] = "yes", ["accept-new"] = "accept-new", ["ask"] = "ask",
        ["no"] = "no", ["false"] = "no", ["off"] = "off",
    };

    public static ConnectionSpec Parse(Technology technology, ConfigSection section, LoadContext context) => technology switch
    {
        Technology.Kubectl => Kubectl(section, context),
        Technology.Ssh => Ssh(section, context),
        _ => Tcp(section, context),
    };

    private static KubectlConnection Kubectl(ConfigSection section, LoadContext context)
    {
        var read = context.Reader;
        section.WarnUnknownKeys(context.Bag, KubectlKeys);
        return new KubectlConnection(
            ResourceType(section, context),
            Name(section, "resource_name", "add the name of the Kubernetes resource to forward to", context) ?? "",
            Name(section, "namespace", null, context) ?? "default",
            read.OptionalArgument(section, "context"),
            read.OptionalArgument(section, "kubeconfig") is { } kubeconfig ? context.ExpandPath(kubeconfig) : null,
            read.OptionalArgument(section, "kubectl_path") is { } kubectl ? context.ExpandPath(kubectl) : null);
    }

    private static SshConnection Ssh(ConfigSection section, LoadContext context)
    {
        var read = context.Reader;
        section.WarnUnknownKeys(context.Bag, SshKeys);
        var host = Host(section, "host", required: true, context) ?? "";
        var multiplex = read.Bool(section, "multiplex", true);
        var standby = read.Bool(section, "standby", false);
        if (standby && !multiplex)
            context.Bag.Warning(section.Get("standby")!.Value.Node.Start,
                $"{section.Path}.standby: a standby is a second shared master, so it needs multiplex: true; ignored");
        return new SshConnection(
            host,
            Host(section, "user", required: false, context),
            read.Int(section, "port", 22, 1, 65535),
            KeyFile(section, context),
            read.OptionalString(section, "password") is { } password ? new Secret(password) : null,
            Host(section, "remote_host", required: false, context) ?? "localhost",
            Host(section, "jump_host", required: false, context),
            HostKeyChecking(section, context),
            SshOptions.Parse(section.Child("options", context.Bag), context),
            read.OptionalArgument(section, "ssh_path") is { } ssh ? context.ExpandPath(ssh) : null)
        {
            Multiplex = multiplex,
            Standby = standby && multiplex,
        };
    }

    private static TcpConnection Tcp(ConfigSection section, LoadContext context)
    {
        section.WarnUnknownKeys(context.Bag, TcpKeys);
        return new TcpConnection(Host(section, "host", required: true, context) ?? "");
    }

    private static string ResourceType(ConfigSection section, LoadContext context)
    {
        if (section.Get("resource_type") is not { } field || context.Reader.OptionalString(section, "resource_type") is not { } text)
            return "service";
        var normal = text.Trim().ToLowerInvariant();
        if (ResourceTypes.Contains(normal)) return normal;
        context.Bag.Error(field.Node.Start, $"{field.Path}: {NodeText.Quote(text)} is not one of {string.Join(", ", ResourceTypes)}");
        return "service";
    }

    /// <summary>A Kubernetes name; checked because it becomes part of a kubectl argument.</summary>
    private static string? Name(ConfigSection section, string key, string? requiredFix, LoadContext context)
    {
        var value = requiredFix is null
            ? context.Reader.OptionalString(section, key)
            : context.Reader.RequiredString(section, key, requiredFix);
        if (value is null || SafeName().IsMatch(value)) return value;
        context.Bag.Error(section.Get(key)!.Value.Node.Start,
            $"{section.Path}.{key}: {NodeText.Quote(value)} is not a Kubernetes name; use letters, digits, '.', '_' and '-'");
        return null;
    }

    /// <summary>A host or user name; one starting with '-' would be read by ssh as an option.</summary>
    private static string? Host(ConfigSection section, string key, bool required, LoadContext context)
    {
        var value = required
            ? context.Reader.RequiredString(section, key, $"add the {(key == "host" ? "server's host name or address" : key)}")
            : context.Reader.OptionalString(section, key);
        if (value is null) return null;
        var trimmed = value.Trim();
        if (!trimmed.StartsWith('-') && !trimmed.Any(char.IsWhiteSpace)) return trimmed;
        context.Bag.Error(section.Get(key)!.Value.Node.Start,
            $"{section.Path}.{key}: {NodeText.Quote(value)} is not a host name; it must not contain spaces or start with '-'");
        return null;
    }

    private static string? KeyFile(ConfigSection section, LoadContext context)
    {
        if (context.Reader.OptionalArgument(section, "key_file") is not { } written) return null;
        var path = context.ExpandPath(written.Trim());
        if (!File.Exists(path))
            context.Bag.Warning(section.Get("key_file")!.Value.Node.Start,
                $"{section.Path}.key_file: {NodeText.Quote(path)} does not exist; ssh will not be able to use it");
        return path;
    }

    private static string HostKeyChecking(ConfigSection section, LoadContext context)
    {
        if (section.Get("strict_host_key_checking") is not { } field
            || context.Reader.OptionalString(section, "strict_host_key_checking") is not { } text)
            return "accept-new";
        if (!HostKeyModes.TryGetValue(text.Trim(), out var mode))
        {
            context.Bag.Error(field.Node.Start,
                $"{field.Path}: {NodeText.Quote(text)} is not one of yes, accept-new, ask, no, off; accept-new is the safe default");
            return "accept-new";
        }
        if (mode is "no" or "off")
            context.Bag.Warning(field.Node.Start,
                $"{field.Path}: {NodeText.Quote(text)} accepts any host key, so a man in the middle goes unnoticed; prefer accept-new");
        return mode;
    }

    [GeneratedRegex("^[A-Za-z0-9._-]+$")]
    private static partial Regex SafeName();
}
