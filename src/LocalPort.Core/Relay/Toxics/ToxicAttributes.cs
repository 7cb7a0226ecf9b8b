using System.Globalization;
using System.Text.RegularExpressions;
using LocalPort.Core.Config;

namespace LocalPort.Core.Relay.Toxics;

/// <summary>A problem with a toxic as written; <see cref="Key"/> names the offending field (null: the toxic as a whole).</summary>
public sealed record ToxicProblem(string? Key, string Message, bool IsWarning = false);

/// <summary>
/// Builds toxics from text (YAML values, CLI options, JSON attributes) with one set of rules, so the file,
/// the CLI and the API agree. Durations with a unit (<c>200ms</c>, <c>1.5s</c>) or, as in Toxiproxy, a
/// bare number of milliseconds.
/// </summary>
public static partial class ToxicAttributes
{
    public const string LatencyKey = "latency", JitterKey = "jitter", RateKey = "rate", TimeoutKey = "timeout",
        DelayKey = "delay", BytesKey = "bytes", AverageSizeKey = "average_size", SizeVariationKey = "size_variation";

    private static readonly Dictionary<ToxicType, string[]> ByType = new()
    {
        [ToxicType.Latency] = [LatencyKey, JitterKey],
        [ToxicType.Bandwidth] = [RateKey],
        [ToxicType.Timeout] = [TimeoutKey],
        [ToxicType.ResetPeer] = [TimeoutKey],
        [ToxicType.SlowClose] = [DelayKey],
        [ToxicType.Slicer] = [AverageSizeKey, SizeVariationKey, DelayKey],
        [ToxicType.LimitData] = [BytesKey],
        [ToxicType.Down] = [],
    };

    private static readonly Dictionary<ToxicType, string> RequiredByType = new()
    {
        [ToxicType.Latency] = LatencyKey,
        [ToxicType.Bandwidth] = RateKey,
        [ToxicType.Slicer] = AverageSizeKey,
        [ToxicType.LimitData] = BytesKey,
    };

    /// <summary>Every attribute name of every type.</summary>
    public static IReadOnlyList<string> All { get; } = ByType.Values.SelectMany(k => k).Distinct().ToList();

    public static IReadOnlyList<string> Of(ToxicType type) => ByType[type];

    /// <summary>Builds a toxic; null when any problem is an error (warnings come back either way).</summary>
    public static (Toxic? Toxic, IReadOnlyList<ToxicProblem> Problems) Build(
        string? name, string type, string? stream, string? toxicity, IEnumerable<KeyValuePair<string, string>> attributes)
    {
        var problems = new List<ToxicProblem>();
        if (!ToxicNames.TryParseType(type, out var toxicType))
        {
            problems.Add(new("type", $"'{type.Trim()}' is not a toxic type; use one of {ToxicNames.TypeChoices}"));
            return (null, problems);
        }
        var toxicStream = ToxicStream.Downstream;
        if (stream is not null && !ToxicNames.TryParseStream(stream, out toxicStream))
            problems.Add(new("stream", $"'{stream.Trim()}' is not a stream; use upstream (client to service) or downstream (service to client)"));
        var probability = 1.0;
        if (toxicity is not null && (!double.TryParse(toxicity.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out probability)
                                     || probability is < 0 or > 1 || double.IsNaN(probability)))
            problems.Add(new("toxicity", $"'{toxicity.Trim()}' is not a probability; use a number from 0 (never) to 1 (every connection)"));
        var toxicName = string.IsNullOrWhiteSpace(name) ? ToxicNames.DefaultName(toxicType, toxicStream) : name.Trim();
        if (!ValidName().IsMatch(toxicName))
            problems.Add(new("name", $"'{toxicName}' is not a valid toxic name; use letters, digits, '.', '_' and '-' only"));

        var toxic = new Toxic { Name = toxicName, Type = toxicType, Stream = toxicStream, Toxicity = probability };
        var given = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (key, text) in attributes)
        {
            given.Add(key);
            if (!ByType[toxicType].Contains(key))
            {
                var why = All.Contains(key) ? $"{ToxicNames.Of(toxicType)} toxics do not use it" : "not a toxic attribute";
                problems.Add(new(key, $"'{key}' is ignored ({why}); {Uses(toxicType)}", IsWarning: true));
                continue;
            }
            toxic = Apply(toxic, key, text.Trim(), problems);
        }
        if (RequiredByType.TryGetValue(toxicType, out var required) && !given.Contains(required))
            problems.Add(new(null, $"a {ToxicNames.Of(toxicType)} toxic needs '{required}' ({Example(required)})"));
        if (toxicType == ToxicType.Slicer && toxic.AverageSize > 0 && toxic.SizeVariation >= toxic.AverageSize)
            problems.Add(new(SizeVariationKey, $"size_variation {toxic.SizeVariation} must be smaller than average_size {toxic.AverageSize}"));
        return (problems.Any(p => !p.IsWarning) ? null : toxic, problems);
    }

    private static Toxic Apply(Toxic toxic, string key, string text, List<ToxicProblem> problems)
    {
        switch (key)
        {
            case LatencyKey: return Duration(text, key, problems) is { } latency ? toxic with { Latency = latency } : toxic;
            case JitterKey: return Duration(text, key, problems) is { } jitter ? toxic with { Jitter = jitter } : toxic;
            case TimeoutKey: return Duration(text, key, problems) is { } timeout ? toxic with { Timeout = timeout } : toxic;
            case DelayKey: return Duration(text, key, problems) is { } delay ? toxic with { Delay = delay } : toxic;
            case RateKey: return Whole(text, key, 1, long.MaxValue / 1000, "kilobytes per second, e.g. 100", problems) is { } rate ? toxic with { RateKilobytes = rate } : toxic;
            case BytesKey: return Whole(text, key, 0, long.MaxValue, "a number of bytes, e.g. 1024", problems) is { } bytes ? toxic with { Bytes = bytes } : toxic;
            case AverageSizeKey: return Whole(text, key, 1, int.MaxValue, "bytes per slice, e.g. 64", problems) is { } size ? toxic with { AverageSize = (int)size } : toxic;
            case SizeVariationKey: return Whole(text, key, 0, int.MaxValue, "bytes, e.g. 16", problems) is { } variation ? toxic with { SizeVariation = (int)variation } : toxic;
            default: return toxic;
        }
    }

    /// <summary>A duration with a unit, or a bare number of milliseconds (Toxiproxy's unit).</summary>
    public static bool TryParseDuration(string text, out TimeSpan duration)
    {
        var trimmed = text.Trim();
        if (decimal.TryParse(trimmed, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out _))
            trimmed += "ms";
        return Durations.TryParse(trimmed, out duration) && duration <= TimeSpan.FromHours(24);
    }

    private static TimeSpan? Duration(string text, string key, List<ToxicProblem> problems)
    {
        if (TryParseDuration(text, out var duration)) return duration;
        problems.Add(new(key, $"'{text}' is not a duration; use e.g. 200ms, 1.5s or a number of milliseconds (at most 24h)"));
        return null;
    }

    private static long? Whole(string text, string key, long min, long max, string hint, List<ToxicProblem> problems)
    {
        if (long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value) && value >= min && value <= max)
            return value;
        problems.Add(new(key, $"'{text}' is not valid for {key}; use {hint}{(min > 0 ? $" (at least {min})" : "")}"));
        return null;
    }

    private static string Uses(ToxicType type) => ByType[type].Length == 0
        ? $"{ToxicNames.Of(type)} takes no attributes"
        : $"{ToxicNames.Of(type)} uses {string.Join(", ", ByType[type])}";

    private static string Example(string key) => key switch
    {
        LatencyKey => "e.g. latency: 200ms",
        RateKey => "kilobytes per second, e.g. rate: 100",
        AverageSizeKey => "bytes per slice, e.g. average_size: 64",
        BytesKey => "e.g. bytes: 1024",
        _ => key,
    };

    /// <summary>
    /// The attributes that matter for the toxic's type, as text that <see cref="Build"/> reads back; optional
    /// ones left at zero (their default) are left out.
    /// </summary>
    public static IEnumerable<KeyValuePair<string, string>> Describe(Toxic toxic) =>
        Numbers(toxic).Where(pair => pair.Value != 0 || RequiredByType.GetValueOrDefault(toxic.Type) == pair.Key
                                     || (pair.Key is LatencyKey or JitterKey or TimeoutKey or DelayKey && Exact(toxic, pair.Key) != TimeSpan.Zero)).Select(pair => new KeyValuePair<string, string>(pair.Key, pair.Key switch
        {
            LatencyKey => Durations.Format(toxic.Latency),
            JitterKey => Durations.Format(toxic.Jitter),
            TimeoutKey => Durations.Format(toxic.Timeout),
            DelayKey => Durations.Format(toxic.Delay),
            _ => pair.Value.ToString(CultureInfo.InvariantCulture),
        }));

    private static TimeSpan Exact(Toxic toxic, string key) => key switch
    {
        LatencyKey => toxic.Latency,
        JitterKey => toxic.Jitter,
        TimeoutKey => toxic.Timeout,
        _ => toxic.Delay,
    };

    /// <summary>Attributes as Toxiproxy's JSON has them: durations in milliseconds, rate in KB/s, sizes in bytes.</summary>
    public static IEnumerable<KeyValuePair<string, long>> Numbers(Toxic toxic)
    {
        foreach (var key in ByType[toxic.Type])
        {
            yield return new(key, key switch
            {
                LatencyKey => (long)toxic.Latency.TotalMilliseconds,
                JitterKey => (long)toxic.Jitter.TotalMilliseconds,
                TimeoutKey => (long)toxic.Timeout.TotalMilliseconds,
                DelayKey => (long)toxic.Delay.TotalMilliseconds,
                RateKey => toxic.RateKilobytes,
                BytesKey => toxic.Bytes,
                AverageSizeKey => toxic.AverageSize,
                _ => toxic.SizeVariation,
            });
        }
    }

    [GeneratedRegex("^[A-Za-z0-9._-]+$")]
    private static partial Regex ValidName();
}
