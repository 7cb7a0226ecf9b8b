using System.CommandLine;
using System.CommandLine.Parsing;
using LocalPort.Core.Config;

namespace LocalPort.Cli.Common;

/// <summary>
/// Service-name arguments: completed from the active configuration (the file `--config` or the search order picks),
/// and never taking an option-like word (`-a`, `-i`) for a name: that is an unknown option, refused with a hint.
/// </summary>
public static class ServiceNames
{
    public static Argument<string[]> Argument(string description, Func<ServiceSpec, bool>? filter = null, params string[] extra)
    {
        var argument = new Argument<string[]>("services") { Description = description, Arity = ArgumentArity.ZeroOrMore, HelpName = "service" };
        Complete(argument.CompletionSources, filter, extra);
        RefuseOptionLike(argument);
        return argument;
    }

    public static void Complete(List<Func<System.CommandLine.Completions.CompletionContext, IEnumerable<System.CommandLine.Completions.CompletionItem>>> sources,
        Func<ServiceSpec, bool>? filter = null, params string[] extra) =>
        sources.Add(context => Configured(context.ParseResult, filter).Concat(extra)
            .Where(n => n.StartsWith(context.WordToComplete, StringComparison.Ordinal))
            .Select(n => new System.CommandLine.Completions.CompletionItem(n)));

    /// <summary>Names in the active configuration (empty when there is none or it does not load).</summary>
    public static IReadOnlyList<string> Configured(ParseResult parse, Func<ServiceSpec, bool>? filter = null)
    {
        try
        {
            return ConfigResolver.FindPath(parse) is { } path && ConfigLoader.Load(path).Config is { } config
                ? config.Services.Where(filter ?? (_ => true)).Select(s => s.Name).ToList()
                : [];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }

    /// <summary>A word starting with '-' among the names is an option this command does not have.</summary>
    public static void RefuseOptionLike(Argument argument) => argument.Validators.Add(result =>
    {
        foreach (var token in result.Tokens.Where(t => t.Value.StartsWith('-')))
            result.AddError($"unknown option '{token.Value}'{Hints.DidYouMean(token.Value, OptionNames(result))}");
    });

    public static IEnumerable<string> OptionNames(SymbolResult result)
    {
        var command = (result.Parent as CommandResult)?.Command;
        var options = (command?.Options ?? []).Concat(GlobalOptions.All);
        return options.Where(o => !o.Hidden).SelectMany(o => o.Aliases.Prepend(o.Name));
    }
}
