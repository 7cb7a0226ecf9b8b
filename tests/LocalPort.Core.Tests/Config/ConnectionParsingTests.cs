using LocalPort.Core.Config;
using static LocalPort.Core.Tests.Config.ConfigTestKit;

namespace LocalPort.Core.Tests.Config;

public sealed class ConnectionParsingTests
{
    private static string Kubectl(string connection) => $"""
        services:
          - name: api
            technology: kubectl
            local_port: 8080
            remote_port: 80
            connection:
        {connection}
        """;

    private static string Ssh(string connection) => $"""
        services:
          - name: db
            technology: ssh
            local_port: 5432
            remote_port: 5432
            connection:
        {connection}
        """;

    [Fact]
    public void Kubectl_defaults_to_a_service_in_the_default_namespace()
    {
        var connection = (KubectlConnection)OnlyService(Kubectl("      resource_name: api")).Connection;

        Assert.Equal(new KubectlConnection("service", "api", "default", null, null, null), connection);
    }

    [Fact]
    public void Kubectl_reads_every_field_and_expands_the_kubeconfig_home()
    {
        var connection = (KubectlConnection)OnlyService(Kubectl("""
                  resource_type: StatefulSet
                  resource_name: kafka
                  namespace: streaming
                  context: kind-dev
                  kubeconfig: ~/.kube/dev
                  kubectl_path: /opt/bin/kubectl
            """)).Connection;

        Assert.Equal(new KubectlConnection("statefulset", "kafka", "streaming", "kind-dev", $"{Home}/.kube/dev", "/opt/bin/kubectl"), connection);
    }

    [Fact]
    public void Kubectl_rejects_an_unknown_resource_type_and_requires_a_resource_name()
    {
        var result = Load(Kubectl("      resource_type: service/api"));

        Error(result, "services[0].connection.resource_type: 'service/api' is not one of service, pod, deployment, statefulset");
        Error(result, "services[0].connection.resource_name is missing");
    }

    [Fact]
    public void Ssh_has_safe_defaults()
    {
        var connection = (SshConnection)OnlyService(Ssh("      host: bastion.example.com")).Connection;

        Assert.Equal("bastion.example.com", connection.Host);
        Assert.Null(connection.User);
        Assert.Equal(22, connection.Port);
        Assert.Null(connection.KeyFile);
        Assert.Null(connection.Password);
        Assert.Equal("localhost", connection.RemoteHost);
        Assert.Null(connection.JumpHost);
        Assert.Equal("accept-new", connection.StrictHostKeyChecking);
        Assert.Empty(connection.Options);
        Assert.Null(connection.SshPath);
        Assert.True(connection.Multiplex);
        Assert.False(connection.Standby);
    }

    [Fact]
    public void Ssh_reads_multiplex_and_standby()
    {
        var own = (SshConnection)OnlyService(Ssh("      host: bastion\n      multiplex: false")).Connection;
        var standby = (SshConnection)OnlyService(Ssh("      host: bastion\n      standby: true")).Connection;

        Assert.Equal((false, false), (own.Multiplex, own.Standby));
        Assert.Equal((true, true), (standby.Multiplex, standby.Standby));
    }

    [Fact]
    public void A_standby_without_multiplexing_is_ignored_with_a_warning()
    {
        var result = Load(Ssh("      host: bastion\n      multiplex: false\n      standby: true"));

        Assert.True(result.Ok);
        Assert.False(((SshConnection)result.Config!.Services[0].Connection).Standby);
        Warning(result, "services[0].connection.standby: a standby is a second shared master, so it needs multiplex: true; ignored");
    }

    [Fact]
    public void Ssh_reads_every_field()
    {
        var connection = (SshConnection)OnlyService(Ssh("""
                  host: bastion
                  user: deploy
                  port: 2222
                  password: hunter2
                  remote_host: db.internal
                  jump_host: jump@gateway:2200
                  strict_host_key_checking: yes
                  ssh_path: ~/bin/ssh
                  options:
                    ServerAliveInterval: 15
                    Compression: yes
            """)).Connection;

        Assert.Equal(("bastion", "deploy", 2222, "db.internal", "jump@gateway:2200", "yes", $"{Home}/bin/ssh"),
            (connection.Host, connection.User, connection.Port, connection.RemoteHost, connection.JumpHost, connection.StrictHostKeyChecking, connection.SshPath));
        Assert.Equal("hunter2", connection.Password!.Reveal());
        Assert.Equal("********", connection.Password.ToString());
        Assert.Equal(new Dictionary<string, string> { ["ServerAliveInterval"] = "15", ["Compression"] = "yes" }, connection.Options);
    }

    [Fact]
    public void A_missing_key_file_is_a_warning_after_home_expansion()
    {
        var result = Load(Ssh("      host: bastion\n      key_file: ~/.ssh/nope"));

        Assert.True(result.Ok);
        Assert.Equal($"{Home}/.ssh/nope", ((SshConnection)result.Config!.Services[0].Connection).KeyFile);
        Warning(result, $"services[0].connection.key_file: '{Home}/.ssh/nope' does not exist");
    }

    [Fact]
    public void An_existing_key_file_raises_no_warning()
    {
        var key = Path.GetTempFileName();
        try
        {
            var result = Load(Ssh($"      host: bastion\n      key_file: {key}"));

            Assert.True(result.Ok);
            Assert.Empty(result.Diagnostics);
        }
        finally
        {
            File.Delete(key);
        }
    }

    [Theory]
    [InlineData("no")]
    [InlineData("off")]
    [InlineData("false")]
    public void Turning_off_host_key_checking_is_kept_but_warned_about(string value)
    {
        var result = Load(Ssh($"      host: bastion\n      strict_host_key_checking: {value}"));

        Assert.True(result.Ok);
        Assert.Equal(value == "off" ? "off" : "no", ((SshConnection)result.Config!.Services[0].Connection).StrictHostKeyChecking);
        Assert.Contains("prefer accept-new", Warning(result, "strict_host_key_checking").Message);
    }

    [Fact]
    public void An_unknown_host_key_mode_is_an_error()
    {
        Error(Load(Ssh("      host: bastion\n      strict_host_key_checking: maybe")),
            "'maybe' is not one of yes, accept-new, ask, no, off");
    }

    [Fact]
    public void Disabling_host_key_checking_through_options_is_warned_about_too()
    {
        var result = Load(Ssh("      host: bastion\n      options:\n        StrictHostKeyChecking: no"));

        Assert.True(result.Ok);
        Warning(result, "services[0].connection.options.StrictHostKeyChecking: 'no' accepts any host key");
    }

    [Theory]
    [InlineData("ProxyCommand", "nc %h %p", "run a command on this machine")]
    [InlineData("LocalCommand", "touch /tmp/x", "run a command on this machine")]
    [InlineData("KnownHostsCommand", "/bin/cat", "run a command on this machine")]
    [InlineData("RemoteCommand", "id", "run a command on the server")]
    public void Options_that_make_ssh_run_a_command_are_kept_but_warned_about(string option, string value, string message)
    {
        var result = Load(Ssh($"      host: bastion\n      options:\n        {option}: \"{value}\""));

        Assert.True(result.Ok);
        Assert.Contains(message, Warning(result, $"services[0].connection.options.{option}: {option} makes ssh").Message);
    }

    [Theory]
    [InlineData("host: -oProxyCommand=evil", "host: '-oProxyCommand=evil' is not a host name")]
    [InlineData("host: bastion\n      user: '-lroot'", "user: '-lroot' is not a host name")]
    [InlineData("host: bastion\n      options:\n        'Proxy Command': x", "'Proxy Command' is not an ssh option name")]
    [InlineData("host: bastion\n      port: 0", "port: 0 is out of range; use 1-65535")]
    public void Values_that_ssh_would_misread_are_rejected(string connection, string message)
    {
        Error(Load(Ssh("      " + connection)), message);
    }

    [Fact]
    public void Tcp_needs_the_upstream_host()
    {
        Assert.Equal(new TcpConnection("10.0.0.5"), OnlyService("services:\n" + TcpService().Replace("example.com", "10.0.0.5")).Connection);
        Error(Load("services:\n" + TcpService().Replace("host: example.com", "hots: example.com")), "services[0].connection.host is missing");
    }

    [Fact]
    public void A_connection_that_is_not_a_mapping_is_an_error()
    {
        Error(Load(Ssh("").Replace("connection:", "connection: bastion")), "services[0].connection: expected a mapping of keys to values, found 'bastion'");
    }

    [Fact]
    public void Keys_of_another_technology_are_unknown_keys()
    {
        var result = Load(Ssh("      host: bastion\n      resource_name: api"));

        Assert.True(result.Ok);
        Warning(result, "services[0].connection: unknown key 'resource_name' is ignored");
    }
}
