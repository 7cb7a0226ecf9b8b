using System.CommandLine;
using LocalPort.Actors.Hosting;
using LocalPort.Cli.Common;
using LocalPort.Cli.Daemon;
using LocalPort.Core;
using LocalPort.Core.Processes;

namespace LocalPort.Cli.Commands;

/// <summary>
/// `localport daemon install [--systemd|--launchd] [--print]` and `daemon uninstall`: a user unit or LaunchAgent that runs
/// `daemon start --foreground` with this localport and this config, both absolute. Nothing here runs systemctl or
/// launchctl: the commands to run next are printed.
/// </summary>
public static class ServiceManagerCommands
{
    private enum Manager { Systemd, Launchd }

    private static readonly Option<bool> Systemd = new("--systemd") { Description = "A systemd user unit (the default on Linux)" };
    private static readonly Option<bool> Launchd = new("--launchd") { Description = "A launchd LaunchAgent (the default on macOS)" };
    private static readonly Option<bool> Print = new("--print") { Description = "Print the file instead of writing it" };
    private static readonly Option<bool> JsonLogs = new("--log-json") { Description = "The daemon writes its log as JSON" };

    public static IEnumerable<Command> Create()
    {
        var install = new Command("install", "Write a systemd user unit or launchd agent that runs the daemon at login");
        foreach (var option in new Option[] { Systemd, Launchd, Print, JsonLogs }) install.Options.Add(option);
        install.SetAction(parse => Install(parse));
        var uninstall = new Command("uninstall", "Remove the unit or agent `daemon install` wrote");
        uninstall.Options.Add(Systemd);
        uninstall.Options.Add(Launchd);
        uninstall.SetAction(parse => Uninstall(parse));
        return [install, uninstall];
    }

    private static string Home => ConfigResolver.Home;

    private static Manager? Choose(ParseResult parse)
    {
        var systemd = parse.GetValue(Systemd);
        var launchd = parse.GetValue(Launchd);
        if (systemd && launchd)
        {
            Console.Error.WriteLine("error: --systemd or --launchd, not both");
            return null;
        }
        if (systemd || OperatingSystem.IsLinux() && !launchd) return Manager.Systemd;
        if (launchd || OperatingSystem.IsMacOS()) return Manager.Launchd;
        Console.Error.WriteLine("error: say --systemd or --launchd (Windows services are not supported yet)");
        return null;
    }

    private static string UnitPath(Manager manager) => manager == Manager.Systemd
        ? Path.Combine(SystemdUnit.Directory(Environment.GetEnvironmentVariable, Home), SystemdUnit.FileName)
        : LaunchdPlist.PathFor(Home);

    private static int Install(ParseResult parse)
    {
        if (Choose(parse) is not { } manager) return ExitCodes.UsageOrConfig;
        var config = ConfigResolver.Load(parse, Console.Error);
        if (config is null) return ExitCodes.UsageOrConfig;
        var (program, prefix) = DaemonLauncher.Self();
        if (!Path.IsPathRooted(program))
        {
            Console.Error.WriteLine($"error: cannot tell this localport's absolute path (got '{program}')");
            return ExitCodes.Failure;
        }
        var command = new List<string> { program };
        command.AddRange(prefix);
        command.AddRange(["daemon", "start", "--foreground", "--config", Path.GetFullPath(config.SourcePath!)]);
        if (parse.GetValue(JsonLogs)) command.Add("--log-json");
        if (parse.GetValue(GlobalOptions.TrustConfig)) command.Add("--trust-config");
        var spec = new ServiceUnitSpec(command, ServiceUnitSpec.CarriedEnvironment(Environment.GetEnvironmentVariable),
            LocalPortHocon.PhaseTimeoutSum(config.Shutdown) + ServiceUnitSpec.StopMargin);
        var paths = LocalPortPaths.FromEnvironment();
        var launchdLog = Path.Combine(paths.LogDirectory, "launchd.log");
        string content;
        try
        {
            content = manager == Manager.Systemd ? SystemdUnit.Render(spec) : LaunchdPlist.Render(spec, launchdLog);
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return ExitCodes.UsageOrConfig;
        }

        var path = UnitPath(manager);
        if (parse.GetValue(Print))
        {
            Console.Write(content);
            Console.Error.WriteLine($"(not written; `localport daemon install{(manager == Manager.Launchd ? " --launchd" : "")}` writes it to {path})");
            return ExitCodes.Ok;
        }
        EnsureTrustedDirectory(Path.GetDirectoryName(path)!);
        LocalPortPaths.RefuseLink(path);
        var replaced = File.Exists(path);
        LocalPortPaths.WriteAtomically(path, content);
        Console.WriteLine($"{(replaced ? "replaced" : "wrote")} {path}");
        if (manager == Manager.Systemd)
        {
            Console.WriteLine($"next:   systemctl --user daemon-reload && systemctl --user enable --now {SystemdUnit.Name}");
            Console.WriteLine($"then:   systemctl --user status {SystemdUnit.Name}   reload: systemctl --user reload {SystemdUnit.Name}   " +
                              $"log: journalctl --user -u {SystemdUnit.Name} (and {paths.DaemonLog})");
        }
        else
        {
            // launchd opens this file for the agent's output: it exists, private, before launchd creates it with its own mode.
            paths.EnsurePrivateDirectories();
            LocalPortPaths.EnsurePrivateFile(launchdLog);
            Console.WriteLine($"next:   launchctl bootstrap gui/$(id -u) {path}");
            Console.WriteLine($"then:   launchctl print gui/$(id -u)/{LaunchdPlist.Label}   reload: launchctl kill SIGHUP gui/$(id -u)/{LaunchdPlist.Label}   " +
                              $"log: {paths.DaemonLog}");
        }
        return ExitCodes.Ok;
    }

    private static int Uninstall(ParseResult parse)
    {
        if (Choose(parse) is not { } manager) return ExitCodes.UsageOrConfig;
        var path = UnitPath(manager);
        LocalPortPaths.RefuseLink(path);
        if (!File.Exists(path))
        {
            Console.Error.WriteLine($"not installed: {path} does not exist");
            return ExitCodes.Ok;
        }
        if (manager == Manager.Systemd)
        {
            // What `systemctl --user enable` made from [Install]: left behind, it would point at nothing.
            foreach (var link in EnablementLinks(Path.GetDirectoryName(path)!, path))
            {
                File.Delete(link);
                Console.WriteLine($"removed {link}");
            }
        }
        File.Delete(path);
        Console.WriteLine($"removed {path}");
        Console.WriteLine(manager == Manager.Systemd
            ? $"next:   systemctl --user stop {SystemdUnit.Name}; systemctl --user daemon-reload"
            : $"next:   launchctl bootout gui/$(id -u)/{LaunchdPlist.Label}");
        return ExitCodes.Ok;
    }

    /// <summary>Symbolic links named like the unit in its directory's *.wants/ folders that point at the unit itself.</summary>
    private static IEnumerable<string> EnablementLinks(string unitDirectory, string unitPath) =>
        Directory.EnumerateDirectories(unitDirectory, "*.wants")
            .Select(wants => Path.Combine(wants, SystemdUnit.FileName))
            .Where(link => new FileInfo(link).LinkTarget is { } target &&
                           Path.GetFullPath(target, Path.GetDirectoryName(link)!) == Path.GetFullPath(unitPath))
            .ToList();

    /// <summary>
    /// The unit's directory: created private when missing; when it exists, it must be ours and writable by no one else
    /// (someone who can write there can swap the program the manager runs for us). An existing one keeps its mode.
    /// </summary>
    private static void EnsureTrustedDirectory(string directory)
    {
        LocalPortPaths.RefuseLink(directory);
        if (!Directory.Exists(directory))
            Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        if (FileStatus.OfEntry(directory) is not { } status) return;
        if (status.OwnerId is { } owner && owner != Posix.EffectiveUserId)
            throw new UntrustedPathException($"{directory} belongs to uid {owner}, not to you (uid {Posix.EffectiveUserId}); not writing a unit there");
        if (status.WritableByOthers)
            throw new UntrustedPathException($"{directory} is writable by {status.OtherWriters} (mode {status.OctalMode}); not writing a unit there. Fix: `chmod go-w {directory}`");
    }
}
