using System.Globalization;
using System.Text;

namespace LocalPort.Bench;

/// <summary>Samples of one measurement: successful values plus how many runs did not produce one.</summary>
public sealed class Samples(string unit, int decimals = 0)
{
    private readonly List<double> _values = [];
    public string Unit { get; } = unit;
    public int Decimals { get; } = decimals;
    public int Failed { get; private set; }
    public List<string> FailureNotes { get; } = [];
    public IReadOnlyList<double> Values => _values;
    public int Runs => _values.Count + Failed;

    public void Add(double value) => _values.Add(value);
    public void Fail(string why) { Failed++; FailureNotes.Add(why); }

    public double? Median => Percentile(50);
    public double? Min => _values.Count == 0 ? null : _values.Min();
    public double? Max => _values.Count == 0 ? null : _values.Max();

    public double? Percentile(double p)
    {
        if (_values.Count == 0) return null;
        var sorted = _values.Order().ToArray();
        var rank = p / 100 * (sorted.Length - 1);
        var lo = (int)Math.Floor(rank);
        var hi = (int)Math.Ceiling(rank);
        return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo);
    }

    public string Number(double? value) => value is { } v ? v.ToString("N" + Decimals, CultureInfo.InvariantCulture) : "–";

    /// <summary>"212 ms (180–260, n=10)"; failed runs are named.</summary>
    public string Describe(string? whenNone = null)
    {
        if (_values.Count == 0) return whenNone ?? $"no result ({Failed}/{Runs} runs failed)";
        var spread = _values.Count == 1 ? "" : $" ({Number(Min)}–{Number(Max)})";
        var failed = Failed > 0 ? $", {Failed} of {Runs} runs failed" : "";
        return $"{Number(Median)} {Unit}{spread}, n={_values.Count}{failed}";
    }
}

public enum Better { Lower, Higher }

/// <summary>One line of the results table: LocalPort and the peer measured in the same invocation.</summary>
public sealed record Row(
    string Figure, string Case, Samples LocalPort, string PeerName, Samples? Peer, Better Better,
    string? LossReason = null, string? LocalPortNone = null, string? PeerNone = null, string? Comment = null, bool Reference = false,
    double? EvenWithin = null, double? GoodEnough = null)
{
    // EvenWithin: an absolute margin (in the figure's unit) for figures near zero, such as a slope, where a ratio says nothing.
    // GoodEnough: a median at least this good is never a loss, whatever the peer's (RSS growth under 5 % is flat even if the
    // peer's memory shrank).
    public double? Ratio => EvenWithin is null && LocalPort.Median is { } lp && Peer?.Median is { } peer && peer != 0 ? lp / peer : null;

    /// <summary>True when LocalPort's median is worse than the peer's by more than 5 % (noise on a shared machine).</summary>
    public bool? LocalPortLoses
    {
        get
        {
            if (Peer is null || Reference) return null;
            var lp = LocalPort.Median;
            var peer = Peer.Median;
            if (lp is null && peer is null) return null;
            if (lp is null) return true;   // LocalPort produced nothing, the peer did
            if (peer is null) return false; // the peer never got there
            if (GoodEnough is { } enough && (Better == Better.Lower ? lp <= enough : lp >= enough)) return false;
            if (EvenWithin is { } margin) return Better == Better.Lower ? lp > peer + margin : lp < peer - margin;
            return Better == Better.Lower ? lp > peer * 1.05 : lp < peer / 1.05;
        }
    }

    public string Verdict => LocalPortLoses switch
    {
        null => Reference ? "reference only (a relay cannot beat a direct connection)" : "",
        false => "LocalPort ahead or even",
        true => $"**LocalPort loses**{(LossReason is null ? "" : ": " + LossReason)}",
    };
}

public sealed class Report
{
    public List<Row> Rows { get; } = [];
    public List<string> Notes { get; } = [];
    public List<string> Problems { get; } = [];

    public string Markdown(Machine machine, TimeSpan total, string command)
    {
        var md = new StringBuilder();
        md.AppendLine("# LocalPort benchmark results");
        md.AppendLine();
        md.AppendLine($"Produced by `{command}` on {DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm} UTC in {total.TotalSeconds:0} s.");
        md.AppendLine();
        md.AppendLine("## Machine");
        md.AppendLine();
        foreach (var line in machine.Lines()) md.AppendLine($"- {line}");
        md.AppendLine();
        md.AppendLine("Every figure is measured on loopback (127.0.0.1) as the median over n runs with (min–max) in brackets;");
        md.AppendLine("LocalPort and its peer are measured in the same invocation, interleaved run by run.");
        md.AppendLine("Ratio = LocalPort median / peer median (below 1 is better for times, above 1 for throughput).");
        md.AppendLine();
        md.AppendLine("## Results");
        md.AppendLine();
        md.AppendLine("| # | Figure | LocalPort | Peer | Peer figure | LP/peer | Verdict |");
        md.AppendLine("|---|---|---|---|---|---|---|");
        foreach (var row in Rows)
        {
            var ratio = row.Ratio is { } r ? r.ToString(r < 10 ? "0.00" : "0", CultureInfo.InvariantCulture) + "×" : "–";
            md.AppendLine($"| {row.Figure} | {row.Case} | {row.LocalPort.Describe(row.LocalPortNone)} | {row.PeerName} | " +
                          $"{row.Peer?.Describe(row.PeerNone) ?? "–"} | {ratio} | {row.Verdict}{(row.Comment is null ? "" : " " + row.Comment)} |");
        }
        md.AppendLine();
        var losses = Rows.Where(r => r.LocalPortLoses == true).ToList();
        md.AppendLine("## Where LocalPort loses");
        md.AppendLine();
        if (losses.Count == 0) md.AppendLine("Nowhere in this run.");
        foreach (var row in losses)
            md.AppendLine($"- {row.Figure} {row.Case}: LocalPort {row.LocalPort.Describe(row.LocalPortNone)} vs {row.PeerName} " +
                          $"{row.Peer?.Describe(row.PeerNone)}. Why: {row.LossReason ?? "(no explanation recorded)"}");
        md.AppendLine();
        md.AppendLine("## Settings");
        md.AppendLine();
        foreach (var note in Notes) md.AppendLine($"- {note}");
        var failures = Rows.SelectMany(r => new[] { (r, "LocalPort", r.LocalPort), (r, r.PeerName, r.Peer) })
            .Where(x => x.Item3 is { FailureNotes.Count: > 0 })
            .SelectMany(x => x.Item3!.FailureNotes.Distinct().Select(n => $"{x.Item1.Figure} {x.Item1.Case}, {x.Item2}: {n}"))
            .ToList();
        if (failures.Count > 0 || Problems.Count > 0)
        {
            md.AppendLine();
            md.AppendLine("## Failed runs and problems seen");
            md.AppendLine();
            foreach (var problem in Problems) md.AppendLine($"- {problem}");
            foreach (var failure in failures) md.AppendLine($"- {failure}");
        }
        return md.ToString();
    }
}
