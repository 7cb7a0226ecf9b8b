using Akka.Actor;
using Akka.Configuration;
using Akka.Event;
using LocalPort.Actors.Scheduling;

namespace LocalPort.Actors.Tests.Scheduling;

/// <summary>The CLI's scheduler, running a real ActorSystem on real time (the waits are bounds, not sleeps).</summary>
public class DueTimeSchedulerTests() : Akka.TestKit.Xunit2.TestKit(
    "akka.scheduler.implementation = \"LocalPort.Actors.Scheduling.DueTimeScheduler, LocalPort.Actors\"")
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(5);

    private IScheduler Scheduler => Sys.Scheduler;
    private int Pending => Assert.IsType<DueTimeScheduler>(Sys.Scheduler).Pending;

    [Fact]
    public void A_message_arrives_once_when_due_and_nothing_is_left_pending()
    {
        Scheduler.ScheduleTellOnce(TimeSpan.FromMilliseconds(400), TestActor, "due", ActorRefs.NoSender);
        ExpectNoMsg(TimeSpan.FromMilliseconds(200));
        ExpectMsg("due", Bound);
        ExpectNoMsg(TimeSpan.FromMilliseconds(300));
        AwaitCondition(() => Pending == 0, Bound);
    }

    [Fact]
    public void A_cancelled_message_never_arrives()
    {
        var cancelable = Scheduler.ScheduleTellOnceCancelable(TimeSpan.FromMilliseconds(200), TestActor, "late", ActorRefs.NoSender);
        Assert.Equal(1, Pending);
        cancelable.Cancel();
        Assert.Equal(0, Pending);
        ExpectNoMsg(TimeSpan.FromMilliseconds(500));
    }

    [Fact]
    public void A_repeated_message_keeps_coming_until_cancelled()
    {
        var cancelable = Scheduler.ScheduleTellRepeatedlyCancelable(TimeSpan.Zero, TimeSpan.FromMilliseconds(50), TestActor, "tick", ActorRefs.NoSender);
        for (var i = 0; i < 4; i++) ExpectMsg("tick", Bound);
        cancelable.Cancel();
        Assert.Equal(0, Pending);
        // One may already have been on its way when the cancel came; after that, silence.
        ReceiveWhile(TimeSpan.FromMilliseconds(100), m => m);
        ExpectNoMsg(TimeSpan.FromMilliseconds(300));
    }

    [Fact]
    public void Actions_run_and_a_throwing_action_does_not_stop_the_others()
    {
        var ran = new TaskCompletionSource();
        Scheduler.Advanced.ScheduleOnce(TimeSpan.FromMilliseconds(10), () => throw new InvalidOperationException("boom"));
        Scheduler.Advanced.ScheduleOnce(TimeSpan.FromMilliseconds(20), () => ran.TrySetResult());
        Assert.True(ran.Task.Wait(Bound));
        AwaitCondition(() => Pending == 0, Bound);
    }

    [Fact]
    public void Thousands_of_short_items_all_fire_and_none_stay_pending()
    {
        var fired = 0;
        for (var i = 0; i < 2_000; i++)
            Scheduler.Advanced.ScheduleOnce(TimeSpan.FromMilliseconds(i % 20), () => Interlocked.Increment(ref fired));
        AwaitCondition(() => Volatile.Read(ref fired) == 2_000, Bound);
        AwaitCondition(() => Pending == 0, Bound);
    }

    [Fact]
    public async Task Actor_timers_and_ask_timeouts_run_on_it()
    {
        var timed = Sys.ActorOf(Props.Create(() => new TimedActor(TestActor)));
        ExpectMsg("single", Bound);
        ExpectMsg("periodic", Bound);
        ExpectMsg("periodic", Bound);
        var silent = Sys.ActorOf(Props.Create(() => new SilentActor()));
        await Assert.ThrowsAsync<AskTimeoutException>(() => silent.Ask<string>("anyone?", TimeSpan.FromMilliseconds(200)));
    }

    [Fact]
    public void After_dispose_nothing_fires_and_nothing_is_accepted()
    {
        var due = new DueTimeScheduler(ConfigurationFactory.Empty, Sys.Log);
        IScheduler scheduler = due;
        var fired = 0;
        scheduler.Advanced.ScheduleRepeatedly(TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(100), () => Interlocked.Increment(ref fired));
        scheduler.Advanced.ScheduleOnce(TimeSpan.FromMilliseconds(100), () => Interlocked.Increment(ref fired));
        Assert.Equal(2, due.Pending);
        due.Dispose();
        Assert.Equal(0, due.Pending);
        scheduler.Advanced.ScheduleOnce(TimeSpan.Zero, () => Interlocked.Increment(ref fired));
        ExpectNoMsg(TimeSpan.FromMilliseconds(400));
        Assert.Equal(0, Volatile.Read(ref fired));
        Assert.Equal(0, due.Pending);
    }

    private sealed class TimedActor : ReceiveActor, IWithTimers
    {
        private int _periodic;

        public TimedActor(IActorRef report)
        {
            Receive<string>(m => m == "periodic", m =>
            {
                report.Tell(m);
                if (++_periodic == 2) Timers.Cancel("periodic");
            });
            Receive<string>(m => report.Tell(m));
        }

        public ITimerScheduler Timers { get; set; } = null!;

        protected override void PreStart()
        {
            Timers.StartSingleTimer("single", "single", TimeSpan.FromMilliseconds(20));
            Timers.StartPeriodicTimer("periodic", "periodic", TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(50));
        }
    }

    private sealed class SilentActor : ReceiveActor
    {
        public SilentActor() => ReceiveAny(_ => { });
    }
}
