using System.Collections.Concurrent;
using Akka.Actor;
using LocalPort.Actors.Reload;
using LocalPort.Actors.Services;
using LocalPort.Actors.Supervision;
using LocalPort.Actors.Tests.Support;
using LocalPort.Core.Config;
using LocalPort.Core.Health;

namespace LocalPort.Actors.Tests.Reload;

/// <summary>A root on fake tunnels and scripted probes, under virtual time, with helpers to reload it.</summary>
public abstract class ReloadTestKit : VirtualTimeTestKit
{
    protected readonly FakeTunnelFactory Tunnels = new();
    protected readonly ConcurrentDictionary<string, ScriptedProbe> Probes = new();

    protected ScriptedProbe ProbeOf(string service) => Probes.GetOrAdd(service, _ =>
    {
        var probe = new ScriptedProbe();
        probe.AlwaysAnswer(ProbeResult.Ok);
        return probe;
    });

    protected IActorRef StartRoot(ServiceSpec[] services, Func<ServiceSpec, bool>? selection = null)
    {
        var runtime = new LocalPortRuntime(Tunnels, s => ProbeOf(s.Name), () => 0.5);
        Sys.EventStream.Subscribe(TestActor, typeof(ServiceStatusChanged));
        Sys.EventStream.Subscribe(TestActor, typeof(ServiceRemoved));
        return Sys.ActorOf(LocalPortSupervisor.Props(services, runtime, selection), "localport");
    }

    protected static LocalPortConfig Config(params ServiceSpec[] services) => new("1.0", services, ShutdownTimeouts.Default, null);

    protected ReloadResult Apply(IActorRef root, params ServiceSpec[] services)
    {
        root.Tell(new ApplyConfig(Config(services)), TestActor);
        return FishForMessage<ReloadResult>(_ => true, TimeSpan.FromSeconds(5));
    }

    protected ServiceStatus ExpectStatus(string name, Func<ServiceStatus, bool> predicate) =>
        FishForMessage<ServiceStatusChanged>(m => m.Status.Name == name && predicate(m.Status), TimeSpan.FromSeconds(3)).Status;

    protected static IReadOnlyList<ServiceStatus> Snapshot(IActorRef root) =>
        root.Ask<StatusSnapshot>(GetStatus.Instance, TimeSpan.FromSeconds(3)).Result.Services;

    protected void AwaitAll(IActorRef root, Func<ServiceStatus, bool> predicate) =>
        AwaitCondition(() => Snapshot(root).All(predicate), TimeSpan.FromSeconds(3));

    /// <summary>
    /// The child by name, or null. Its answer also proves it has processed whatever the root sent it
    /// before the reload was answered (one mailbox, causally ordered).
    /// </summary>
    protected IActorRef? Child(string name) =>
        Sys.ActorSelection($"/user/localport/{name}").Ask<ActorIdentity>(new Identify(null), TimeSpan.FromSeconds(3)).Result.Subject;
}
