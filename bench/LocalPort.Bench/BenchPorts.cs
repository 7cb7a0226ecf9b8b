using LocalPort.IntegrationTests.Fixtures;

namespace LocalPort.Bench;

/// <summary>
/// Local ports for the services under test: free ports below the kernel's ephemeral range (<see cref="FreePort"/>,
/// shared with the integration tests), never reused within one bench run, so one supervisor's port is never
/// another's while it is still starting or stopping.
/// </summary>
public static class BenchPorts
{
    private static readonly HashSet<int> Used = [];
    private static readonly object Gate = new();

    public static int Next() => Next(1)[0];

    public static int[] Next(int count)
    {
        var result = new List<int>();
        lock (Gate)
        {
            for (var tries = 0; result.Count < count; tries++)
            {
                if (tries > 100_000) throw new InvalidOperationException($"no {count} free ports left below the ephemeral range");
                var port = FreePort.Next();
                if (Used.Add(port)) result.Add(port);
            }
        }
        return result.ToArray();
    }
}
