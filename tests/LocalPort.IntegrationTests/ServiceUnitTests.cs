using System.Text;
using System.Xml.Linq;
using LocalPort.IntegrationTests.Fixtures;

namespace LocalPort.IntegrationTests;

/// <summary>
/// `localport daemon install --systemd|--launchd [--print]` and `daemon uninstall`: the files' content, parsed as the
/// manager would read it, and where and how they are written. No systemctl or launchctl runs (neither manager is here).
/// </summary>
public sealed class ServiceUnitTests(ITestOutputHelper output) : Scenario(output)
{
    private const UnixFileMode Private = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private string UnitDirectory => Path.Combine(Home, ".config", "systemd", "user");
    private string UnitPath => Path.Combine(UnitDirectory, "localport.service");
    private string PlistPath => Path.Combine(Home, "Library", "LaunchAgents", "localport.plist");

    /// <summary>How the tests run this localport (absolute): see <see cref="LocalPortProcess.Executable"/>.</summary>
    private static string[] ThisLocalPort()
    {
        var (fileName, prefix) = LocalPortProcess.Executable();
        return [fileName == "dotnet" ? "/usr/bin/dotnet" : fileName, .. prefix];
    }

    private string Config(string fileName = "localport.yaml", string? shutdown = null) =>
        WriteConfig(Yaml.File(Yaml.Tcp("web", 18080, 80)) + (shutdown ?? ""), fileName);

    /// <summary>A unit file as systemd reads it: [Section] → key → values, in order (a key may repeat).</summary>
    private static Dictionary<string, List<(string Key, string Value)>> ParseUnit(string text)
    {
        var sections = new Dictionary<string, List<(string, string)>>();
        List<(string, string)>? current = null;
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#') || line.StartsWith(';')) continue;
            if (line.StartsWith('[')) { sections[line.Trim('[', ']')] = current = []; continue; }
            var (key, value) = (line[..line.IndexOf('=')], line[(line.IndexOf('=') + 1)..]);
            current!.Add((key, value));
        }
        return sections;
    }

    private static string One(Dictionary<string, List<(string Key, string Value)>> unit, string section, string key) =>
        Assert.Single(unit[section], kv => kv.Key == key).Value;

    /// <summary>Splits a command line as systemd does: whitespace between words, double quotes with \-escapes, $$ and %% for $ and %.</summary>
    private static List<string> Words(string commandLine)
    {
        var words = new List<string>();
        var word = new StringBuilder();
        bool quoted = false, inWord = false;
        for (var i = 0; i < commandLine.Length; i++)
        {
            var c = commandLine[i];
            if (quoted && c == '\\') { word.Append(commandLine[++i]); continue; }
            if (c == '"') { quoted = !quoted; inWord = true; continue; }
            if (!quoted && c == ' ')
            {
                if (inWord) words.Add(word.ToString());
                word.Clear();
                inWord = false;
                continue;
            }
            if ((c == '$' || c == '%') && i + 1 < commandLine.Length && commandLine[i + 1] == c) i++;
            word.Append(c);
            inWord = true;
        }
        if (inWord) words.Add(word.ToString());
        return words;
    }

    [Fact]
    public void The_systemd_unit_runs_this_localport_in_the_foreground_as_a_notify_service_with_the_stop_budget_of_the_phases()
    {
        // A name that needs quoting and escaping in a unit file.
        var config = Config("local port 100%.yaml", """
            shutdown:
              stop_new_work: 3s
              complete_current: 10s
              cancel_tasks: 20s
              force_cleanup: 7s
            """);
        var result = Invoke("daemon", "install", "--systemd", "--print", "-c", config);
        Output.WriteLine(result.Stdout);
        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.False(File.Exists(UnitPath), "--print wrote the unit");

        var unit = ParseUnit(result.Stdout);
        Assert.Equal("notify", One(unit, "Service", "Type"));
        Assert.Equal([.. ThisLocalPort(), "daemon", "start", "--foreground", "--config", config], Words(One(unit, "Service", "ExecStart")));
        Assert.Equal("/bin/kill -HUP $MAINPID", One(unit, "Service", "ExecReload"));
        Assert.Equal("mixed", One(unit, "Service", "KillMode"));
        // 3 + 10 + 20 + 7 s of phases, and 10 s for the host to finish.
        Assert.Equal("50", One(unit, "Service", "TimeoutStopSec"));
        Assert.Equal("on-failure", One(unit, "Service", "Restart"));
        Assert.Equal("default.target", One(unit, "Install", "WantedBy"));
        var environment = unit["Service"].Where(kv => kv.Key == "Environment").Select(kv => Words(kv.Value).Single()).ToList();
        Assert.Contains($"LOCALPORT_HOME={Path.Combine(Home, "state")}", environment);
    }

    [Fact]
    public void Default_phase_timeouts_give_a_forty_second_stop_budget()
    {
        var result = Invoke("daemon", "install", "--systemd", "--print", "-c", Config());
        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Equal("40", One(ParseUnit(result.Stdout), "Service", "TimeoutStopSec"));
    }

    [Fact]
    public void Install_writes_a_private_unit_whatever_the_umask_and_uninstall_removes_it_and_its_enablement()
    {
        var config = Config();
        var install = Own(LocalPortProcess.StartUnderUmask("000", Home, WorkingDirectory, "daemon", "install", "--systemd", "-c", config));
        Assert.True(install.WaitForExit(TimeSpan.FromSeconds(30)) == 0, install.Describe());
        Assert.Equal(Private, File.GetUnixFileMode(UnitPath));
        Assert.Equal(Private | UnixFileMode.UserExecute, File.GetUnixFileMode(UnitDirectory));
        Assert.Contains(install.Stdout, l => l.Contains("systemctl --user daemon-reload && systemctl --user enable --now localport"));
        var printed = Invoke("daemon", "install", "--systemd", "--print", "-c", config);
        Assert.Equal(printed.Stdout.TrimEnd(), File.ReadAllText(UnitPath).TrimEnd());

        // What `systemctl --user enable` leaves, and a link of another unit that must stay.
        var wants = Directory.CreateDirectory(Path.Combine(UnitDirectory, "default.target.wants")).FullName;
        File.CreateSymbolicLink(Path.Combine(wants, "localport.service"), UnitPath);
        File.WriteAllText(Path.Combine(UnitDirectory, "other.service"), "[Service]\n");
        File.CreateSymbolicLink(Path.Combine(wants, "other.service"), Path.Combine(UnitDirectory, "other.service"));

        var uninstall = Invoke("daemon", "uninstall", "--systemd");
        Output.WriteLine(uninstall.Stdout);
        Assert.True(uninstall.ExitCode == 0, uninstall.Stderr);
        Assert.False(File.Exists(UnitPath));
        Assert.Null(new FileInfo(Path.Combine(wants, "localport.service")).LinkTarget);
        Assert.NotNull(new FileInfo(Path.Combine(wants, "other.service")).LinkTarget);
        Assert.Contains("systemctl --user daemon-reload", uninstall.Stdout);

        var again = Invoke("daemon", "uninstall", "--systemd");
        Assert.Equal(0, again.ExitCode);
        Assert.Contains("not installed", again.Stderr);
    }

    [Fact]
    public void A_link_where_the_unit_goes_is_refused_and_its_target_left_alone()
    {
        Directory.CreateDirectory(UnitDirectory);
        var victim = Path.Combine(Root, "victim");
        File.WriteAllText(victim, "keep");
        File.CreateSymbolicLink(UnitPath, victim);

        var result = Invoke("daemon", "install", "--systemd", "-c", Config());

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("symbolic link", result.Stderr);
        Assert.Equal("keep", File.ReadAllText(victim));
        Assert.Equal(victim, new FileInfo(UnitPath).LinkTarget);
    }

    [Fact]
    public void The_launchd_agent_runs_this_localport_at_login_restarts_it_on_failure_and_waits_the_stop_budget()
    {
        var config = Config();
        var result = Invoke("daemon", "install", "--launchd", "--print", "-c", config);
        Output.WriteLine(result.Stdout);
        Assert.True(result.ExitCode == 0, result.Stderr);

        var document = XDocument.Parse(result.Stdout);
        Assert.Equal("plist", document.DocumentType?.Name);
        var dict = document.Root!.Element("dict")!.Elements().ToList();
        XElement Value(string key) => dict[dict.FindIndex(e => e.Name == "key" && e.Value == key) + 1];
        Assert.Equal("localport", Value("Label").Value);
        Assert.Equal([.. ThisLocalPort(), "daemon", "start", "--foreground", "--config", config],
            Value("ProgramArguments").Elements("string").Select(e => e.Value));
        Assert.Equal("true", Value("RunAtLoad").Name.LocalName);
        var keepAlive = Value("KeepAlive").Elements().ToList();
        Assert.Equal(["SuccessfulExit", "false"], keepAlive.Select(e => e.Name == "key" ? e.Value : e.Name.LocalName));
        Assert.Equal("40", Value("ExitTimeOut").Value);
        Assert.Equal("63", Value("Umask").Value);

        var install = Invoke("daemon", "install", "--launchd", "-c", config);
        Assert.True(install.ExitCode == 0, install.Stderr);
        Assert.Equal(Private, File.GetUnixFileMode(PlistPath));
        Assert.Equal(Private, File.GetUnixFileMode(Value("StandardErrorPath").Value));
        Assert.Contains("launchctl bootstrap gui/$(id -u)", install.Stdout);

        var uninstall = Invoke("daemon", "uninstall", "--launchd");
        Assert.True(uninstall.ExitCode == 0, uninstall.Stderr);
        Assert.False(File.Exists(PlistPath));
        Assert.Contains("launchctl bootout gui/$(id -u)/localport", uninstall.Stdout);
    }
}
