namespace LocalPort.Core.Config;

/// <summary>Rules that span services: unique names, and one service per local port.</summary>
internal static class ServiceSetValidator
{
    public static void Check(IReadOnlyList<ParsedService> services, DiagnosticBag bag)
    {
        var names = new Dictionary<string, ParsedService>(StringComparer.Ordinal);
        foreach (var service in services)
        {
            if (service is not { Name: { } name, NameField: { } field }) continue;
            if (names.TryGetValue(name, out var first))
                bag.Error(field.Node.Start, $"{field.Path}: {NodeText.Quote(name)} is already the name of {first.Path} (line {first.NameField!.Value.Node.Start.Line}); names must be unique");
            else
                names[name] = service;
        }

        var ports = new Dictionary<int, List<ParsedService>>();
        foreach (var service in services)
        {
            if (service is not { LocalPort: { } port, LocalPortField: { } field }) continue;
            if (!ports.TryGetValue(port, out var earlier)) ports[port] = earlier = [];
            foreach (var other in earlier)
            {
                var both = service.Enabled && other.Enabled;
                // Two enabled services cannot both listen; a disabled one only clashes once someone enables it.
                bag.Add(both ? Severity.Error : Severity.Warning, field.Node.Start,
                    $"{field.Path}: {port} is already the local_port of {other.Path} ({Describe(other)}); " +
                    (both ? "local ports must be unique" : "they cannot both be enabled"));
                if (both) break;
            }
            earlier.Add(service);
        }
    }

    private static string Describe(ParsedService service) =>
        (service.Name is null ? "" : NodeText.Quote(service.Name) + ", ") + (service.Enabled ? "enabled" : "disabled");
}
