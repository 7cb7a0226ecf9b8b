using LocalPort.Core.Forwarding;

namespace LocalPort.Core.Tests.Cluster;

/// <summary>kubectl's stderr, as measured against the test API server and a closed port, turned into a last_error.</summary>
public sealed class KubectlFailureTests
{
    [Theory]
    [InlineData("error: lost connection to pod", "pod gone: ")]
    [InlineData("The connection to the server 127.0.0.1:39099 was refused - did you specify the right host or port?", "cluster unreachable: ")]
    [InlineData("Unable to connect to the server: dial tcp: lookup api.example.com: no such host", "cluster unreachable: ")]
    [InlineData("Unable to connect to the server: net/http: TLS handshake timeout", "cluster unreachable: ")]
    [InlineData("error: You must be logged in to the server (Unauthorized)", "authentication failed: ")]
    [InlineData("Error from server (Forbidden): pods \"web-0\" is forbidden: User \"dev\" cannot create resource \"pods/portforward\"", "not authorised: ")]
    [InlineData("Unable to listen on port 8080: Listeners failed to create with the following errors: [unable to create listener: Error listen tcp4 127.0.0.1:8080: bind: address already in use]", "port in use: ")]
    [InlineData("error: context \"staging\" does not exist", "not found (check context and kubeconfig): ")]
    [InlineData("Error from server (NotFound): services \"web\" not found", "pod or service not found: ")]
    public void Kubectl_errors_are_named_for_what_broke(string said, string meaning)
    {
        var classified = FailureClassifier.Classify(said);

        Assert.StartsWith(meaning, classified);
        Assert.EndsWith(said, classified);
    }

    [Fact]
    public void Klog_lines_and_progress_lines_give_way_to_what_kubectl_said_last()
    {
        var summary = KubectlOutput.Summary([
            "Forwarding from 127.0.0.1:39599 -> 80",
            "E1125 13:08:48.869457   31048 portforward.go:424] \"Unhandled Error\" err=\"an error occurred forwarding 39599 -> 80\"",
            "error: lost connection to pod",
        ]);

        Assert.Equal("error: lost connection to pod", summary);
    }

    [Fact]
    public void When_kubectl_said_only_klog_lines_they_are_kept()
    {
        var lines = new[] { "E1125 13:08:48.869457   31048 memcache.go:265] couldn't get current server API group list: connection refused" };

        Assert.Equal(lines[0], KubectlOutput.Summary(lines));
    }
}
