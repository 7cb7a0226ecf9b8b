using Akka.Actor;
using Akka.Hosting;
using LocalPort.Actors.Reload;
using LocalPort.Actors.Shutdown;
using LocalPort.Actors.Supervision;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace LocalPort.Control;

/// <summary>
/// What one request talks to, resolved from the host's services per request: the ActorSystem and the actors
/// <c>WithLocalPort</c> registered exist only once the host has started.
/// </summary>
internal sealed class LocalPortActors(IServiceProvider services)
{
    public static LocalPortActors Of(HttpContext http) => new(http.RequestServices);

    public ActorSystem System => services.GetRequiredService<ActorSystem>();

    public LocalPortControlOptions Options => services.GetService<IOptions<LocalPortControlOptions>>()?.Value ?? new LocalPortControlOptions();

    public Task<IActorRef> Root() => Required<LocalPortSupervisor>();

    public Task<IActorRef> Coordinator() => Required<ShutdownCoordinator>();

    /// <summary>Null when LocalPort runs a fixed configuration (no file to watch or reload).</summary>
    public IActorRef? Watcher => services.GetRequiredService<ActorRegistry>().TryGet<ConfigWatcher>(out var watcher) ? watcher : null;

    private async Task<IActorRef> Required<T>()
    {
        using var timeout = new CancellationTokenSource(ControlApi.AskTimeout);
        try
        {
            return await services.GetRequiredService<IRequiredActor<T>>().GetAsync(timeout.Token);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            throw new AskTimeoutException($"no {typeof(T).Name} is registered; does the host's ActorSystem run WithLocalPort?");
        }
    }
}
