using System.Collections;
using LocalPort.Core.Config;

namespace LocalPort.Core.Tests.Config;

/// <summary>Loads inline YAML with an injected environment, and compares configs structurally.</summary>
internal static class ConfigTestKit
{
    public const string Home = "/home/tester";

    public static ConfigLoadResult Load(string yaml, IReadOnlyDictionary<string, string>? env = null, bool strict = false) =>
        ConfigLoader.LoadText(yaml, "test.yaml", Options(env, strict));

    public static LoadOptions Options(IReadOnlyDictionary<string, string>? env = null, bool strict = false) => new()
    {
        Strict = strict,
        GetEnv = name => env is not null && env.TryGetValue(name, out var value) ? value : null,
        HomeDirectory = Home,
    };

    /// <summary>Loads text that must be valid; a failure shows every diagnostic.</summary>
    public static LocalPortConfig LoadValid(string yaml, IReadOnlyDictionary<string, string>? env = null)
    {
        var result = Load(yaml, env);
        Assert.True(result.Ok, "expected a valid config, got:\n" + string.Join("\n", result.Diagnostics));
        return result.Config!;
    }

    public static ServiceSpec OnlyService(string yaml, IReadOnlyDictionary<string, string>? env = null) =>
        Assert.Single(LoadValid(yaml, env).Services);

    /// <summary>The one diagnostic of that severity whose message contains <paramref name="text"/>.</summary>
    public static ConfigDiagnostic Diagnostic(ConfigLoadResult result, Severity severity, string text)
    {
        var matches = result.Diagnostics.Where(d => d.Severity == severity && d.Message.Contains(text, StringComparison.Ordinal)).ToList();
        Assert.True(matches.Count == 1,
            $"expected one {severity} containing \"{text}\", found {matches.Count} in:\n" + string.Join("\n", result.Diagnostics));
        return matches[0];
    }

    public static ConfigDiagnostic Error(ConfigLoadResult result, string text) => Diagnostic(result, Severity.Error, text);

    public static ConfigDiagnostic Warning(ConfigLoadResult result, string text) => Diagnostic(result, Severity.Warning, text);

    /// <summary>A service block with everything required, for tests that vary one thing.</summary>
    public static string TcpService(string name = "web", int localPort = 8080, string extra = "") => $"""
          - name: {name}
            technology: tcp
            local_port: {localPort}
            remote_port: 80
            connection:
              host: example.com
        {extra}
        """;

    /// <summary>
    /// Structural equality for config records: lists and dictionaries by content, secrets by
    /// <paramref name="secretsEqual"/> (exports mask them, so a round trip only keeps their presence).
    /// </summary>
    public static void AssertEquivalent(object? expected, object? actual, Func<Secret, Secret, bool> secretsEqual, string path = "config")
    {
        if (expected is null || actual is null)
        {
            Assert.True(expected is null && actual is null, $"{path}: expected {expected ?? "null"}, got {actual ?? "null"}");
            return;
        }
        switch (expected)
        {
            case Secret secret:
                Assert.True(actual is Secret other && secretsEqual(secret, other), $"{path}: secrets differ");
                return;
            case string or ValueType:
                Assert.True(expected.Equals(actual), $"{path}: expected {expected}, got {actual}");
                return;
            case IDictionary dictionary:
                var otherDictionary = Assert.IsAssignableFrom<IDictionary>(actual);
                Assert.True(dictionary.Count == otherDictionary.Count, $"{path}: expected {dictionary.Count} entries, got {otherDictionary.Count}");
                foreach (DictionaryEntry entry in dictionary)
                {
                    Assert.True(otherDictionary.Contains(entry.Key), $"{path}: key {entry.Key} is missing");
                    AssertEquivalent(entry.Value, otherDictionary[entry.Key], secretsEqual, $"{path}[{entry.Key}]");
                }
                return;
            case IEnumerable sequence:
                var left = sequence.Cast<object?>().ToList();
                var right = Assert.IsAssignableFrom<IEnumerable>(actual).Cast<object?>().ToList();
                Assert.True(left.Count == right.Count, $"{path}: expected {left.Count} items, got {right.Count}");
                for (var i = 0; i < left.Count; i++) AssertEquivalent(left[i], right[i], secretsEqual, $"{path}[{i}]");
                return;
        }
        Assert.True(expected.GetType() == actual.GetType(), $"{path}: expected {expected.GetType().Name}, got {actual.GetType().Name}");
        foreach (var property in expected.GetType().GetProperties(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Instance).Where(p => p.GetIndexParameters().Length == 0))
        {
            // SourcePath says where it was read from; Enabled is derived from Services.
            if (expected is LocalPortConfig && property.Name is nameof(LocalPortConfig.SourcePath) or nameof(LocalPortConfig.Enabled)) continue;
            AssertEquivalent(property.GetValue(expected), property.GetValue(actual), secretsEqual, $"{path}.{property.Name}");
        }
    }
}
