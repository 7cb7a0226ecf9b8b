using LocalPort.Core.Config;

namespace LocalPort.Core.Cluster;

/// <summary>
/// One Kubernetes API as LocalPort reaches it: a context of a kubeconfig, through a kubectl binary.
/// Services with the same key share one monitor; a null context is the kubeconfig's current context.
/// </summary>
public sealed record ClusterKey(string? Context, string? Kubeconfig, string? KubectlPath)
{
    /// <summary>How people name it: the context, or "current-context" when the service names none.</summary>
    public string Name => string.IsNullOrEmpty(Context) ? "current-context" : Context;

    /// <summary>The cluster a service forwards from; null for ssh and tcp services.</summary>
    public static ClusterKey? Of(ServiceSpec service) => service.Connection is KubectlConnection kubectl
        ? new ClusterKey(NullIfEmpty(kubectl.Context), NullIfEmpty(kubectl.Kubeconfig), NullIfEmpty(kubectl.KubectlPath))
        : null;

    private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;

    public override string ToString() => Kubeconfig is null ? Name : $"{Name} ({Kubeconfig})";
}
