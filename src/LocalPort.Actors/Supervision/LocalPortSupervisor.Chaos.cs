using Akka.Actor;
using LocalPort.Actors.Chaos;
using LocalPort.Actors.Services;

namespace LocalPort.Actors.Supervision;

/// <summary>The root's part in chaos: pass each command to the service's forward, which answers the asker.</summary>
public sealed partial class LocalPortSupervisor
{
    private void RouteChaos(ChaosCommand command)
    {
        if (!_acceptingWork)
        {
            Sender.Tell(CommandRefused.ShuttingDown);
            return;
        }
        if (!_services.TryGetValue(command.Service, out var service) || service.Forward is null || service.Leaving)
        {
            var known = string.Join(", ", Started.Select(s => s.Spec.Name).Order(StringComparer.Ordinal));
            Sender.Tell(new CommandRefused($"no running service named '{command.Service}'{(known.Length == 0 ? "" : $"; running: {known}")}",
                RefusalCode.UnknownService));
            return;
        }
        service.Forward.Forward(command.Action);
    }
}
