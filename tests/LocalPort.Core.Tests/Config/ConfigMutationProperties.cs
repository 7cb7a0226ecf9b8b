using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using LocalPort.Core.Config;

namespace LocalPort.Core.Tests.Config;

/// <summary>Broken files of every kind: the loader must answer with a config or with located errors, never an exception.</summary>
public sealed class ConfigMutationProperties
{
    private static readonly string[] ValidConfigs =
    [
        ConfigTemplates.Init,
        """
        version: "1.0"
        defaults:
          health_check: {type: tcp, interval: 15, timeout: 3.0, failure_threshold: 2}
          restart_policy: {max_attempts: 3, backoff_multiplier: 1.5, initial_delay: 1, max_delay: 30}
        services:
          - name: dev-postgres
            technology: kubectl
            local_port: 5432
            remote_port: 5432
            connection: {resource_name: postgres, namespace: development, context: "${CTX:kind-dev}"}
            tags: [database, development]
            health_check:
              type: postgres
              config: {database: "${DB:devdb}", user: dev, password: "${PW}", host: localhost, port: 5432}
          - name: api
            technology: ssh
            local_port: 8080
            remote_port: 8080
            enabled: false
            connection:
              host: ${API_HOST:api.example.com}
              key_file: ~/.ssh/key
              options: {ServerAliveInterval: 10}
            health_check:
              type: http
              config:
                url: "http://localhost:8080/health"
                expected_status: 200
                headers: {Authorization: "Bearer $${literal}"}
        shutdown: {stop_new_work: 500ms, cancel_tasks: 10s}
        """,
        """
        services:
          test-service:
            name: "test-service"
            local_port: 8080
            technology: "ssh"
            connection: {host: "localhost", port: 22, user: "testuser"}
            remote_port: 80
            enabled: false
            health_check:
              enabled: false
          relay:
            technology: tcp
            local_port: 8081
            remote_port: 80
            connection: {host: example.com}
            health_check: {type: exec, config: {command: "nc -z 'localhost' 8081"}}
        """,
    ];

    private static readonly string[] Fragments =
    [
        "", " ", "-1", "0", "70000", "1.5", "1e999", "99999999999999999999", "-", "- ", ": ", "? ", "#", "'", "\"",
        "[", "]", "{", "}", ",", "&a", "*a", "*undefined", "!!binary x", "!custom", "<<: *a", "|", ">", "~", "null", "yes",
        "${X}", "${", "$$", "${X:-${Y}}", "%YAML 1.2", "---", "...", "\t", "\r", "\0", "é", "\ud800", "ssh", "kubectl",
        "services:", "connection:", "health_check: {type: exec}", "[[[[", "0x1F", "500ms", "-1s",
    ];

    private sealed record Mutation(int Kind, int Position, int Amount, string Text);

    private sealed record Case(int ConfigIndex, Mutation[] Mutations, bool Strict)
    {
        public override string ToString() => $"config {ConfigIndex}, strict {Strict}: {string.Join(", ", Mutations.Select(m => m.ToString()))}";
    }

    private static readonly Gen<string> AnyText =
        Gen.OneOf(Gen.Elements(Fragments), ArbMap.Default.ArbFor<string>().Generator.Select(s => s ?? ""));

    private static readonly Gen<Mutation> AnyMutation =
        from kind in Gen.Choose(0, 6)
        from position in Gen.Choose(0, 100_000)
        from amount in Gen.Choose(-4, 4)
        from text in AnyText
        select new Mutation(kind, position, amount, text);

    private static readonly Gen<Case> AnyCase =
        from config in Gen.Choose(0, ValidConfigs.Length - 1)
        from mutations in Gen.Choose(1, 5).SelectMany(n => Gen.ArrayOf(AnyMutation, n))
        from strict in Gen.Elements(false, true)
        select new Case(config, mutations, strict);

    [Property(MaxTest = 1000)]
    public Property Mutated_configs_never_throw_and_every_rejection_is_located()
    {
        return Prop.ForAll(Arb.From(AnyCase), testCase =>
        {
            var yaml = testCase.Mutations.Aggregate(ValidConfigs[testCase.ConfigIndex], Apply);
            var options = new LoadOptions
            {
                Strict = testCase.Strict,
                GetEnv = name => name == "X" ? "a: b\n- c" : null,
                HomeDirectory = "/home/fuzz",
            };

            var result = ConfigLoader.LoadText(yaml, "fuzz.yaml", options);

            var accepted = result.Config is not null && !result.Errors.Any();
            var rejected = result.Config is null && result.Errors.Any();
            var sound = (accepted || rejected)
                && result.Diagnostics.All(d => d.Line >= 1 && d.Column >= 1 && d.File == "fuzz.yaml" && d.Message.Length > 0)
                && !result.Diagnostics.Any(d => d.Message.Contains("internal error", StringComparison.Ordinal));
            Assert.True(sound, $"config: {result.Config is not null}\n{string.Join("\n", result.Diagnostics)}\n--- yaml ---\n{yaml}");
        });
    }

    [Fact]
    public void Every_seed_config_is_valid_before_it_is_mutated()
    {
        foreach (var yaml in ValidConfigs)
            Assert.True(ConfigTestKit.Load(yaml).Ok, string.Join("\n", ConfigTestKit.Load(yaml).Diagnostics));
    }

    private static string Apply(string yaml, Mutation mutation)
    {
        var lines = yaml.Split('\n').ToList();
        var line = mutation.Position % lines.Count;
        switch (mutation.Kind)
        {
            case 0: // delete a line
                lines.RemoveAt(line);
                break;
            case 1: // duplicate a line
                lines.Insert(line, lines[line]);
                break;
            case 2: // truncate
                return yaml[..(mutation.Position % (yaml.Length + 1))];
            case 3: // replace one character
                if (yaml.Length == 0) return mutation.Text;
                var at = mutation.Position % yaml.Length;
                var replacement = mutation.Text.Length > 0 ? mutation.Text[0].ToString() : "";
                return yaml[..at] + replacement + yaml[(at + 1)..];
            case 4: // swap a scalar value for random text
                var colon = lines[line].IndexOf(": ", StringComparison.Ordinal);
                lines[line] = colon < 0 ? lines[line] + mutation.Text : lines[line][..(colon + 2)] + mutation.Text;
                break;
            case 5: // change indentation
                lines[line] = mutation.Amount >= 0
                    ? new string(' ', mutation.Amount) + lines[line]
                    : lines[line][Math.Min(-mutation.Amount, lines[line].Length - lines[line].TrimStart(' ').Length)..];
                break;
            default: // insert random text
                var insertAt = mutation.Position % (yaml.Length + 1);
                return yaml[..insertAt] + mutation.Text + yaml[insertAt..];
        }
        return string.Join('\n', lines);
    }
}
