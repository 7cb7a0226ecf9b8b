using Akka.TestKit;

namespace LocalPort.Actors.Tests.Support;

/// <summary>A TestKit whose scheduler only moves when the test advances it.</summary>
public abstract class VirtualTimeTestKit() : Akka.TestKit.Xunit2.TestKit(
    """
    akka.scheduler.implementation = "Akka.TestKit.TestScheduler, Akka.TestKit"
    akka.loglevel = WARNING
    """)
{
    protected TestScheduler Clock => (TestScheduler)Sys.Scheduler;

    protected void Advance(TimeSpan time) => Clock.Advance(time);
}
