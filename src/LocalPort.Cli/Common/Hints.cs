using LocalPort.Core;
namespace LocalPort.Cli.Common;

/// <summary>"Did you mean …?" for a mistyped name: the closest valid one, when it is close enough to be a typo.</summary>
public static class Hints
{
    public static string? Closest(string typed, IEnumerable<string> valid)
    {
        string? best = null;
        var bestDistance = int.MaxValue;
        foreach (var candidate in valid.Distinct(StringComparer.Ordinal))
        {
            // A prefix is what a user abbreviates (`stat` for `status`): always worth naming.
            var distance = candidate.StartsWith(typed, StringComparison.OrdinalIgnoreCase) && typed.Length >= 2
                ? 0
                : EditDistance.Between(typed.ToLowerInvariant(), candidate.ToLowerInvariant());
            if (distance < bestDistance)
            {
                best = candidate;
                bestDistance = distance;
            }
        }
        // Up to a third of the word may be wrong (at least one letter, at most three).
        return best is not null && bestDistance <= Math.Clamp(typed.Length / 3, 1, 3) ? best : null;
    }

    /// <summary>" (did you mean 'x'?)" or nothing.</summary>
    public static string DidYouMean(string typed, IEnumerable<string> valid) =>
        Closest(typed, valid) is { } closest ? $" (did you mean '{closest}'?)" : "";

    /// <summary>One line naming every unknown name, the closest valid name for each, and the valid ones.</summary>
    public static string Unknown(string what, IReadOnlyCollection<string> unknown, IReadOnlyCollection<string> known)
    {
        var named = string.Join(", ", unknown.Select(u => $"'{u}'{DidYouMean(u, known)}"));
        var list = known.Count == 0 ? "none are configured" : $"known: {string.Join(", ", known.Order(StringComparer.Ordinal))}";
        return $"error: unknown {what}{(unknown.Count > 1 ? "s" : "")} {named}; {list}";
    }
}
