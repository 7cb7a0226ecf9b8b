using LocalPort.Core.Forwarding;

namespace LocalPort.Core.Tests.Forwarding;

/// <summary>The bookkeeping of a shared master's forwards: what is added, cancelled, failed or let go, and when.</summary>
public sealed class SshForwardBookTests
{
    private sealed class Master;

    private readonly SshForwardBook<string, Master> _book = new();
    private readonly Master _one = new();
    private readonly Master _two = new();

    private static Func<Master, bool> Alive => _ => false;

    [Fact]
    public void Waiting_forwards_go_in_one_batch_and_are_carried_when_it_lands()
    {
        _book.Add("db", "db");
        _book.Add("web", "web");

        var batch = _book.TakeForwards(_one, oneByOne: false);
        _book.Add("late", "late"); // arrives while the batch is in flight: it waits for the next one

        Assert.Equal(["db", "web"], batch);
        Assert.Equal(["db", "web"], _book.Forwarded(batch, _one));
        Assert.Equal(["db", "web"], _book.CarriedBy(_one));
        Assert.Equal(["late"], _book.TakeForwards(_one, oneByOne: false));
        Assert.True(_book.HasLive);
    }

    [Fact]
    public void A_batch_being_split_goes_one_by_one()
    {
        foreach (var name in new[] { "a", "b", "c" }) _book.Add(name, name);
        var batch = _book.TakeForwards(_one, oneByOne: false);

        Assert.Empty(_book.Requeue(batch, _one));
        Assert.Equal(["a"], _book.TakeForwards(_one, oneByOne: true));
        Assert.Equal(SshForwardBook<string, Master>.Stage.Waiting, _book.StageOf("b"));
    }

    [Fact]
    public void Releasing_each_stage_says_what_to_do()
    {
        _book.Add("waiting", "waiting");
        _book.Add("carried", "carried");
        Assert.Equal(["waiting", "carried"], _book.TakeForwards(_one, false).Order().Reverse());
        _book.Forwarded(["carried"], _one);
        _book.Add("waiting2", "waiting2");

        Assert.Equal(SshForwardBook<string, Master>.Released.Deferred, _book.Release("waiting", Alive).What); // its -O forward is in flight
        Assert.Equal(SshForwardBook<string, Master>.Released.ToCancel, _book.Release("carried", Alive).What);
        Assert.Equal(SshForwardBook<string, Master>.Released.Dropped, _book.Release("waiting2", Alive).What);
        Assert.Equal(SshForwardBook<string, Master>.Released.Unknown, _book.Release("never", Alive).What);
        Assert.Equal(["carried"], _book.TakeCancels(_one));
        Assert.Equal(["carried"], _book.Cancelled(["carried"]));
        Assert.False(_book.HasLive);
    }

    [Fact]
    public void A_forward_released_while_its_add_was_in_flight_is_cancelled_once_it_lands_or_let_go_if_it_does_not()
    {
        _book.Add("landed", "landed");
        _book.Add("lost", "lost");
        var batch = _book.TakeForwards(_one, false);
        _book.Release("landed", Alive);
        _book.Release("lost", Alive);

        Assert.Empty(_book.Forwarded(["landed"], _one));
        Assert.Equal(["landed"], _book.TakeCancels(_one));
        Assert.Equal(["lost"], _book.Requeue(["lost"], _one));
        Assert.Null(_book.StageOf("lost"));
        Assert.Equal(2, batch.Count);
    }

    [Fact]
    public void A_carried_forward_on_a_master_that_is_gone_needs_no_cancel()
    {
        _book.Add("db", "db");
        _book.Forwarded(_book.TakeForwards(_one, false), _one);

        Assert.Equal(SshForwardBook<string, Master>.Released.Dropped, _book.Release("db", master => master == _one).What);
        Assert.Empty(_book.TakeCancels(_one));
    }

    [Fact]
    public void A_dead_master_takes_what_it_carried_puts_what_it_was_adding_back_in_line_and_lets_go_of_what_it_was_cancelling()
    {
        foreach (var name in new[] { "carried", "cancelling", "adding", "dropped" }) _book.Add(name, name);
        _book.Forwarded(_book.TakeForwards(_one, false).Where(n => n is "carried" or "cancelling"), _one);
        _book.Release("cancelling", Alive);
        _book.Release("dropped", Alive); // released while being added

        var (carried, released) = _book.MasterDown(_one);

        Assert.Equal(["carried"], carried);
        Assert.Equal(["cancelling", "dropped"], released.Order());
        Assert.Null(_book.StageOf("carried"));
        Assert.Equal(SshForwardBook<string, Master>.Stage.Waiting, _book.StageOf("adding"));
        Assert.Equal(["adding"], _book.TakeForwards(_two, false));
    }

    [Fact]
    public void When_no_master_can_be_had_the_waiting_fail_and_the_released_go()
    {
        _book.Add("a", "a");
        _book.Add("b", "b");
        var batch = _book.TakeForwards(_one, false);
        _book.Release("b", Alive);
        _book.Requeue(batch, _one);
        _book.Add("c", "c");

        var (failed, released) = _book.FailWaiting();

        Assert.Equal(["a", "c"], failed.Order());
        Assert.Empty(released); // b was let go when its add came back
        Assert.Equal(0, _book.Count);
    }

    [Fact]
    public void A_refused_forward_fails_unless_it_was_released_meanwhile()
    {
        _book.Add("a", "a");
        _book.Add("b", "b");
        _book.TakeForwards(_one, false);
        _book.Release("b", Alive);

        var (failed, released) = _book.Refused(["a", "b"], _one);

        Assert.Equal(["a"], failed);
        Assert.Equal(["b"], released);
    }
}
