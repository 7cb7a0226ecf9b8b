using System.CommandLine;
using LocalPort.Cli.Common;
using LocalPort.Core;
using LocalPort.Core.Config;

namespace LocalPort.Cli.Commands;

/// <summary>`localport config validate|init|paths` (export and list: <see cref="ConfigViewCommands"/>; add and remove: <see cref="ConfigEditCommands"/>).</summary>
public static class ConfigCommands
{
    public static Command Create()
    {
        var command = new Command("config", "Validate, export, list, edit, create or locate the configuration");
        command.Subcommands.Add(Validate());
        command.Subcommands.Add(ConfigViewCommands.Export());
        command.Subcommands.Add(ConfigViewCommands.List());
        command.Subcommands.Add(ConfigEditCommands.Add());
        command.Subcommands.Add(ConfigEditCommands.Remove());
        command.Subcommands.Add(Init());
        command.Subcommands.Add(Paths());
        return command;
    }

    private static Command Validate()
    {
        var strict = new Option<bool>("--strict") { Description = "Treat unset environment variables as errors" };
        var command = new Command("validate", "Check the configuration; every problem is listed with file:line:column");
        command.Options.Add(strict);
        command.SetAction(parse =>
        {
            var path = ConfigResolver.FindPath(parse);
            if (path is null) return ConfigResolver.Load(parse, Console.Error) is null ? ExitCodes.UsageOrConfig : ExitCodes.Ok;
            var result = ConfigLoader.Load(path, ConfigResolver.LoadOptions(parse) with { Strict = parse.GetValue(strict) });
            if (parse.GetValue(GlobalOptions.Output) == OutputFormat.Json)
            {
                Console.WriteLine(CliJson.Serialize(new ValidateView(path, result.Ok, result.Config?.Services.Count ?? 0,
                    result.Errors.Select(Describe).ToList(), result.Warnings.Select(Describe).ToList())));
                return result.Ok ? ExitCodes.Ok : ExitCodes.UsageOrConfig;
            }
            ConfigResolver.Print(result, Console.Error, parse.GetValue(GlobalOptions.Quiet));
            if (!result.Ok) return ExitCodes.UsageOrConfig;
            var config = result.Config!;
            Console.WriteLine($"ok: {path}: {config.Services.Count} service(s), {config.Enabled.Count()} enabled" +
                              (result.Warnings.Any() ? $", {result.Warnings.Count()} warning(s)" : ""));
            return ExitCodes.Ok;
        });
        return command;
    }

    private static DiagnosticView Describe(ConfigDiagnostic d) => new(d.File, d.Line, d.Column, d.Message);

    private static Command Init()
    {
        var pathArgument = new Argument<string>("path") { Description = "Where to write it", DefaultValueFactory = _ => "localport.yaml" };
        var force = new Option<bool>("--force") { Description = "Overwrite an existing file" };
        var command = new Command("init", "Write a commented starter localport.yaml");
        command.Arguments.Add(pathArgument);
        command.Options.Add(force);
        command.SetAction(parse =>
        {
            var path = Path.GetFullPath(parse.GetValue(pathArgument)!);
            if (File.Exists(path) && !parse.GetValue(force))
            {
                Console.Error.WriteLine($"error: {path} already exists; pass --force to overwrite it");
                return ExitCodes.Failure;
            }
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            var options = new FileStreamOptions
            {
                Mode = FileMode.Create, Access = FileAccess.Write,
                UnixCreateMode = OperatingSystem.IsWindows() ? null : UnixFileMode.UserRead | UnixFileMode.UserWrite,
            };
            using (var writer = new StreamWriter(path, options)) writer.Write(ConfigTemplates.Init);
            Console.WriteLine($"wrote {path}; check it with `localport config validate -c {path}`");
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command Paths()
    {
        var command = new Command("paths", "Show where configuration is searched (in order) and where LocalPort keeps its files");
        command.SetAction(parse =>
        {
            var chosen = ConfigResolver.FindPath(parse);
            var candidates = ConfigLocator.Candidates(parse.GetValue(GlobalOptions.Config), Environment.GetEnvironmentVariable,
                Directory.GetCurrentDirectory(), ConfigResolver.Home);
            var paths = LocalPortPaths.FromEnvironment();
            if (parse.GetValue(GlobalOptions.Output) == OutputFormat.Json)
            {
                Console.WriteLine(CliJson.Serialize(new PathsView(chosen, candidates.Select(c => new SearchView(c.Path, c.Origin, c.Exists)).ToList(),
                    paths.StateDirectory, paths.RuntimeDirectory, paths.LogDirectory)));
                return ExitCodes.Ok;
            }
            Console.WriteLine("Configuration search order (first existing wins):");
            foreach (var c in candidates)
            {
                var mark = c.Path == chosen ? "=>" : c.Exists ? " +" : "  ";
                Console.WriteLine($"{mark} {c.Path}  ({c.Origin})");
            }
            Console.WriteLine(chosen is null ? "No configuration file found." : $"Using: {chosen}");
            Console.WriteLine($"State directory:   {paths.StateDirectory}");
            Console.WriteLine($"Runtime directory: {paths.RuntimeDirectory}");
            Console.WriteLine($"Logs:              {paths.LogDirectory}");
            return ExitCodes.Ok;
        });
        return command;
    }
}
