using System.Globalization;
using YamlDotNet.RepresentationModel;

namespace LocalPort.Core.Config;

/// <summary>
/// Typed reads of scalar values: env substitution first, then conversion, each problem
/// reported at the value's line:column with the value and the fix. A bad value yields the default,
/// which is harmless because a load with errors returns no config.
/// </summary>
internal sealed class YamlNodeReader(DiagnosticBag bag, LoadOptions options)
{
    /// <summary>Configured durations stay below this, so timers and Task.Delay can take them.</summary>
    public static readonly TimeSpan MaxDuration = TimeSpan.FromHours(24);

    private const string DurationForms = "use seconds (5, 1.5) or a number with a unit (500ms, 2s, 1m, 1h)";

    /// <summary>The text of a scalar after env substitution; null for an absent, null or non-scalar value.</summary>
    public string? Text(ConfigField field, bool required = false) => Expand(field, required, out _);

    public string? OptionalString(ConfigSection section, string key)
    {
        if (section.Get(key) is not { } field) return null;
        var text = Text(field);
        return string.IsNullOrWhiteSpace(text) ? null : text;
    }

    /// <summary>
    /// An optional value that becomes one argv entry or a file name: no control character at all, not even the tab
    /// or line break that free text may hold.
    /// </summary>
    public string? OptionalArgument(ConfigSection section, string key)
    {
        var value = OptionalString(section, key);
        return value is null || IsArgument(section.Get(key)!.Value, value) ? value : null;
    }

    /// <summary>False, and reported, when <paramref name="value"/> holds a tab or line break (other controls never get here).</summary>
    public bool IsArgument(ConfigField field, string value)
    {
        var at = ControlCharacters.IndexOf(value);
        if (at < 0) return true;
        bag.Error(field.Node.Start,
            $"{field.Path}: contains the control character {ControlCharacters.Name(value[at])} at character {at + 1}; this value is passed as one argument or file name, so remove it");
        return false;
    }

    /// <param name="fix">How to supply the value, for the message when it is missing.</param>
    public string? RequiredString(ConfigSection section, string key, string fix)
    {
        if (section.Get(key) is not { } field)
        {
            bag.Error(section.Start, $"{section.Path}.{key} is missing; {fix}");
            return null;
        }
        var text = Expand(field, required: true, out var reported);
        if (!string.IsNullOrWhiteSpace(text)) return text;
        if (!reported) bag.Error(field.Node.Start, $"{field.Path} is empty; {fix}");
        return null;
    }

    public int Int(ConfigSection section, string key, int fallback, int min, int max)
    {
        if (!TryValue(section, key, out var field, out var text)) return fallback;
        return ParseInt(field, text, min, max) ?? fallback;
    }

    public int? RequiredPort(ConfigSection section, string key)
    {
        if (section.Get(key) is not { } field)
        {
            bag.Error(section.Start, $"{section.Path}.{key} is missing; add a port number 1-65535");
            return null;
        }
        var text = Expand(field, required: true, out var reported);
        if (!string.IsNullOrWhiteSpace(text)) return ParseInt(field, text, 1, 65535);
        if (!reported) bag.Error(field.Node.Start, $"{field.Path} is empty; add a port number 1-65535");
        return null;
    }

    public bool Bool(ConfigSection section, string key, bool fallback)
    {
        if (!TryValue(section, key, out var field, out var text)) return fallback;
        switch (text.Trim().ToLowerInvariant())
        {
            // YAML 1.1 spellings, which upstream's PyYAML accepted.
            case "true" or "yes" or "on": return true;
            case "false" or "no" or "off": return false;
            default:
                bag.Error(field.Node.Start, $"{field.Path}: {NodeText.Quote(text)} is not a boolean; use true or false");
                return fallback;
        }
    }

    public double Double(ConfigSection section, string key, double fallback, double min, double max)
    {
        if (!TryValue(section, key, out var field, out var text)) return fallback;
        if (!double.TryParse(text.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || !double.IsFinite(value))
        {
            bag.Error(field.Node.Start, $"{field.Path}: {NodeText.Quote(text)} is not a number; use {Range(min, max)}");
            return fallback;
        }
        if (value < min || value > max)
        {
            bag.Error(field.Node.Start, $"{field.Path}: {text.Trim()} is out of range; use {Range(min, max)}");
            return fallback;
        }
        return value;
    }

    public TimeSpan Duration(ConfigSection section, string key, TimeSpan fallback, bool allowZero = false)
    {
        if (!TryValue(section, key, out var field, out var text)) return fallback;
        if (!Durations.TryParse(text, out var value))
        {
            bag.Error(field.Node.Start, $"{field.Path}: {NodeText.Quote(text)} is not a duration; {DurationForms}");
            return fallback;
        }
        if (value == TimeSpan.Zero && !allowZero)
        {
            bag.Error(field.Node.Start, $"{field.Path}: {text.Trim()} must be longer than zero; {DurationForms}");
            return fallback;
        }
        if (value > MaxDuration)
        {
            bag.Error(field.Node.Start, $"{field.Path}: {text.Trim()} is too long; use at most 24h");
            return fallback;
        }
        return value;
    }

    /// <summary>A list of scalars; null when absent.</summary>
    public IReadOnlyList<(string Text, ConfigField Field)>? List(ConfigSection section, string key)
    {
        if (section.Get(key) is not { } field || NodeText.IsNull(field.Node)) return null;
        if (field.Node is not YamlSequenceNode sequence)
        {
            bag.Error(field.Node.Start, $"{field.Path}: expected a list such as [a, b], found {NodeText.Describe(field.Node)}");
            return null;
        }
        var items = new List<(string, ConfigField)>();
        for (var i = 0; i < sequence.Children.Count; i++)
        {
            var item = new ConfigField(sequence.Children[i], $"{field.Path}[{i}]");
            var text = Text(item, required: true);
            if (!string.IsNullOrWhiteSpace(text)) items.Add((text, item));
            else if (NodeText.IsNull(item.Node)) bag.Error(item.Node.Start, $"{item.Path}: an empty item; remove it or give it a value");
        }
        return items;
    }

    public int? ParseInt(ConfigField field, string text, int min, int max)
    {
        var trimmed = text.Trim();
        if (!long.TryParse(trimmed, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value))
        {
            bag.Error(field.Node.Start, $"{field.Path}: {NodeText.Quote(text)} is not a whole number; use {Range(min, max)}");
            return null;
        }
        if (value < min || value > max)
        {
            bag.Error(field.Node.Start, $"{field.Path}: {trimmed} is out of range; use {Range(min, max)}");
            return null;
        }
        return (int)value;
    }

    /// <summary>A present, non-blank value; a variable that expanded to nothing counts as absent.</summary>
    private bool TryValue(ConfigSection section, string key, out ConfigField field, out string text)
    {
        field = default;
        text = "";
        if (section.Get(key) is not { } found) return false;
        field = found;
        text = Text(found) ?? "";
        return !string.IsNullOrWhiteSpace(text);
    }

    private string? Expand(ConfigField field, bool required, out bool reported)
    {
        reported = false;
        if (NodeText.IsNull(field.Node)) return null;
        if (field.Node is not YamlScalarNode scalar)
        {
            bag.Error(field.Node.Start, $"{field.Path}: expected a single value, found {NodeText.Describe(field.Node)}");
            reported = true;
            return null;
        }

        var expansion = EnvSubstitution.Expand(scalar.Value ?? "", options.GetEnv);
        foreach (var bad in expansion.Malformed)
            bag.Warning(scalar.Start, $"{field.Path}: {NodeText.Quote(bad)} is not a variable reference and is kept as written; use ${{NAME}} for a variable or $$ for a literal $");

        var missingRequired = required && string.IsNullOrWhiteSpace(expansion.Value);
        foreach (var name in expansion.UnsetVariables)
        {
            reported = true;
            if (missingRequired)
                bag.Error(scalar.Start, $"{field.Path}: environment variable {name} is not set and this value is required; set it or give a default: ${{{name}:value}}");
            else
                bag.Add(options.Strict ? Severity.Error : Severity.Warning, scalar.Start,
                    $"{field.Path}: environment variable {name} is not set");
        }
        // NUL would cut an argument short at exec, ESC would reach the terminal; only tab and line breaks are text.
        var at = ControlCharacters.IndexOf(expansion.Value, allowLineWhitespace: true);
        if (at >= 0)
        {
            bag.Error(scalar.Start,
                $"{field.Path}: contains the control character {ControlCharacters.Name(expansion.Value[at])} at character {at + 1}; remove it");
            reported = true;
            return null;
        }
        return expansion.Value;
    }

    private static string Range(double min, double max) =>
        max >= int.MaxValue ? $"a value of at least {min.ToString(CultureInfo.InvariantCulture)}"
        : $"{min.ToString(CultureInfo.InvariantCulture)}-{max.ToString(CultureInfo.InvariantCulture)}";
}
