using System.Text.RegularExpressions;

namespace LocalPort.Core.Forwarding;

/// <summary>
/// kubectl's last words without the noise: klog lines ("E1125 13:08:48.869457 31048 file.go:265] …") and its
/// progress lines ("Forwarding from …", "Handling connection for …") are dropped when it also said something else.
/// </summary>
public static partial class KubectlOutput
{
    [GeneratedRegex(@"^[IWEF]\d{4} \d\d:\d\d:\d\d\.\d+ +\d+ [^\]]+\] ")]
    private static partial Regex KlogLine();

    private static readonly string[] ProgressLines = ["Forwarding from ", "Handling connection for "];

    public static string Summary(IReadOnlyList<string> lines)
    {
        var said = lines.Where(l => !string.IsNullOrWhiteSpace(l) && !KlogLine().IsMatch(l)
            && !ProgressLines.Any(p => l.StartsWith(p, StringComparison.Ordinal))).ToList();
        return string.Join(" | ", said.Count > 0 ? said : lines);
    }
}
