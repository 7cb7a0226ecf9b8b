namespace LocalPort.IntegrationTests.Recovery;

/// <summary>Small statistics for the figures the recovery tests print and assert.</summary>
internal static class Figures
{
    public static double Median(IReadOnlyCollection<double> values)
    {
        if (values.Count == 0) throw new ArgumentException("no values", nameof(values));
        var sorted = values.Order().ToList();
        var middle = sorted.Count / 2;
        return sorted.Count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
    }

    public static string Milliseconds(IEnumerable<double> values) => string.Join(", ", values.Select(v => $"{v:0}"));
}
