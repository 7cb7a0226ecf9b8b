using System.CommandLine;
using System.Text.RegularExpressions;
using LocalPort.Cli.Common;
using LocalPort.Cli.Daemon;
using LocalPort.Core;
using LocalPort.Core.Config;
using Serilog.Events;

namespace LocalPort.Cli.Commands;

/// <summary>
/// `localport logs [SVC…] [-s SVC] [-f] [-n N] [-g RE] [-l LEVEL] [--since T] [--until T] [--path] [--list] [--location]`:
/// reads the log files directly. No name (or `localport`) is the daemon log; a service's log is its child's output.
/// </summary>
public static class LogsCommand
{
    public const string DaemonLogName = "localport";

    private static readonly Argument<string[]> Names = ServiceNames.Argument("Service names (none, or `localport`: the daemon log)", extra: DaemonLogName);
    private static readonly Option<string[]> Service = new("--service", "-s") { Description = "A service whose log to show (repeatable; same as naming it)" };
    private static readonly Option<bool> Follow = new("--follow", "-f") { Description = "Keep printing new lines until Ctrl-C" };
    private static readonly Option<int> Lines = new("--lines", "-n") { Description = "How many lines from the end (0: all)", DefaultValueFactory = _ => 50 };
    private static readonly Option<string?> Grep = new("--grep", "-g") { Description = "Only lines matching this regular expression (case-insensitive)" };
    private static readonly Option<LogEventLevel?> Level = Choices.Option<LogEventLevel?>("--level", "Only daemon log lines at this level or above",
        LogLevels.Names.ToDictionary(n => n.Key, n => (LogEventLevel?)n.Value), "-l");
    private static readonly Option<string?> Since = new("--since") { Description = "Only lines from this time on: 1h, 30m (ago) or 2025-01-02 10:00" };
    private static readonly Option<string?> Until = new("--until") { Description = "Only lines up to this time (same forms as --since)" };
    private static readonly Option<bool> PathOnly = new("--path") { Description = "Print the log file's path and exit" };
    private static readonly Option<bool> List = new("--list") { Description = "List the logs there are (daemon and services) and exit" };
    private static readonly Option<bool> Location = new("--location") { Description = "Print where logs are kept and exit" };

    public static Command Create()
    {
        var command = new Command("logs", "Show the daemon log, or a service's log: the child's output, with a header per start");
        ServiceNames.Complete(Service.CompletionSources);
        command.Arguments.Add(Names);
        foreach (var option in new Option[] { Service, Follow, Lines, Grep, Level, Since, Until, PathOnly, List, Location }) command.Options.Add(option);
        command.SetAction((parse, token) => RunAsync(parse, token));
        return command;
    }

    private static async Task<int> RunAsync(ParseResult parse, CancellationToken token)
    {
        var paths = LocalPortPaths.FromEnvironment();
        if (parse.GetValue(Location)) return LogCatalog.PrintLocation(paths, parse.GetValue(GlobalOptions.Output));
        var catalog = await LogCatalog.ReadAsync(parse, paths);
        if (parse.GetValue(List)) return catalog.Print(parse.GetValue(GlobalOptions.Output));

        var names = (parse.GetValue(Names) ?? []).Concat(parse.GetValue(Service) ?? []).Distinct().ToList();
        if (names.Count == 0) names.Add(DaemonLogName);
        var filter = Filter(parse, names);
        if (filter is null) return ExitCodes.UsageOrConfig;
        if (parse.GetValue(Follow) && names.Count > 1)
        {
            Console.Error.WriteLine("error: --follow takes one log at a time");
            return ExitCodes.UsageOrConfig;
        }
        var files = new List<(string Name, string File)>();
        foreach (var name in names)
        {
            var file = name == DaemonLogName ? paths.DaemonLog : paths.ServiceLog(name);
            if (File.Exists(file) || parse.GetValue(PathOnly) && catalog.Knows(name))
            {
                files.Add((name, file));
                continue;
            }
            var (code, message) = catalog.Missing(name, file);
            Console.Error.WriteLine(message);
            return code;
        }
        if (parse.GetValue(PathOnly))
        {
            foreach (var (_, file) in files) Console.WriteLine(file);
            return ExitCodes.Ok;
        }
        foreach (var (name, file) in files)
        {
            if (files.Count > 1) Console.WriteLine($"==> {name} <==");
            await Print(file, parse.GetValue(Lines), filter(), parse.GetValue(Follow), token);
        }
        return ExitCodes.Ok;
    }

    /// <summary>A fresh filter per file (each keeps the time and level of its last dated line), or null after a usage error.</summary>
    private static Func<LogFilter>? Filter(ParseResult parse, IReadOnlyList<string> names)
    {
        Regex? grep;
        try
        {
            grep = parse.GetValue(Grep) is { } pattern
                ? new Regex(pattern, RegexOptions.Compiled | RegexOptions.IgnoreCase, TimeSpan.FromSeconds(1))
                : null;
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine($"error: --grep: {e.Message}");
            return null;
        }
        var level = parse.GetValue(Level);
        if (level is not null && names.Any(n => n != DaemonLogName))
        {
            Console.Error.WriteLine("error: --level applies to the daemon log: a service log is its child's raw output, which has no levels; use --grep");
            return null;
        }
        var now = DateTimeOffset.Now;
        DateTimeOffset? Time(Option<string?> option, out bool ok)
        {
            ok = true;
            if (parse.GetValue(option) is not { } text) return null;
            if (LogFilter.TryParseTime(text, now, out var time)) return time;
            Console.Error.WriteLine($"error: {option.Name}: '{text}' is not a time; use e.g. 1h, 30m, 90s (ago) or 2025-01-02 10:00");
            ok = false;
            return null;
        }
        var since = Time(Since, out var sinceOk);
        var until = Time(Until, out var untilOk);
        if (!sinceOk || !untilOk) return null;
        return () => new LogFilter(grep, level, since, until);
    }

    private static async Task Print(string file, int tail, LogFilter filter, bool follow, CancellationToken token)
    {
        using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(stream);
        var last = new Queue<string>();
        while (await reader.ReadLineAsync(token) is { } line)
        {
            if (!filter.Accept(line)) continue;
            last.Enqueue(line);
            if (tail > 0 && last.Count > tail) last.Dequeue();
        }
        foreach (var line in last) Console.WriteLine(line);
        if (!follow) return;
        try
        {
            while (!token.IsCancellationRequested)
            {
                var line = await reader.ReadLineAsync(token);
                if (line is null)
                {
                    await Task.Delay(200, token);
                    continue;
                }
                if (filter.Accept(line)) Console.WriteLine(line);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}
