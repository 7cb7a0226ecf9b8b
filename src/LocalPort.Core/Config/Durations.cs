using System.Globalization;

namespace LocalPort.Core.Config;

/// <summary>Config durations: a bare number is seconds (<c>3</c>, <c>3.0</c>); otherwise a number with a unit (<c>500ms</c>, <c>2s</c>, <c>1.5m</c>, <c>1h</c>).</summary>
public static class Durations
{
    private static readonly (string Unit, long Ticks)[] Units =
    [
        ("ms", TimeSpan.TicksPerMillisecond),
        ("s", TimeSpan.TicksPerSecond),
        ("m", TimeSpan.TicksPerMinute),
        ("h", TimeSpan.TicksPerHour),
    ];

    public static bool TryParse(string text, out TimeSpan duration)
    {
        duration = TimeSpan.Zero;
        if (string.IsNullOrWhiteSpace(text)) return false;
        var trimmed = text.Trim().ToLowerInvariant();

        var ticksPerUnit = TimeSpan.TicksPerSecond;
        foreach (var (unit, ticks) in Units)
        {
            // "ms" is checked before "s" and "m", so "500ms" is never read as 500 m + junk.
            if (!trimmed.EndsWith(unit, StringComparison.Ordinal)) continue;
            ticksPerUnit = ticks;
            trimmed = trimmed[..^unit.Length].TrimEnd();
            break;
        }

        // decimal keeps "0.1" exact, so a written duration parses back to the same ticks.
        if (!decimal.TryParse(trimmed, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var amount))
            return false;
        // Checked before multiplying: a huge amount would overflow decimal itself.
        if (amount > (decimal)TimeSpan.MaxValue.Ticks / ticksPerUnit) return false;
        duration = TimeSpan.FromTicks((long)decimal.Round(amount * ticksPerUnit));
        return true;
    }

    /// <summary>The shortest exact form that <see cref="TryParse"/> reads back: <c>5s</c>, <c>500ms</c>, <c>0.0000001s</c>.</summary>
    public static string Format(TimeSpan duration)
    {
        var ticks = duration.Ticks;
        if (ticks % TimeSpan.TicksPerSecond == 0)
            return (ticks / TimeSpan.TicksPerSecond).ToString(CultureInfo.InvariantCulture) + "s";
        if (ticks % TimeSpan.TicksPerMillisecond == 0)
            return (ticks / TimeSpan.TicksPerMillisecond).ToString(CultureInfo.InvariantCulture) + "ms";
        return ((decimal)ticks / TimeSpan.TicksPerSecond).ToString(CultureInfo.InvariantCulture) + "s";
    }
}
