using System.CommandLine;

namespace LocalPort.Cli.Common;

/// <summary>Parse errors: each one printed, an unknown word with the closest valid command or option, then exit 2.</summary>
public static class UsageErrors
{
    public static int Print(ParseResult parse)
    {
        var command = parse.CommandResult.Command;
        var valid = command.Subcommands.Where(c => !c.Hidden).SelectMany(c => c.Aliases.Prepend(c.Name))
            .Concat(command.Options.Concat(GlobalOptions.All).Where(o => !o.Hidden).SelectMany(o => o.Aliases.Prepend(o.Name)))
            .ToList();
        var unmatched = parse.UnmatchedTokens.ToHashSet(StringComparer.Ordinal);
        foreach (var error in parse.Errors)
        {
            var token = unmatched.FirstOrDefault(t => error.Message.Contains($"'{t}'", StringComparison.Ordinal));
            Console.Error.WriteLine(token is null ? $"error: {error.Message}" : $"error: {error.Message.TrimEnd('.')}{Hints.DidYouMean(token, valid)}");
        }
        Console.Error.WriteLine($"See `{Path(command)} --help`.");
        return ExitCodes.UsageOrConfig;
    }

    private static string Path(Command command)
    {
        var names = new List<string>();
        for (var c = command; c is not null and not RootCommand; c = c.Parents.OfType<Command>().FirstOrDefault()) names.Insert(0, c.Name);
        return string.Join(' ', names.Prepend("localport"));
    }
}
