using System.CommandLine;
using LocalPort.Cli.Commands;
using LocalPort.Control;
using LocalPort.Cli.Daemon;
using LocalPort.Core;
using LocalPort.Core.Config;
using Spectre.Console;

namespace LocalPort.Cli.Common;

/// <summary>
/// The logs there are and the services there could be logs for (the active configuration and the running daemon's),
/// so `logs NAME` can tell an unknown name from a tcp service (in-process: no child, no child log) or one not started yet.
/// </summary>
public sealed class LogCatalog
{
    private readonly LocalPortPaths _paths;
    /// <summary>Service name → technology (kubectl, ssh, tcp).</summary>
    private readonly Dictionary<string, string> _services;

    private LogCatalog(LocalPortPaths paths, Dictionary<string, string> services)
    {
        _paths = paths;
        _services = services;
    }

    public static async Task<LogCatalog> ReadAsync(ParseResult parse, LocalPortPaths paths)
    {
        var services = new Dictionary<string, string>(StringComparer.Ordinal);
        if (ConfigResolver.FindPath(parse) is { } path && ConfigLoader.Load(path).Config is { } config)
            foreach (var s in config.Services) services[s.Name] = s.Technology.ToString().ToLowerInvariant();
        using var client = DaemonLauncher.Client(paths, TimeSpan.FromSeconds(5));
        if (await client.IsAliveAsync())
            foreach (var s in (await client.StatusAsync()).Services) services[s.Name] = s.Technology;
        return new LogCatalog(paths, services);
    }

    public bool Knows(string name) => name == LogsCommand.DaemonLogName || _services.ContainsKey(name);

    /// <summary>Why there is no log to show, and the exit code: 2 for a name nobody knows, 1 for a log that does not exist (yet).</summary>
    public (int Code, string Message) Missing(string name, string file)
    {
        if (name == LogsCommand.DaemonLogName)
            return (ExitCodes.Failure, $"error: no daemon log yet at {file} (it appears once `localport daemon start` or `run` has run)");
        if (!_services.TryGetValue(name, out var technology))
            return (ExitCodes.UsageOrConfig, Hints.Unknown("service", [name], Names().ToList()) + "; `localport logs --list` shows the logs there are");
        if (technology == "tcp")
            return (ExitCodes.Failure, $"{name} is a tcp service: LocalPort relays it in-process, so there is no child and no child log; " +
                                       "its starts, stops and errors are in the daemon log: `localport logs`");
        return (ExitCodes.Failure, $"error: no log for '{name}' yet at {file} (it appears once the service has started)");
    }

    private IEnumerable<string> Names() => _services.Keys.Append(LogsCommand.DaemonLogName);


    private IReadOnlyList<LogEntryView> Entries()
    {
        LogEntryView Describe(string name, string kind, string? technology, string path)
        {
            var info = new FileInfo(path);
            return new LogEntryView(name, kind, technology, path, info.Exists, info.Exists ? info.Length : null, info.Exists ? info.LastWriteTime : null);
        }
        var entries = new List<LogEntryView> { Describe(LogsCommand.DaemonLogName, "daemon", null, _paths.DaemonLog) };
        var onDisk = Directory.Exists(_paths.LogDirectory)
            ? Directory.EnumerateFiles(_paths.LogDirectory, "*.log").Select(f => Path.GetFileNameWithoutExtension(f)!)
                .Where(n => !IsDaemonLog(n))
            : [];
        foreach (var name in onDisk.Concat(_services.Keys).Distinct().Order(StringComparer.Ordinal))
            entries.Add(Describe(name, "service", _services.GetValueOrDefault(name), _paths.ServiceLog(name)));
        return entries;
    }

    /// <summary>The daemon log and its rolled files (localport_001.log …, named by the log sink).</summary>
    private bool IsDaemonLog(string name)
    {
        var daemon = Path.GetFileNameWithoutExtension(_paths.DaemonLog);
        return name == daemon || name.StartsWith(daemon + "_", StringComparison.Ordinal) && name[(daemon.Length + 1)..].All(char.IsAsciiDigit);
    }

    public int Print(OutputFormat format)
    {
        var entries = Entries();
        if (format == OutputFormat.Json)
        {
            Console.WriteLine(CliJson.Serialize(entries));
            return ExitCodes.Ok;
        }
        string Note(LogEntryView e) => e.Exists ? "" : e.Technology == "tcp" ? "no child log (tcp: in-process)" : "no log yet";
        if (format == OutputFormat.Text || Console.IsOutputRedirected)
        {
            foreach (var e in entries)
                Console.WriteLine($"{e.Name,-20} {(e.Exists ? $"{Size(e.Size!.Value),9} {e.Modified:yyyy-MM-dd HH:mm:ss}" : Note(e)),-29} {e.Path}");
            return ExitCodes.Ok;
        }
        var table = new Table().Border(TableBorder.Rounded).AddColumns("Log", "Size", "Modified", "Path");
        foreach (var e in entries)
            table.AddRow(Markup.Escape(e.Name), e.Exists ? Size(e.Size!.Value) : $"[grey]{Note(e)}[/]",
                e.Modified?.ToString("yyyy-MM-dd HH:mm:ss") ?? "", Markup.Escape(e.Path));
        AnsiConsole.Write(table);
        return ExitCodes.Ok;
    }

    public static int PrintLocation(LocalPortPaths paths, OutputFormat format)
    {
        if (format == OutputFormat.Json)
        {
            Console.WriteLine(CliJson.Serialize(new LogLocationView(paths.LogDirectory, paths.DaemonLog, paths.ServiceLog("<service>"))));
            return ExitCodes.Ok;
        }
        Console.WriteLine($"Logs:         {paths.LogDirectory}");
        Console.WriteLine($"Daemon log:   {paths.DaemonLog}");
        Console.WriteLine($"Service logs: {paths.ServiceLog("<service>")}");
        return ExitCodes.Ok;
    }

    private static string Size(long bytes) => bytes switch
    {
        < 1024 => $"{bytes} B",
        < 1024 * 1024 => $"{bytes / 1024.0:0.#} KB",
        _ => $"{bytes / (1024.0 * 1024):0.#} MB",
    };
}
