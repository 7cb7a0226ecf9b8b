using System.Runtime.CompilerServices;

namespace LocalPort.Core.Tests;

internal static class TestHostThreads
{
    /// <summary>
    /// The test host itself keeps three pool threads blocked (vstest's message loop and the xUnit adapter's
    /// waits); with the default minimum of one per core, timer continuations then wait ~0.5 s for thread
    /// injection, which the relay measurements would read as toxics misbehaving.
    /// </summary>
    [ModuleInitializer]
    internal static void Reserve()
    {
        ThreadPool.GetMinThreads(out var workers, out var io);
        ThreadPool.SetMinThreads(Math.Max(workers, 16), Math.Max(io, 16));
    }
}
