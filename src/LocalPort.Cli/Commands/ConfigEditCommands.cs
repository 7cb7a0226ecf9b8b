using System.CommandLine;
using LocalPort.Cli.Common;
using LocalPort.Core;
using LocalPort.Core.Config;

namespace LocalPort.Cli.Commands;

/// <summary>
/// `localport config add|remove`: edit localport.yaml in place. Only the service's own lines change (comments, order and
/// style elsewhere stay); the result must validate before it replaces the file, atomically and with the file's mode.
/// A daemon watching the file reloads it by itself.
/// </summary>
public static class ConfigEditCommands
{
    private static readonly IReadOnlyDictionary<string, Technology> Technologies = new Dictionary<string, Technology>
    {
        ["kubectl"] = Technology.Kubectl, ["ssh"] = Technology.Ssh, ["tcp"] = Technology.Tcp,
    };

    public static Command Add()
    {
        var name = new Option<string?>("--name", "-n") { Description = "Service name" };
        var technology = Choices.Option<Technology?>("--technology", "How to forward", Technologies.ToDictionary(t => t.Key, t => (Technology?)t.Value), "-t");
        var localPort = new Option<int?>("--local-port", "-l") { Description = "Port on this machine" };
        var remotePort = new Option<int?>("--remote-port") { Description = "Port on the other side" };
        var resource = new Option<string?>("--resource", "-r") { Description = "kubectl: the resource's name" };
        var resourceType = Choices.Option<string?>("--resource-type", "kubectl: service (default), pod, deployment or statefulset",
            new[] { "service", "pod", "deployment", "statefulset" }.ToDictionary(t => t, t => (string?)t));
        var ns = new Option<string?>("--namespace") { Description = "kubectl: namespace (default: default)" };
        var context = new Option<string?>("--context") { Description = "kubectl: kube context (default: the current one)" };
        var host = new Option<string?>("--host") { Description = "ssh: the host to log in to; tcp: the host to relay to" };
        var user = new Option<string?>("--user", "-u") { Description = "ssh: user name" };
        var key = new Option<string?>("--key", "-k", "--key-file") { Description = "ssh: private key file" };
        var sshPort = new Option<int?>("--ssh-port") { Description = "ssh: port of the ssh server (default 22)" };
        var remoteHost = new Option<string?>("--remote-host") { Description = "ssh: host the tunnel reaches from the server (default localhost)" };
        var tags = new Option<string[]>("--tag") { Description = "A tag (repeatable)" };
        var description = new Option<string?>("--description") { Description = "What it is for" };
        var command = new Command("add", "Add a service to the configuration file (asks for what is missing on a terminal)");
        foreach (var option in new Option[] { name, technology, localPort, remotePort, resource, resourceType, ns, context, host, user, key, sshPort,
                     remoteHost, tags, description })
            command.Options.Add(option);
        command.SetAction(parse =>
        {
            var ask = new Asker();
            var svcName = ask.Text(parse.GetValue(name), "--name", "Service name");
            var tech = ask.Choice(parse.GetValue(technology), "--technology", "Technology (kubectl, ssh, tcp)", Technologies);
            var local = ask.Port(parse.GetValue(localPort), "--local-port", "Local port");
            var remote = ask.Port(parse.GetValue(remotePort), "--remote-port", "Remote port");
            var connection = new List<KeyValuePair<string, string>>();
            void Put(string field, string? value)
            {
                if (!string.IsNullOrEmpty(value)) connection.Add(new(field, value));
            }
            switch (tech)
            {
                case Technology.Kubectl:
                    Put("resource_type", parse.GetValue(resourceType));
                    Put("resource_name", ask.Text(parse.GetValue(resource), "--resource", "Kubernetes resource name"));
                    Put("namespace", parse.GetValue(ns));
                    Put("context", parse.GetValue(context));
                    break;
                case Technology.Ssh:
                    Put("host", ask.Text(parse.GetValue(host), "--host", "SSH host"));
                    Put("user", parse.GetValue(user));
                    Put("port", parse.GetValue(sshPort)?.ToString());
                    Put("key_file", parse.GetValue(key));
                    Put("remote_host", parse.GetValue(remoteHost));
                    break;
                case Technology.Tcp:
                    Put("host", ask.Text(parse.GetValue(host), "--host", "Host to relay to"));
                    break;
            }
            if (ask.Missing.Count > 0)
            {
                Console.Error.WriteLine($"error: missing {string.Join(", ", ask.Missing)} (run it in a terminal to be asked)");
                return ExitCodes.UsageOrConfig;
            }
            var service = new NewService(svcName!, tech!.Value, local!.Value, remote!.Value, connection, parse.GetValue(tags) ?? [], parse.GetValue(description));
            return Edit(parse, text => ConfigEditor.AddService(text, service), $"added {service.Name}");
        });
        return command;
    }

    public static Command Remove()
    {
        var service = new Argument<string>("service") { Description = "The service to remove", HelpName = "service" };
        ServiceNames.Complete(service.CompletionSources);
        var force = new Option<bool>("--force", "-f") { Description = "Do not ask for confirmation" };
        var command = new Command("remove", "Remove a service from the configuration file");
        command.Arguments.Add(service);
        command.Options.Add(force);
        command.SetAction(parse =>
        {
            var name = parse.GetValue(service)!;
            if (!parse.GetValue(force))
            {
                if (Console.IsInputRedirected)
                {
                    Console.Error.WriteLine($"error: not asking without a terminal; pass --force to remove '{name}'");
                    return ExitCodes.UsageOrConfig;
                }
                Console.Write($"Remove service '{name}' from {ConfigResolver.FindPath(parse)}? [y/N] ");
                if (Console.ReadLine()?.Trim().ToLowerInvariant() is not ("y" or "yes"))
                {
                    Console.WriteLine("nothing changed");
                    return ExitCodes.Ok;
                }
            }
            return Edit(parse, text => ConfigEditor.RemoveService(text, name), $"removed {name}",
                names => Hints.Unknown("service", [name], names));
        });
        return command;
    }

    /// <summary>Reads the file, edits it, checks the result loads, and replaces the file (through its link, keeping its mode).</summary>
    private static int Edit(ParseResult parse, Func<string, string> edit, string done, Func<IReadOnlyList<string>, string>? unknown = null)
    {
        var path = ConfigResolver.FindPath(parse);
        if (path is null || !File.Exists(path))
        {
            Console.Error.WriteLine($"error: no configuration file {(path is null ? "found" : $"at {path}")}; create one with `localport config init`");
            return ExitCodes.UsageOrConfig;
        }
        var real = new FileInfo(path).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? path;
        var before = File.ReadAllText(real);
        string after;
        try
        {
            after = edit(before);
        }
        catch (ConfigEditException e)
        {
            var names = ConfigEditor.ServiceNames(before);
            Console.Error.WriteLine(unknown is not null && e.Message.StartsWith("no service named", StringComparison.Ordinal) ? unknown(names) : $"error: {path}: {e.Message}");
            return ExitCodes.UsageOrConfig;
        }
        var check = ConfigLoader.LoadText(after, path);
        ConfigResolver.Print(check, Console.Error, parse.GetValue(GlobalOptions.Quiet));
        if (!check.Ok)
        {
            Console.Error.WriteLine($"{path} was not changed.");
            return ExitCodes.UsageOrConfig;
        }
        var mode = OperatingSystem.IsWindows() ? (UnixFileMode?)null : File.GetUnixFileMode(real);
        LocalPortPaths.WriteAtomically(real, after);
        if (mode is { } kept) File.SetUnixFileMode(real, kept);
        Console.WriteLine($"{done} in {path}");
        return ExitCodes.Ok;
    }

    /// <summary>Takes what was given; on a terminal asks for what was not; otherwise notes it as missing.</summary>
    private sealed class Asker
    {
        private readonly bool _interactive = !Console.IsInputRedirected && !Console.IsOutputRedirected;
        public List<string> Missing { get; } = [];

        public string? Text(string? given, string flag, string prompt)
        {
            if (!string.IsNullOrWhiteSpace(given)) return given;
            if (_interactive)
            {
                Console.Write($"{prompt}: ");
                if (Console.ReadLine()?.Trim() is { Length: > 0 } answer) return answer;
            }
            Missing.Add(flag);
            return null;
        }

        public int? Port(int? given, string flag, string prompt)
        {
            if (given is not null) return given;
            var text = Text(null, flag, prompt);
            if (text is null) return null;
            if (int.TryParse(text, out var port)) return port;
            Missing.Remove(flag);
            Missing.Add($"{flag} ('{text}' is not a number)");
            return null;
        }

        public T? Choice<T>(T? given, string flag, string prompt, IReadOnlyDictionary<string, T> values) where T : struct
        {
            if (given is not null) return given;
            var text = Text(null, flag, prompt);
            if (text is null) return null;
            if (Choices.Lookup(text, values, out var value)) return value;
            Missing.Add($"{flag} ({Choices.Refusal(flag, text, values.Keys)})");
            return null;
        }
    }
}
