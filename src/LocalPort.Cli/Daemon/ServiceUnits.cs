using System.Text;
using System.Xml.Linq;
using LocalPort.Core;

namespace LocalPort.Cli.Daemon;

/// <summary>
/// What a service manager needs to run the daemon: the absolute command line (`localport daemon start --foreground
/// --config FILE`), the few variables that choose its files and programs, and how long a stop may take.
/// </summary>
public sealed record ServiceUnitSpec(IReadOnlyList<string> Command, IReadOnlyList<KeyValuePair<string, string>> Environment, TimeSpan StopTimeout)
{
    /// <summary>
    /// Time beyond the shutdown phases: the host's own margin (the rest of CoordinatedShutdown), then 5 s for the
    /// process to kill what is left, flush its logs and exit.
    /// </summary>
    public static readonly TimeSpan StopMargin = Actors.Hosting.LocalPortHostingExtensions.ShutdownMargin + TimeSpan.FromSeconds(5);

    /// <summary>Variables copied from the installing shell: where state lives, which kubeconfig, where programs and .NET are.</summary>
    public static readonly string[] CarriedVariables =
        ["LOCALPORT_HOME", LocalPortPaths.RuntimeDirectoryVariable, "XDG_STATE_HOME", "XDG_RUNTIME_DIR", "KUBECONFIG", "DOTNET_ROOT", "PATH"];

    /// <summary>Whole seconds, rounded up: a service manager's timeouts are coarser than ours.</summary>
    public int StopTimeoutSeconds => (int)Math.Ceiling(StopTimeout.TotalSeconds);

    /// <summary>
    /// The carried variables that are set, as absolute paths (the daemon runs from /); PATH keeps only its absolute
    /// entries, since a relative one would be searched from / and mean something else.
    /// </summary>
    public static IReadOnlyList<KeyValuePair<string, string>> CarriedEnvironment(Func<string, string?> getEnv)
    {
        var carried = new List<KeyValuePair<string, string>>();
        foreach (var name in CarriedVariables)
        {
            if (getEnv(name) is not { Length: > 0 } value) continue;
            var entries = name is "PATH" or "KUBECONFIG" ? value.Split(':', StringSplitOptions.RemoveEmptyEntries) : [value];
            var kept = name == "PATH"
                ? entries.Where(Path.IsPathRooted).Distinct(StringComparer.Ordinal)
                : entries.Select(Path.GetFullPath);
            var joined = string.Join(':', kept);
            if (joined.Length > 0) carried.Add(new(name, joined));
        }
        return carried;
    }
}

/// <summary>A systemd user unit: Type=notify (LocalPort sends READY=1 once its forwards serve), SIGHUP reloads.</summary>
public static class SystemdUnit
{
    public const string FileName = "localport.service";
    public const string Name = "localport";
    /// <summary>systemd kills a service that has not pinged in this time (LocalPort pings every half of it).</summary>
    public static readonly TimeSpan Watchdog = TimeSpan.FromSeconds(30);

    /// <summary>$XDG_CONFIG_HOME/systemd/user (default ~/.config/systemd/user): where `systemctl --user` finds units.</summary>
    public static string Directory(Func<string, string?> getEnv, string home) =>
        Path.Combine(getEnv("XDG_CONFIG_HOME") is { Length: > 0 } config ? config : Path.Combine(home, ".config"), "systemd", "user");

    public static string Render(ServiceUnitSpec spec)
    {
        var text = new StringBuilder();
        text.AppendLine("# Written by `localport daemon install --systemd`; `localport daemon uninstall` removes it.");
        text.AppendLine("[Unit]");
        text.AppendLine("Description=LocalPort port-forward supervisor");
        text.AppendLine();
        text.AppendLine("[Service]");
        // READY=1 comes once every enabled service serves or has had its first try; STOPPING=1 when shutdown starts.
        text.AppendLine("Type=notify");
        text.AppendLine("NotifyAccess=main");
        text.AppendLine($"ExecStart={string.Join(' ', spec.Command.Select(Quote))}");
        text.AppendLine("ExecReload=/bin/kill -HUP $MAINPID");
        // SIGTERM to LocalPort alone: its four phases stop the tunnels; whatever is left after the timeout is SIGKILLed.
        text.AppendLine("KillMode=mixed");
        text.AppendLine($"TimeoutStopSec={spec.StopTimeoutSeconds}");
        text.AppendLine("Restart=on-failure");
        text.AppendLine("RestartSec=2");
        text.AppendLine($"WatchdogSec={(int)Watchdog.TotalSeconds}");
        text.AppendLine("UMask=0077");
        foreach (var (name, value) in spec.Environment) text.AppendLine($"Environment={Quote($"{name}={value}", expandsVariables: false)}");
        text.AppendLine();
        text.AppendLine("[Install]");
        text.AppendLine("WantedBy=default.target");
        return text.ToString();
    }

    /// <summary>
    /// One word of a unit line: as is when plain, else in double quotes with \ and " escaped. % (specifiers) is doubled
    /// everywhere, $ (variable expansion) only on command lines.
    /// </summary>
    public static string Quote(string word) => Quote(word, expandsVariables: true);

    private static string Quote(string word, bool expandsVariables)
    {
        if (word.Any(char.IsControl)) throw new ArgumentException($"a control character in '{word.ReplaceLineEndings(" ")}' cannot go in a unit file");
        var escaped = word.Replace("%", "%%");
        if (expandsVariables) escaped = escaped.Replace("$", "$$");
        if (escaped.Length > 0 && escaped.All(c => char.IsAsciiLetterOrDigit(c) || "/._-+:,=@%$".Contains(c))) return escaped;
        return "\"" + escaped.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";
    }
}

/// <summary>A launchd LaunchAgent: started at login, restarted when it exits with an error, SIGTERM then SIGKILL after ExitTimeOut.</summary>
public static class LaunchdPlist
{
    public const string Label = "localport";

    public static string PathFor(string home) => Path.Combine(home, "Library", "LaunchAgents", $"{Label}.plist");

    /// <param name="logPath">Where launchd sends the daemon's stdout and stderr (its own log is the daemon log).</param>
    public static string Render(ServiceUnitSpec spec, string logPath)
    {
        static XElement Key(string name) => new("key", name);
        static XElement String(string value) => new("string", value);
        var environment = new XElement("dict", spec.Environment.SelectMany(v => new[] { Key(v.Key), String(v.Value) }));
        var plist = new XElement("plist", new XAttribute("version", "1.0"),
            new XElement("dict",
                Key("Label"), String(Label),
                Key("ProgramArguments"), new XElement("array", spec.Command.Select(String)),
                Key("RunAtLoad"), new XElement("true"),
                // Restarted after a crash or a failed start, not after `daemon stop` (exit 0).
                Key("KeepAlive"), new XElement("dict", Key("SuccessfulExit"), new XElement("false")),
                Key("ExitTimeOut"), new XElement("integer", spec.StopTimeoutSeconds),
                // 077: what the daemon and launchd create for it is private.
                Key("Umask"), new XElement("integer", Convert.ToInt32("077", 8)),
                Key("EnvironmentVariables"), environment,
                Key("StandardOutPath"), String(logPath),
                Key("StandardErrorPath"), String(logPath)));
        var document = new XDocument(new XDeclaration("1.0", "UTF-8", null),
            new XDocumentType("plist", "-//Apple//DTD PLIST 1.0//EN", "http://www.apple.com/DTDs/PropertyList-1.0.dtd", null),
            plist);
        using var writer = new Utf8StringWriter();
        document.Save(writer);
        return writer + Environment.NewLine;
    }

    private sealed class Utf8StringWriter : StringWriter
    {
        public override Encoding Encoding => Encoding.UTF8;
    }
}
