using System.CommandLine;
using Serilog.Events;
using Spectre.Console;

namespace LocalPort.Cli.Common;

public enum OutputFormat { Table, Json, Text }

/// <summary>
/// Options every command accepts: `localport [-c FILE] [--trust-config] [-o table|json|text] [-v|-vv|-q] [--debug] [--log-level L] [--no-color]`,
/// and the environment variables that stand in for them.
/// </summary>
public static class GlobalOptions
{
    public const string ConfigFileVariable = "LOCALPORT_CONFIG_FILE";
    public const string LogLevelVariable = "LOCALPORT_LOG_LEVEL";
    public const string NoColorVariable = "LOCALPORT_NO_COLOR";

    public static readonly Option<string?> Config = new("--config", "-c")
    {
        Description = "Configuration file (otherwise: $LOCALPORT_CONFIG, $LOCALPORT_CONFIG_FILE, ./localport.yaml, … see `localport config paths`)",
        Recursive = true,
    };

    public static readonly Option<bool> TrustConfig = new("--trust-config")
    {
        Description = "Read a config file that another user owns or that group or others can write (refused otherwise)",
        Recursive = true,
    };

    public static readonly IReadOnlyDictionary<string, OutputFormat> Formats = new Dictionary<string, OutputFormat>
    {
        ["table"] = OutputFormat.Table, ["json"] = OutputFormat.Json, ["text"] = OutputFormat.Text,
    };

    public static readonly Option<OutputFormat> Output = Recursive(Choices.Option("--output", "Output format (default table)", Formats, "-o"));

    public static readonly Option<bool> Verbose = new("--verbose", "-v") { Description = "More log output (info)", Recursive = true };
    public static readonly Option<bool> Trace = new("--trace", "-vv") { Description = "Debug log output (same as --debug)", Recursive = true };
    public static readonly Option<bool> Debug = new("--debug") { Description = "Debug log output, on the console and in the daemon log", Recursive = true };

    public static readonly Option<LogEventLevel?> LogLevel = LogLevels.Option(
        $"Log level of the console and the daemon log (default: ${LogLevelVariable}, else warning on the console, info in the daemon log)");

    public static readonly Option<bool> Quiet = new("--quiet", "-q") { Description = "Only errors", Recursive = true };
    public static readonly Option<bool> NoColor = new("--no-color") { Description = "Plain output without colours (also $NO_COLOR, $LOCALPORT_NO_COLOR)", Recursive = true };

    public static IEnumerable<Option> All => [Config, TrustConfig, Output, Verbose, Trace, Debug, LogLevel, Quiet, NoColor];

    private static Option<T> Recursive<T>(Option<T> option)
    {
        option.Recursive = true;
        return option;
    }

    /// <summary>The level asked for by flag or environment, or null when nobody asked (each sink keeps its own default).</summary>
    public static LogEventLevel? RequestedLevel(ParseResult parse)
    {
        if (parse.GetValue(LogLevel) is { } level) return level;
        if (parse.GetValue(Debug) || parse.GetValue(Trace)) return LogEventLevel.Debug;
        return LogLevels.FromEnvironment();
    }

    /// <summary>The console's level: -v and -q count here, then the requested level, then warning.</summary>
    public static LogEventLevel ConsoleLevel(ParseResult parse)
    {
        if (parse.GetValue(LogLevel) is { } level) return level;
        if (parse.GetValue(Debug) || parse.GetValue(Trace)) return LogEventLevel.Debug;
        if (parse.GetValue(Verbose)) return LogEventLevel.Information;
        if (parse.GetValue(Quiet)) return LogEventLevel.Error;
        return LogLevels.FromEnvironment() ?? LogEventLevel.Warning;
    }

    /// <summary>--no-color, $NO_COLOR (any value, no-color.org) or a true $LOCALPORT_NO_COLOR (1, true, yes).</summary>
    public static bool NoColorRequested(ParseResult parse) =>
        parse.GetValue(NoColor)
        || !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("NO_COLOR"))
        || Environment.GetEnvironmentVariable(NoColorVariable)?.Trim().ToLowerInvariant() is "1" or "true" or "yes" or "on";

    /// <summary>
    /// Spectre's default console without colours. Its own method, so Spectre.Console (two descriptors for good) loads only
    /// when asked for, not in every `run` and daemon.
    /// </summary>
    public static void UseColourlessConsole(ParseResult parse) => AnsiConsole.Console = CreateConsole(parse);

    /// <summary>The terminal with colours unless the user asked for none.</summary>
    public static IAnsiConsole CreateConsole(ParseResult parse) => AnsiConsole.Create(new AnsiConsoleSettings
    {
        ColorSystem = NoColorRequested(parse) ? ColorSystemSupport.NoColors : ColorSystemSupport.Detect,
    });
}
