using System.Diagnostics;

namespace LocalPort.TestKube.Tests.Support;

public static class Poll
{
    /// <summary>Waits (bounded, checking every 20 ms) for a condition on the server's state.</summary>
    public static async Task UntilAsync(Func<bool> condition, string what, TimeSpan? timeout = null)
    {
        var limit = timeout ?? TimeSpan.FromSeconds(10);
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > limit)
            {
                throw new TimeoutException($"gave up waiting {limit} for {what}");
            }
            await Task.Delay(20);
        }
    }
}
