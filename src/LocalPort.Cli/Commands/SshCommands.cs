using System.CommandLine;
using LocalPort.Cli.Common;
using LocalPort.Control;
using LocalPort.Core;
using LocalPort.Core.Config;
using LocalPort.Core.Forwarding;
using LocalPort.Core.Processes;

namespace LocalPort.Cli.Commands;

/// <summary>`localport ssh test [SVC] [--host H --user U --port P --key-file K]` and `localport ssh validate [-s SVC]`.</summary>
public static class SshCommands
{
    public static Command Create()
    {
        var command = new Command("ssh", "Check ssh services: log in with their settings, or check the settings themselves");
        command.Subcommands.Add(Test());
        command.Subcommands.Add(Validate());
        return command;
    }

    private static Command Test()
    {
        var service = new Argument<string?>("service") { Description = "An ssh service of the configuration", Arity = ArgumentArity.ZeroOrOne, HelpName = "service" };
        ServiceNames.Complete(service.CompletionSources, s => s.Technology == Technology.Ssh);
        // No -h for --host: -h is help here, as everywhere in this tool.
        var host = new Option<string?>("--host") { Description = "Test this host instead of a service" };
        var user = new Option<string?>("--user", "-u") { Description = "User name (with --host, or instead of the service's)" };
        var port = new Option<int?>("--port", "-p") { Description = "ssh port (default 22, or the service's)" };
        var keyFile = new Option<string?>("--key-file", "-k") { Description = "Private key file (with --host, or instead of the service's)" };
        var timeout = Duration.Option("--timeout", "How long to wait for the connection", TimeSpan.FromSeconds(10));
        var command = new Command("test", "Log in with a service's ssh settings (BatchMode, a timeout) and say what went wrong, if anything");
        command.Arguments.Add(service);
        foreach (var option in new Option[] { host, user, port, keyFile, timeout }) command.Options.Add(option);
        command.SetAction(async (parse, token) =>
        {
            SshConnection connection;
            string label;
            if (parse.GetValue(service) is { } name)
            {
                var config = ConfigResolver.Load(parse, Console.Error);
                if (config is null) return ExitCodes.UsageOrConfig;
                if (Find(config, name) is not { } spec) return ExitCodes.UsageOrConfig;
                connection = (SshConnection)spec.Connection;
                label = name;
            }
            else if (parse.GetValue(host) is { } h)
            {
                connection = new SshConnection(h, null, 22, null, null, "localhost", null, "accept-new", new Dictionary<string, string>(), null);
                label = h;
            }
            else
            {
                Console.Error.WriteLine("error: name an ssh service (`localport ssh test SVC`) or a host (`localport ssh test --host H [--user U]`)");
                return ExitCodes.UsageOrConfig;
            }
            connection = connection with
            {
                User = parse.GetValue(user) ?? connection.User,
                Port = parse.GetValue(port) ?? connection.Port,
                KeyFile = parse.GetValue(keyFile) is { } key ? PathExpansion.Expand(key, ConfigResolver.Home) : connection.KeyFile,
            };
            var scratch = Path.Combine(LocalPortPaths.FromEnvironment().RuntimeDirectory, $"ssh-test-{Environment.ProcessId}");
            SshLoginResult result;
            try
            {
                result = await SshLoginCheck.RunAsync(connection, parse.GetValue(timeout).Value, scratch, token);
            }
            finally
            {
                if (Directory.Exists(scratch)) Directory.Delete(scratch, recursive: true);
            }
            if (parse.GetValue(GlobalOptions.Output) == OutputFormat.Json)
                Console.WriteLine(CliJson.Serialize(new SshTestView(label, connection.Host, connection.Port, connection.User, result.Ok, result.Summary, result.Detail)));
            else
            {
                (result.Ok ? Console.Out : Console.Error).WriteLine($"{label}: {result.Summary}");
                if (result.Detail is not null) Console.Error.WriteLine($"  ssh said: {result.Detail}");
            }
            return result.Ok ? ExitCodes.Ok : ExitCodes.Failure;
        });
        return command;
    }

    private static Command Validate()
    {
        var service = new Option<string?>("--service", "-s") { Description = "Only this ssh service" };
        ServiceNames.Complete(service.CompletionSources, s => s.Technology == Technology.Ssh);
        var command = new Command("validate", "Check every ssh service's settings without connecting: key files, their modes, the ssh program");
        command.Options.Add(service);
        command.SetAction(parse =>
        {
            var config = ConfigResolver.Load(parse, Console.Error);
            if (config is null) return ExitCodes.UsageOrConfig;
            var services = config.Services.Where(s => s.Technology == Technology.Ssh).ToList();
            if (parse.GetValue(service) is { } name)
            {
                if (Find(config, name) is not { } spec) return ExitCodes.UsageOrConfig;
                services = [spec];
            }
            if (services.Count == 0)
            {
                Console.WriteLine($"no ssh services in {config.SourcePath}");
                return ExitCodes.Ok;
            }
            var results = services.Select(s => (s.Name, Problems: Problems((SshConnection)s.Connection))).ToList();
            if (parse.GetValue(GlobalOptions.Output) == OutputFormat.Json)
                Console.WriteLine(CliJson.Serialize(results.Select(r => new SshValidateView(r.Name, r.Problems.Count == 0, r.Problems)).ToList()));
            else
                foreach (var (svc, problems) in results)
                    Console.WriteLine(problems.Count == 0 ? $"{svc}: ok" : $"{svc}: {string.Join("; ", problems)}");
            return results.All(r => r.Problems.Count == 0) ? ExitCodes.Ok : ExitCodes.UsageOrConfig;
        });
        return command;
    }

    /// <summary>The ssh service of that name, or null after saying why not (unknown name, or not an ssh service).</summary>
    private static ServiceSpec? Find(LocalPortConfig config, string name)
    {
        var spec = config.Services.FirstOrDefault(s => s.Name == name);
        if (spec is null)
            Console.Error.WriteLine(Hints.Unknown("ssh service", [name], config.Services.Where(s => s.Technology == Technology.Ssh).Select(s => s.Name).ToList()));
        else if (spec.Technology != Technology.Ssh)
            Console.Error.WriteLine($"error: {name} is a {spec.Technology.ToString().ToLowerInvariant()} service, not ssh");
        return spec?.Technology == Technology.Ssh ? spec : null;
    }

    /// <summary>What would stop ssh before it connects: the program, the key file and its mode, host key checking turned off.</summary>
    private static List<string> Problems(SshConnection connection)
    {
        var problems = new List<string>();
        try
        {
            OwnSession.Resolve(connection.SshPath ?? "ssh");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            problems.Add($"ssh program: {e.Message}");
        }
        if (connection.KeyFile is { } key)
        {
            if (!File.Exists(key)) problems.Add($"key_file {key} does not exist");
            else if (!OperatingSystem.IsWindows() &&
                     (File.GetUnixFileMode(key) & (UnixFileMode.GroupRead | UnixFileMode.OtherRead | UnixFileMode.GroupWrite | UnixFileMode.OtherWrite)) != 0)
                problems.Add($"key_file {key} can be read by others; ssh refuses it: chmod 600 {key}");
        }
        if (connection.StrictHostKeyChecking.Equals("no", StringComparison.OrdinalIgnoreCase))
            problems.Add("strict_host_key_checking is 'no': any server could pose as this host; use accept-new");
        return problems;
    }
}
