using System.CommandLine;

namespace LocalPort.Cli.Common;

public enum OutputFormat { Table, Json, Text }

/// <summary>Options every command accepts: `localport [-c FILE] [--trust-config] [-o table|json|text] [-v|-vv|-q] [--no-color]`.</summary>
public static class GlobalOptions
{
    public static readonly Option<string?> Config = new("--config", "-c")
    {
        Description = "Configuration file (otherwise: $LOCALPORT_CONFIG, ./localport.yaml, … see `localport config paths`)",
        Recursive = true,
    };

    public static readonly Option<bool> TrustConfig = new("--trust-config")
    {
        Description = "Read a config file that another user owns or that group or others can write (refused otherwise)",
        Recursive = true,
    };

    public static readonly Option<OutputFormat> Output = new("--output", "-o")
    {
        Description = "Output format: table, json or text",
        DefaultValueFactory = _ => OutputFormat.Table,
        Recursive = true,
    };

    public static readonly Option<bool> Verbose = new("--verbose", "-v") { Description = "More log output", Recursive = true };
    public static readonly Option<bool> Trace = new("--trace", "-vv") { Description = "Debug log output", Recursive = true };
    public static readonly Option<bool> Quiet = new("--quiet", "-q") { Description = "Only errors", Recursive = true };
    public static readonly Option<bool> NoColor = new("--no-color") { Description = "Plain output without colours", Recursive = true };

    public static IEnumerable<Option> All => [Config, TrustConfig, Output, Verbose, Trace, Quiet, NoColor];
}
