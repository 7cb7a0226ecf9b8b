using System.Globalization;
using System.Xml.Linq;
using LocalPort.Core.Chaos;

namespace LocalPort.Cli.Chaos;

/// <summary>
/// A scenario run as JUnit XML for CI systems: one testsuite per scenario, one testcase per step (named
/// by its line and what it does); failed steps carry a failure, not-applicable ones are skipped.
/// </summary>
public static class JUnitReport
{
    public static XDocument Build(Scenario scenario, IReadOnlyList<StepResult> results, DateTimeOffset startedAt)
    {
        var failures = results.Count(r => r.Outcome == StepOutcome.Failed);
        var skipped = results.Count(r => r.Outcome == StepOutcome.NotApplicable);
        var total = results.Count == 0 ? TimeSpan.Zero : results[^1].StartedAt + results[^1].Duration;
        var className = "chaos." + Path.GetFileNameWithoutExtension(scenario.File);
        var suite = new XElement("testsuite",
            new XAttribute("name", scenario.Name),
            new XAttribute("tests", results.Count),
            new XAttribute("failures", failures),
            new XAttribute("errors", 0),
            new XAttribute("skipped", skipped),
            new XAttribute("time", Seconds(total)),
            new XAttribute("timestamp", startedAt.ToString("yyyy-MM-ddTHH:mm:ss", CultureInfo.InvariantCulture)),
            new XAttribute("file", scenario.File),
            results.Select(r => TestCase(r, className)));
        return new XDocument(new XDeclaration("1.0", "utf-8", null),
            new XElement("testsuites",
                new XAttribute("name", "localport chaos"),
                new XAttribute("tests", results.Count),
                new XAttribute("failures", failures),
                new XAttribute("skipped", skipped),
                new XAttribute("time", Seconds(total)),
                suite));
    }

    private static XElement TestCase(StepResult result, string className)
    {
        var element = new XElement("testcase",
            new XAttribute("classname", className),
            new XAttribute("name", Name(result.Step)),
            new XAttribute("time", Seconds(result.Duration)),
            new XElement("system-out", $"started at {Seconds(result.StartedAt)}s: {result.Detail}"));
        if (result.Outcome == StepOutcome.Failed)
            element.AddFirst(new XElement("failure", new XAttribute("message", result.Detail), new XAttribute("type", "expectation"), result.Detail));
        else if (result.Outcome == StepOutcome.NotApplicable)
            element.AddFirst(new XElement("skipped", new XAttribute("message", result.Detail)));
        return element;
    }

    public static string Name(ScenarioStep step) => $"line {step.Line}: {step.Describe()}";

    public static void Save(XDocument document, string path)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (directory is not null) Directory.CreateDirectory(directory);
        // No byte-order mark: some CI parsers read it as content before the XML declaration.
        using var writer = System.Xml.XmlWriter.Create(path, new System.Xml.XmlWriterSettings { Encoding = new System.Text.UTF8Encoding(false), Indent = true });
        document.Save(writer);
    }

    private static string Seconds(TimeSpan time) => time.TotalSeconds.ToString("0.000", CultureInfo.InvariantCulture);
}
