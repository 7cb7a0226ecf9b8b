namespace LocalPort.IntegrationTests.Fixtures;

/// <summary>Small builders for localport.yaml text, so each test shows only what matters to it.</summary>
public static class Yaml
{
    /// <summary>A whole file: the services given, with the restart policy users get (no restart_policy at all).</summary>
    public static string File(params string[] services) =>
        "version: \"1.0\"\n" +
        "services:\n" + string.Join("\n", services) + "\n";

    public static string Tcp(string name, int localPort, int upstreamPort, string? healthCheck = null) => $"""
          - name: {name}
            technology: tcp
            local_port: {localPort}
            remote_port: {upstreamPort}
            connection:
              host: 127.0.0.1
        {Indent(healthCheck)}
        """;

    /// <param name="connection">More keys of the connection block (multiplex: false, standby: true).</param>
    public static string Ssh(string name, int localPort, int remotePort, SshServer server, string? healthCheck = null, string? restartPolicy = null,
        string? connection = null) => $"""
          - name: {name}
            technology: ssh
            local_port: {localPort}
            remote_port: {remotePort}
            connection:
              remote_host: 127.0.0.1
        {server.ConnectionYaml()}
        {Indent(connection, "      ")}
        {Indent(healthCheck)}
        {Indent(restartPolicy)}
        """;

    public static string Kubectl(string name, int localPort, int remotePort, string connection, string? healthCheck = null, string? restartPolicy = null) => $"""
          - name: {name}
            technology: kubectl
            local_port: {localPort}
            remote_port: {remotePort}
            connection:
        {Indent(connection, "      ")}
        {Indent(healthCheck)}
        {Indent(restartPolicy)}
        """;

    private static string Indent(string? block, string indent = "    ") =>
        block is null ? "" : string.Join("\n", block.Trim('\n').Split('\n').Select(line => indent + line));
}
