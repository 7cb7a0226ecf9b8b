using System.CommandLine;
using LocalPort.Cli.Common;
using LocalPort.Control;
using LocalPort.Core;
using LocalPort.Core.Config;
using Spectre.Console;

namespace LocalPort.Cli.Commands;

/// <summary>`localport config export` and `localport config list`: the configuration as a file, and as a list of services.</summary>
public static class ConfigViewCommands
{
    private static readonly IReadOnlyDictionary<string, string> ExportFormats = new Dictionary<string, string> { ["yaml"] = "yaml", ["json"] = "json" };

    public static Command Export()
    {
        var format = Choices.Option<string?>("--format", "yaml or json (default yaml; json with -o json or a FILE ending in .json)",
            ExportFormats.ToDictionary(f => f.Key, f => (string?)f.Value), "-f");
        // Shadows the global --output here, as upstream's `config export -o FILE`: a format word is still a format.
        var output = new Option<string?>("--output", "-o") { Description = "Write to FILE (private, 0600) instead of stdout; `-o json` means --format json" };
        var services = new Option<string[]>("--service", "-s") { Description = "Only this service (repeatable)" };
        ServiceNames.Complete(services.CompletionSources);
        var tags = new Option<string[]>("--tag", "-t") { Description = "Only services carrying this tag (repeatable)" };
        var includeDisabled = new Option<bool>("--include-disabled") { Description = "Also export services with enabled: false (named ones always are)" };
        var includeDefaults = new Option<bool>("--include-defaults") { Description = "Write every value, defaults included (the default)" };
        var noDefaults = new Option<bool>("--no-defaults") { Description = "Leave out values equal to the built-in defaults" };
        var command = new Command("export", "Print the effective configuration (defaults merged, variables substituted, secrets masked)");
        foreach (var option in new Option[] { format, output, services, tags, includeDisabled, includeDefaults, noDefaults }) command.Options.Add(option);
        command.SetAction(parse =>
        {
            var config = ConfigResolver.Load(parse, Console.Error);
            if (config is null) return ExitCodes.UsageOrConfig;
            var target = parse.GetValue(output);
            var chosen = parse.GetValue(format);
            if (target is not null && (Choices.Lookup(target, ExportFormats, out var word) || Choices.Lookup(target, GlobalOptions.Formats, out _)))
            {
                chosen ??= word ?? "yaml";
                target = null;
            }
            chosen ??= parse.GetValue(GlobalOptions.Output) == OutputFormat.Json || target?.EndsWith(".json", StringComparison.OrdinalIgnoreCase) == true
                ? "json" : "yaml";

            var names = parse.GetValue(services) ?? [];
            var unknown = names.Where(n => config.Services.All(s => s.Name != n)).ToList();
            if (unknown.Count > 0)
            {
                Console.Error.WriteLine(Hints.Unknown("service", unknown, config.Services.Select(s => s.Name).ToList()));
                return ExitCodes.UsageOrConfig;
            }
            var wanted = parse.GetValue(tags) ?? [];
            var selected = config.Services
                .Where(s => names.Length == 0 || names.Contains(s.Name))
                .Where(s => wanted.Length == 0 || s.Tags.Any(wanted.Contains))
                .ToList();
            var disabled = selected.Where(s => !s.Enabled && !names.Contains(s.Name)).ToList();
            if (!parse.GetValue(includeDisabled) && disabled.Count > 0)
            {
                selected = selected.Except(disabled).ToList();
                Console.Error.WriteLine($"note: left out {disabled.Count} disabled service(s) ({string.Join(", ", disabled.Select(s => s.Name))}); " +
                                        "--include-disabled keeps them");
            }
            if (selected.Count == 0)
            {
                Console.Error.WriteLine("error: no service matches; nothing to export");
                return ExitCodes.UsageOrConfig;
            }
            var filtered = config with { Services = selected };
            var withDefaults = !parse.GetValue(noDefaults);
            var text = chosen == "json" ? ConfigExporter.ToJson(filtered, withDefaults) : ConfigExporter.ToYaml(filtered, withDefaults);
            if (target is null)
            {
                Console.Write(text);
                return ExitCodes.Ok;
            }
            var path = Path.GetFullPath(target);
            LocalPortPaths.WriteAtomically(path, text);
            Console.Error.WriteLine($"wrote {selected.Count} service(s) as {chosen} to {path}");
            return ExitCodes.Ok;
        });
        return command;
    }

    public static Command List()
    {
        var command = new Command("list", "List the configured services: name, technology, ports, target, enabled, tags");
        command.SetAction(parse =>
        {
            var config = ConfigResolver.Load(parse, Console.Error);
            if (config is null) return ExitCodes.UsageOrConfig;
            var rows = config.Services.Select(s => new ServiceRow(
                s.Name, s.Technology.ToString().ToLowerInvariant(), s.LocalPort, s.RemotePort, Target(s), s.Enabled, s.Tags, s.Description)).ToList();
            var format = parse.GetValue(GlobalOptions.Output);
            if (format == OutputFormat.Json)
            {
                Console.WriteLine(CliJson.Serialize(new ServiceListView(config.SourcePath, rows)));
                return ExitCodes.Ok;
            }
            if (format == OutputFormat.Text || Console.IsOutputRedirected)
            {
                foreach (var r in rows)
                    Console.WriteLine($"{r.Name,-20} {r.Technology,-8} {r.LocalPort,5} -> {r.Target}{(r.Enabled ? "" : "  (disabled)")}" +
                                      (r.Tags.Count > 0 ? $"  tags={string.Join(",", r.Tags)}" : ""));
                return ExitCodes.Ok;
            }
            var table = new Table().Border(TableBorder.Rounded).AddColumns("Service", "Tech", "Local port", "Target", "Enabled", "Tags");
            foreach (var r in rows)
                table.AddRow(Markup.Escape(r.Name), r.Technology, r.LocalPort.ToString(), Markup.Escape(r.Target),
                    r.Enabled ? "yes" : "[grey]no[/]", Markup.Escape(string.Join(", ", r.Tags)));
            AnsiConsole.Write(table);
            AnsiConsole.MarkupLine($"[grey]{Markup.Escape(config.SourcePath ?? "")}[/]");
            return ExitCodes.Ok;
        });
        return command;
    }

    /// <summary>Where a service's traffic goes, in one phrase.</summary>
    private static string Target(ServiceSpec s) => s.Connection switch
    {
        KubectlConnection k => $"{k.ResourceType}/{k.ResourceName}:{s.RemotePort} in {k.Namespace}{(k.Context is null ? "" : $" ({k.Context})")}",
        SshConnection h => $"{h.RemoteHost}:{s.RemotePort} via ssh {(h.User is null ? "" : h.User + "@")}{h.Host}:{h.Port}",
        TcpConnection t => $"{t.Host}:{s.RemotePort}",
        _ => "?",
    };
}
