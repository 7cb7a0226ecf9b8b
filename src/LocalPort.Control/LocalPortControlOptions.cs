using Microsoft.Extensions.DependencyInjection;

namespace LocalPort.Control;

/// <summary>What the control API says about its host; everything else it reads from the actors.</summary>
public sealed class LocalPortControlOptions
{
    /// <summary>How this process runs LocalPort, shown as <c>mode</c> in <c>/v1/status</c> (the CLI says run, daemon or demo).</summary>
    public string Mode { get; set; } = "embedded";
}

public static class LocalPortControlServiceCollectionExtensions
{
    /// <summary>Sets the control API's options; <c>MapLocalPort</c> works without it, with the defaults.</summary>
    public static IServiceCollection AddLocalPortControl(this IServiceCollection services, Action<LocalPortControlOptions>? configure = null)
    {
        var options = services.AddOptions<LocalPortControlOptions>();
        if (configure is not null) options.Configure(configure);
        return services;
    }
}
