using System.Diagnostics;

namespace LocalPort.IntegrationTests.Recovery;

/// <summary>A budget for a whole series of steps (8 kills, 3 restarts), so a test stays bounded however each step goes.</summary>
internal sealed class Deadline(TimeSpan budget, string what)
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();

    /// <summary>The bound for the next wait: <paramref name="step"/>, or what is left of the budget if less; fails once it is spent.</summary>
    public TimeSpan Bound(TimeSpan step)
    {
        var left = budget - _clock.Elapsed;
        if (left <= TimeSpan.Zero) Assert.Fail($"{what} did not finish within {budget.TotalSeconds:0} s");
        return left < step ? left : step;
    }
}
