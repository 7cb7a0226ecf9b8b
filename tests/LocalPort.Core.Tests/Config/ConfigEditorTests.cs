using LocalPort.Core.Config;
using static LocalPort.Core.Tests.Config.ConfigTestKit;

namespace LocalPort.Core.Tests.Config;

/// <summary>`config add/remove` edit the text: only the service's own lines change, and the result loads.</summary>
public sealed class ConfigEditorTests
{
    private const string File = """
        version: "1.0"   # kept
        # Our forwards, in the order we care about them.
        services:
          # The website.
          - name: web
            technology: tcp
            local_port: 18080
            remote_port: 19080
            connection:
                host: 127.0.0.1   # the upstream

          - name: db
            technology: tcp
            local_port: 18081
            remote_port: 19081
            connection:
                host: 127.0.0.1
        # trailing note
        shutdown:
          cancel_tasks: 3s

        """;

    private static readonly NewService Api = new("api", Technology.Kubectl, 18090, 80,
        [new("resource_name", "api"), new("namespace", "prod"), new("context", "yes")], ["back", "two words"], "Costs: 5 # not a comment");

    [Fact]
    public void Adding_appends_after_the_last_service_and_changes_no_other_line()
    {
        var edited = ConfigEditor.AddService(File, Api);

        const string block = """

              - name: api
                technology: kubectl
                local_port: 18090
                remote_port: 80
                connection:
                    resource_name: api
                    namespace: prod
                    context: "yes"
                tags: [back, "two words"]
                description: "Costs: 5 # not a comment"
            """;
        // Exactly the block, with a blank line like the others, after db and before the trailing comment.
        Assert.Equal(File.Replace("host: 127.0.0.1\n# trailing", "host: 127.0.0.1\n" + block + "\n# trailing"), edited);
        var config = LoadValid(edited);
        Assert.Equal(["web", "db", "api"], config.Services.Select(s => s.Name));
        var api = config.Services[2];
        Assert.Equal(["back", "two words"], api.Tags);
        Assert.Equal("Costs: 5 # not a comment", api.Description);
        Assert.Equal("yes", ((KubectlConnection)api.Connection).Context);
    }

    [Fact]
    public void Removing_takes_the_service_its_comment_and_one_separator_and_nothing_else()
    {
        var edited = ConfigEditor.RemoveService(File, "web");

        Assert.Equal("""
            version: "1.0"   # kept
            # Our forwards, in the order we care about them.
            services:
              - name: db
                technology: tcp
                local_port: 18081
                remote_port: 19081
                connection:
                    host: 127.0.0.1
            # trailing note
            shutdown:
              cancel_tasks: 3s

            """, edited);
        Assert.Equal(["db"], LoadValid(edited).Services.Select(s => s.Name));
    }

    [Fact]
    public void Removing_the_last_service_keeps_what_follows_the_list()
    {
        var edited = ConfigEditor.RemoveService(File, "db");

        Assert.EndsWith("host: 127.0.0.1   # the upstream\n# trailing note\nshutdown:\n  cancel_tasks: 3s\n", edited);
        Assert.Equal(["web"], LoadValid(edited).Services.Select(s => s.Name));
    }

    [Fact]
    public void Windows_line_endings_are_kept()
    {
        var crlf = File.Replace("\n", "\r\n");

        var edited = ConfigEditor.RemoveService(ConfigEditor.AddService(crlf, Api), "web");

        Assert.DoesNotContain("\n", edited.Replace("\r\n", ""));
        Assert.Equal(["db", "api"], LoadValid(edited).Services.Select(s => s.Name));
    }

    [Theory]
    [InlineData("version: \"1.0\"\n")]
    [InlineData("version: \"1.0\"\nservices:\n")]
    [InlineData("version: \"1.0\"\nservices: []\n")]
    public void A_file_without_services_gets_its_first(string yaml)
    {
        var edited = ConfigEditor.AddService(yaml, Api);

        Assert.Equal(["api"], LoadValid(edited).Services.Select(s => s.Name));
        Assert.StartsWith("version: \"1.0\"\n", edited);
    }

    [Theory]
    [InlineData("services: [{name: a, technology: tcp, local_port: 1, remote_port: 2, connection: {host: h}}]\n", "a", "flow style")]
    [InlineData("services:\n  - name: a\n    technology: tcp\n    local_port: 1\n    remote_port: 2\n    connection: {host: h}\n", "a", "only service")]
    [InlineData("services:\n  - name: a\n    technology: tcp\n    local_port: 1\n    remote_port: 2\n    connection: {host: h}\n", "zz", "no service named 'zz'")]
    [InlineData("services: [\n", "a", "not valid YAML")]
    public void What_cannot_be_edited_safely_is_refused_with_a_reason(string yaml, string name, string reason)
    {
        var error = Assert.Throws<ConfigEditException>(() => ConfigEditor.RemoveService(yaml, name));

        Assert.Contains(reason, error.Message);
    }

    [Fact]
    public void Adding_a_name_that_exists_is_refused()
    {
        var error = Assert.Throws<ConfigEditException>(() => ConfigEditor.AddService(File, Api with { Name = "db" }));

        Assert.Contains("already configured", error.Message);
    }
}
