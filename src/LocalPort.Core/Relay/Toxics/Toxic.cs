using System.Globalization;

namespace LocalPort.Core.Relay.Toxics;

/// <summary>The faults the relay can inject, with Toxiproxy's names and meanings.</summary>
public enum ToxicType { Latency, Bandwidth, Timeout, ResetPeer, SlowClose, Slicer, LimitData, Down }

/// <summary>Upstream: client → service (what the user sends). Downstream: service → client (the answers).</summary>
public enum ToxicStream { Upstream, Downstream }

/// <summary>
/// One fault on a relay, decided per connection with probability <see cref="Toxicity"/>. Only the
/// attributes of its <see cref="Type"/> are meaningful; the rest stay at their defaults, so two toxics
/// written the same way compare equal (a reload that did not change <c>chaos:</c> changes nothing).
/// </summary>
public sealed record Toxic
{
    public required string Name { get; init; }
    public required ToxicType Type { get; init; }
    public ToxicStream Stream { get; init; } = ToxicStream.Downstream;
    /// <summary>Probability (0–1) that a connection is affected; decided once per connection.</summary>
    public double Toxicity { get; init; } = 1.0;

    /// <summary>latency: added to every chunk's delivery.</summary>
    public TimeSpan Latency { get; init; }
    /// <summary>latency: each chunk gets a uniformly random extra in [−jitter, +jitter].</summary>
    public TimeSpan Jitter { get; init; }
    /// <summary>bandwidth: kilobytes (1000 bytes, as in Toxiproxy) per second.</summary>
    public long RateKilobytes { get; init; }
    /// <summary>timeout: close after this long (zero: never, data is dropped until removed); reset_peer: reset after this long.</summary>
    public TimeSpan Timeout { get; init; }
    /// <summary>slow_close: how long the close is held back; slicer: pause between slices.</summary>
    public TimeSpan Delay { get; init; }
    /// <summary>limit_data: bytes let through (in this direction) before the connection is closed.</summary>
    public long Bytes { get; init; }
    /// <summary>slicer: average slice size in bytes.</summary>
    public int AverageSize { get; init; }
    /// <summary>slicer: slices vary by up to this many bytes either way.</summary>
    public int SizeVariation { get; init; }

    /// <summary>True for the toxics that act on the bytes of one direction (the rest act on whole connections).</summary>
    public bool ShapesData => Type is ToxicType.Latency or ToxicType.Bandwidth or ToxicType.Timeout
        or ToxicType.SlowClose or ToxicType.Slicer or ToxicType.LimitData;

    /// <summary>True for the toxics that cut or close whole connections on a clock.</summary>
    public bool ActsOnConnection => Type is ToxicType.Down or ToxicType.ResetPeer
        || (Type == ToxicType.Timeout && Timeout > TimeSpan.Zero);

    /// <summary>One line, as `chaos list` shows it: <c>latency_downstream: latency downstream 200ms ±20ms</c>.</summary>
    public override string ToString()
    {
        var stream = Type == ToxicType.Down ? "" : " " + ToxicNames.Of(Stream);
        var attributes = string.Join(' ', ToxicAttributes.Describe(this).Select(a => $"{a.Key}={a.Value}"));
        var toxicity = Toxicity >= 1 ? "" : $" toxicity={Toxicity.ToString("0.###", CultureInfo.InvariantCulture)}";
        return $"{Name}: {ToxicNames.Of(Type)}{stream}{(attributes.Length == 0 ? "" : " " + attributes)}{toxicity}";
    }
}

/// <summary>The words users write for types and streams (YAML, CLI, JSON).</summary>
public static class ToxicNames
{
    private static readonly Dictionary<string, ToxicType> Types = new(StringComparer.OrdinalIgnoreCase)
    {
        ["latency"] = ToxicType.Latency,
        ["bandwidth"] = ToxicType.Bandwidth,
        ["timeout"] = ToxicType.Timeout,
        ["reset_peer"] = ToxicType.ResetPeer,
        ["slow_close"] = ToxicType.SlowClose,
        ["slicer"] = ToxicType.Slicer,
        ["limit_data"] = ToxicType.LimitData,
        ["down"] = ToxicType.Down,
    };

    public static string TypeChoices { get; } = string.Join(", ", Types.Keys);

    public static bool TryParseType(string text, out ToxicType type) =>
        Types.TryGetValue(text.Trim().Replace('-', '_'), out type);

    public static bool TryParseStream(string text, out ToxicStream stream)
    {
        switch (text.Trim().ToLowerInvariant())
        {
            case "upstream" or "up":
                stream = ToxicStream.Upstream;
                return true;
            case "downstream" or "down":
                stream = ToxicStream.Downstream;
                return true;
            default:
                stream = default;
                return false;
        }
    }

    public static string Of(ToxicType type) => Types.First(pair => pair.Value == type).Key;

    public static string Of(ToxicStream stream) => stream == ToxicStream.Upstream ? "upstream" : "downstream";

    /// <summary>Toxiproxy's default name: the type and the stream, <c>latency_downstream</c>.</summary>
    public static string DefaultName(ToxicType type, ToxicStream stream) =>
        type == ToxicType.Down ? "down" : $"{Of(type)}_{Of(stream)}";
}
