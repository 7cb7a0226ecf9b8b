using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace LocalPort.Actors.Shutdown;

/// <summary>What one phase did: how long it took, what it cleaned up, and what was still pending if it timed out.</summary>
/// <param name="InFlight">complete-current only: relayed exchanges that were in flight when it began (0: it had nothing to wait for).</param>
public sealed record PhaseReport(
    string Phase,
    TimeSpan Duration,
    bool TimedOut,
    IReadOnlyList<string> Cleaned,
    IReadOnlyList<string> Pending,
    string? Note = null,
    int? InFlight = null);

/// <summary>The whole shutdown, checked against the resource ledger: <see cref="Leftovers"/> must be empty.</summary>
public sealed record ShutdownReport(
    string Reason,
    DateTimeOffset StartedAt,
    IReadOnlyList<PhaseReport> Phases,
    IReadOnlyList<string> Leftovers,
    TimeSpan Total)
{
    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Converters = { new MillisecondsConverter() },
        TypeInfoResolver = ShutdownJson.Default,
    };

    public bool Clean => Leftovers.Count == 0;

    public string ToJson() => JsonSerializer.Serialize(this, (JsonTypeInfo<ShutdownReport>)Json.GetTypeInfo(typeof(ShutdownReport)));

    /// <summary>Durations as milliseconds, the unit people compare shutdown times in.</summary>
    private sealed class MillisecondsConverter : JsonConverter<TimeSpan>
    {
        public override TimeSpan Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            TimeSpan.FromMilliseconds(reader.GetDouble());

        public override void Write(Utf8JsonWriter writer, TimeSpan value, JsonSerializerOptions options) =>
            writer.WriteNumberValue(Math.Round(value.TotalMilliseconds, 1));
    }
}

/// <summary>Published on the EventStream as the shutdown progresses (the CLI shows these).</summary>
public sealed record ShutdownPhaseStarted(string Phase);
public sealed record ShutdownPhaseCompleted(PhaseReport Report);
public sealed record ShutdownCompleted(ShutdownReport Report);

/// <summary>The report's JSON metadata, generated at build time (the shipped CLI runs without reflection-based JSON).</summary>
[JsonSerializable(typeof(ShutdownReport))]
internal sealed partial class ShutdownJson : JsonSerializerContext;
