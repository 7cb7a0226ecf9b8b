using System.CommandLine;
using Serilog.Events;

namespace LocalPort.Cli.Common;

/// <summary>Log level names as users write them (upstream's DEBUG, INFO, WARNING, ERROR, in any case), and their order.</summary>
public static class LogLevels
{
    public static readonly IReadOnlyDictionary<string, LogEventLevel> Names = new Dictionary<string, LogEventLevel>
    {
        ["debug"] = LogEventLevel.Debug,
        ["info"] = LogEventLevel.Information,
        ["warning"] = LogEventLevel.Warning,
        ["error"] = LogEventLevel.Error,
    };

    /// <summary>Other spellings read as the same levels (Serilog's own names and abbreviations, Python's CRITICAL).</summary>
    private static readonly IReadOnlyDictionary<string, LogEventLevel> Synonyms = new Dictionary<string, LogEventLevel>(StringComparer.OrdinalIgnoreCase)
    {
        ["trace"] = LogEventLevel.Verbose, ["verbose"] = LogEventLevel.Verbose, ["vrb"] = LogEventLevel.Verbose,
        ["dbg"] = LogEventLevel.Debug, ["information"] = LogEventLevel.Information, ["inf"] = LogEventLevel.Information,
        ["warn"] = LogEventLevel.Warning, ["wrn"] = LogEventLevel.Warning, ["err"] = LogEventLevel.Error,
        ["critical"] = LogEventLevel.Fatal, ["fatal"] = LogEventLevel.Fatal, ["ftl"] = LogEventLevel.Fatal,
    };

    public static bool TryParse(string text, out LogEventLevel level) =>
        Choices.Lookup(text, Names, out level) || Synonyms.TryGetValue(text.Trim(), out level);

    /// <summary>`--log-level LEVEL`: the four names are shown and completed; the synonyms are read too.</summary>
    public static Option<LogEventLevel?> Option(string description)
    {
        var option = new Option<LogEventLevel?>("--log-level")
        {
            Description = description,
            HelpName = string.Join('|', Names.Keys),
            Recursive = true,
            CustomParser = result =>
            {
                var text = result.Tokens.Count == 0 ? "" : result.Tokens[^1].Value;
                if (TryParse(text, out var level)) return level;
                result.AddError(Choices.Refusal("--log-level", text, Names.Keys));
                return null;
            },
        };
        option.CompletionSources.Clear();
        option.CompletionSources.Add(Names.Keys.ToArray());
        return option;
    }

    /// <summary>$LOCALPORT_LOG_LEVEL, or null when unset or unreadable (Program refuses an unreadable one before any command runs).</summary>
    public static LogEventLevel? FromEnvironment() =>
        Environment.GetEnvironmentVariable(GlobalOptions.LogLevelVariable) is { Length: > 0 } text && TryParse(text, out var level) ? level : null;

    /// <summary>An error line for a $LOCALPORT_LOG_LEVEL that names no level, else null.</summary>
    public static string? CheckEnvironment() =>
        Environment.GetEnvironmentVariable(GlobalOptions.LogLevelVariable) is { Length: > 0 } text && !TryParse(text, out _)
            ? $"error: ${GlobalOptions.LogLevelVariable}: {Choices.Refusal("the log level", text, Names.Keys)}"
            : null;

    /// <summary>The name to pass on to another process (the detached daemon).</summary>
    public static string Name(LogEventLevel level) => level switch
    {
        LogEventLevel.Verbose => "trace",
        LogEventLevel.Debug => "debug",
        LogEventLevel.Information => "info",
        LogEventLevel.Warning => "warning",
        LogEventLevel.Error => "error",
        _ => "critical",
    };
}
