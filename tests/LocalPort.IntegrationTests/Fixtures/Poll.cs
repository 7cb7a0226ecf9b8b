using System.Diagnostics;

namespace LocalPort.IntegrationTests.Fixtures;

/// <summary>Bounded waits for a condition: a short poll inside a deadline, never a "long enough" sleep.</summary>
public static class Poll
{
    public static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(20);

    /// <summary>True as soon as <paramref name="condition"/> holds; false when the deadline passes first.</summary>
    public static bool Until(Func<bool> condition, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            if (condition()) return true;
            if (clock.Elapsed >= timeout) return false;
            Thread.Sleep(Interval);
        }
    }

    public static async Task<bool> UntilAsync(Func<Task<bool>> condition, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            if (await condition()) return true;
            if (clock.Elapsed >= timeout) return false;
            await Task.Delay(Interval);
        }
    }

    /// <summary>Fails the test with <paramref name="what"/> when the condition does not hold in time.</summary>
    public static void Assert(Func<bool> condition, TimeSpan timeout, string what)
    {
        if (!Until(condition, timeout)) Xunit.Assert.Fail($"timed out after {timeout.TotalSeconds:0.#}s waiting for {what}");
    }
}
