using System.CommandLine;
using LocalPort.Core.Config;

namespace LocalPort.Cli.Common;

/// <summary>Finds and loads the configuration the same way for every command, printing every problem at once.</summary>
public static class ConfigResolver
{
    public static string Home => Environment.GetEnvironmentVariable("HOME") ?? Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);

    public static string? FindPath(ParseResult parse) =>
        ConfigLocator.Find(parse.GetValue(GlobalOptions.Config), Environment.GetEnvironmentVariable,
            Directory.GetCurrentDirectory(), Home);

    /// <summary>How every command reads the file, reloads included: <c>--trust-config</c> lifts the owner and mode check.</summary>
    public static LoadOptions LoadOptions(ParseResult parse) => new() { TrustFile = parse.GetValue(GlobalOptions.TrustConfig) };

    /// <summary>Loads and reports; returns null (after printing why) when the caller must exit 2.</summary>
    public static LocalPortConfig? Load(ParseResult parse, TextWriter error, bool strict = false)
    {
        var path = FindPath(parse);
        if (path is null)
        {
            error.WriteLine("error: no configuration file found. Searched, in order:");
            foreach (var candidate in ConfigLocator.Candidates(parse.GetValue(GlobalOptions.Config), Environment.GetEnvironmentVariable,
                         Directory.GetCurrentDirectory(), Home))
                error.WriteLine($"  {candidate.Path}  ({candidate.Origin})");
            error.WriteLine("Create one with `localport config init`, or pass --config FILE.");
            return null;
        }
        var result = ConfigLoader.Load(path, LoadOptions(parse) with { Strict = strict });
        Print(result, error, quiet: parse.GetValue(GlobalOptions.Quiet));
        return result.Ok ? result.Config : null;
    }

    public static void Print(ConfigLoadResult result, TextWriter error, bool quiet)
    {
        foreach (var diagnostic in result.Diagnostics)
        {
            if (quiet && diagnostic.Severity == Severity.Warning) continue;
            error.WriteLine(diagnostic.ToString());
        }
        var errors = result.Errors.Count();
        if (errors > 0) error.WriteLine($"{errors} error(s): nothing was started. Fix the lines above and try again.");
    }
}
