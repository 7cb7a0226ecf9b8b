using System.Text.Json;
using System.Text.Json.Serialization;
using LocalPort.Control;

namespace LocalPort.Cli.Common;

// The shapes of `-o json` output that are the CLI's own (the API's are in LocalPort.Control). Named records, not
// anonymous objects: the shipped CLI is compiled ahead of time, so its JSON metadata is generated at build time.

public sealed record DiagnosticView(string File, int Line, int Column, string Message);

public sealed record ValidateView(string Path, bool Ok, int Services, IReadOnlyList<DiagnosticView> Errors, IReadOnlyList<DiagnosticView> Warnings);

public sealed record SearchView(string Path, string Source, bool Exists);

public sealed record PathsView(string? Config, IReadOnlyList<SearchView> Search, string StateDir, string RuntimeDir, string LogDir);

public sealed record ServiceRow(string Name, string Technology, int LocalPort, int RemotePort, string Target, bool Enabled,
    IReadOnlyList<string> Tags, string? Description);

public sealed record ServiceListView(string? Config, IReadOnlyList<ServiceRow> Services);

public sealed record DaemonDownView(bool Running, string Socket);

public sealed record NothingRunningView(bool Running, IReadOnlyList<ServiceView> Services);

public sealed record SshTestView(string Target, string Host, int Port, string? User, bool Ok, string Summary, string? Detail);

public sealed record SshValidateView(string Service, bool Ok, IReadOnlyList<string> Problems);

public sealed record LogEntryView(string Name, string Kind, string? Technology, string Path, bool Exists, long? Size, DateTime? Modified);

public sealed record LogLocationView(string LogDirectory, string DaemonLog, string ServiceLogs);

public sealed record ScenarioSummaryView(string Scenario, bool Passed, string Summary);

public sealed record ScenarioStepView(int Line, string Step, string Outcome, double StartedAt, double Duration, string? Detail);

public static class CliJson
{
    private static readonly JsonSerializerOptions Options = ApiJson.Including(CliShapes.Default);

    /// <summary>One line of `-o json` output, with the API's settings (snake_case names, readable escapes).</summary>
    public static string Serialize<T>(T value) => JsonSerializer.Serialize(value, ApiJson.Info<T>(Options));
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(ValidateView))]
[JsonSerializable(typeof(PathsView))]
[JsonSerializable(typeof(ServiceListView))]
[JsonSerializable(typeof(DaemonDownView))]
[JsonSerializable(typeof(NothingRunningView))]
[JsonSerializable(typeof(SshTestView))]
[JsonSerializable(typeof(List<SshValidateView>))]
[JsonSerializable(typeof(IReadOnlyList<LogEntryView>))]
[JsonSerializable(typeof(LogLocationView))]
[JsonSerializable(typeof(ScenarioSummaryView))]
[JsonSerializable(typeof(ScenarioStepView))]
internal sealed partial class CliShapes : JsonSerializerContext;
