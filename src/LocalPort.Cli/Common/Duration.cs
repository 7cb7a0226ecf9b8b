using System.CommandLine;
using System.CommandLine.Parsing;
using LocalPort.Core.Config;

namespace LocalPort.Cli.Common;

/// <summary>A duration on the command line, shown as users write it: help says `[default: 30s]`, not 00:00:30.</summary>
public readonly record struct Duration(TimeSpan Value)
{
    public override string ToString() => Durations.Format(Value);

    /// <summary>An option read like a config duration: a bare number is seconds, else 500ms, 10s, 1m, 1h.</summary>
    public static Option<Duration> Option(string name, string description, TimeSpan defaultValue, params string[] aliases) => new(name, aliases)
    {
        Description = description,
        HelpName = "duration",
        DefaultValueFactory = _ => new Duration(defaultValue),
        CustomParser = result => Parse(result) ?? default,
    };

    /// <summary>The same, without a default (null when not given).</summary>
    public static Option<Duration?> OptionalOption(string name, string description, params string[] aliases) => new(name, aliases)
    {
        Description = description,
        HelpName = "duration",
        CustomParser = Parse,
    };

    private static Duration? Parse(ArgumentResult result)
    {
        var text = result.Tokens.Count == 0 ? "" : result.Tokens[^1].Value;
        if (Durations.TryParse(text, out var value) && value > TimeSpan.Zero) return new Duration(value);
        result.AddError($"'{text}' is not a duration; use e.g. 500ms, 10s, 1m (a bare number is seconds)");
        return null;
    }
}
