namespace LocalPort.IntegrationTests.Recovery;

/// <summary>
/// Bounded blocking waits (a status line, a log line) on a thread of their own, so they never take one of the
/// few pool threads the client loops and the CLI's output readers need on a 2-core machine.
/// </summary>
internal static class Blocking
{
    public static Task<T> Wait<T>(Func<T> wait) =>
        Task.Factory.StartNew(wait, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
}
