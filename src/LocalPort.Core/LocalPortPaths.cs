namespace LocalPort.Core;

/// <summary>Where LocalPort keeps runtime and state files. Never /tmp; directories are created private (0700).</summary>
public sealed record LocalPortPaths(string StateDirectory, string RuntimeDirectory)
{
    public string LogDirectory => Path.Combine(StateDirectory, "logs");
    public string TunnelDirectory => Path.Combine(RuntimeDirectory, "tunnels");
    /// <summary>The control API (HTTP over a Unix socket, mode 0600).</summary>
    public string ControlSocket => Path.Combine(RuntimeDirectory, "localport.sock");
    public string PidFile => Path.Combine(RuntimeDirectory, "localport.pid");
    /// <summary>Children of the running supervisor (pid + start time), so a restart can reap its own orphans.</summary>
    public string ChildrenFile => Path.Combine(StateDirectory, "children.json");
    public string DaemonLog => Path.Combine(LogDirectory, "localport.log");
    public string ServiceLog(string service) => Path.Combine(LogDirectory, $"{service}.log");

    /// <summary>Upstream localport's variable for the runtime directory (control socket, pid file, lock); wins over the rest.</summary>
    public const string RuntimeDirectoryVariable = "LOCALPORT_RUNTIME_DIR";

    public static LocalPortPaths FromEnvironment(Func<string, string?>? getEnv = null)
    {
        getEnv ??= Environment.GetEnvironmentVariable;
        var paths = FromHome(getEnv);
        var runtime = getEnv(RuntimeDirectoryVariable);
        return string.IsNullOrEmpty(runtime) ? paths : paths with { RuntimeDirectory = Path.GetFullPath(runtime) };
    }

    private static LocalPortPaths FromHome(Func<string, string?> getEnv)
    {
        var home = getEnv("HOME") ?? Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        var explicitHome = getEnv("LOCALPORT_HOME");
        // Absolute from the start: the daemon leaves the caller's working directory (it chdirs to /).
        if (!string.IsNullOrEmpty(explicitHome))
        {
            var full = Path.GetFullPath(explicitHome);
            return new LocalPortPaths(full, Path.Combine(full, "run"));
        }

        var stateHome = getEnv("XDG_STATE_HOME");
        var state = Path.Combine(string.IsNullOrEmpty(stateHome) ? Path.Combine(home, ".local", "state") : stateHome, "localport");
        var runtimeHome = getEnv("XDG_RUNTIME_DIR");
        var runtime = string.IsNullOrEmpty(runtimeHome) ? Path.Combine(state, "run") : Path.Combine(runtimeHome, "localport");
        return new LocalPortPaths(Path.GetFullPath(state), Path.GetFullPath(runtime));
    }

    /// <summary>The state directory, its logs and the runtime directory, each checked and private (before anything starts).</summary>
    public void EnsurePrivateDirectories()
    {
        EnsurePrivateDirectory(StateDirectory);
        EnsurePrivateDirectory(LogDirectory);
        EnsurePrivateDirectory(RuntimeDirectory);
    }

    private const UnixFileMode PrivateDirectoryMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    /// <summary>
    /// Creates a directory (and parents) with mode 0700 regardless of umask. One that exists must be ours and writable by
    /// nobody else (see <see cref="RefuseUntrustedDirectory"/>); a merely readable one (0755) is made 0700.
    /// </summary>
    /// <exception cref="UntrustedPathException">It is a link, belongs to someone else or others may write it.</exception>
    public static string EnsurePrivateDirectory(string path)
    {
        RefuseLink(path);
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(path);
            return path;
        }
        // Created first and checked after, so one planted between a look and the creation is caught too.
        Directory.CreateDirectory(path, PrivateDirectoryMode);
        RefuseUntrustedDirectory(path);
        File.SetUnixFileMode(path, PrivateDirectoryMode);
        return path;
    }

    /// <summary>
    /// Someone who owns or may write a state directory can plant or swap what LocalPort reads and writes there; as root,
    /// a chmod would not make another user's directory ours. Neither is fixed silently: the message says how.
    /// A group/other-writable directory is refused rather than chmod'ed, so a shared one (/tmp) is never taken over.
    /// </summary>
    private static void RefuseUntrustedDirectory(string path)
    {
        RefuseLink(path);
        if (FileStatus.OfEntry(path) is not { } status) return;
        var me = Processes.Posix.EffectiveUserId;
        if (status.OwnerId is { } owner && owner != me)
            throw new UntrustedPathException(
                $"{path} belongs to uid {owner}, not to you (uid {me}); LocalPort keeps its state only in directories of your own. " +
                $"Fix: `chown {me} {path}` if it is meant to be yours, or set LOCALPORT_HOME to a directory you own");
        if (status.WritableByOthers)
            throw new UntrustedPathException(
                $"{path} is writable by {status.OtherWriters} (mode {status.OctalMode}), so another user could plant files LocalPort would use. " +
                $"Fix: `chmod 700 {path}`, or set LOCALPORT_HOME to a private directory");
    }

    private const UnixFileMode PrivateFileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>
    /// Creates the file empty if it is missing, and leaves it 0600 either way, whatever the umask or its old mode:
    /// for files another library opens (the daemon log), so they never exist with a wider mode.
    /// </summary>
    public static string EnsurePrivateFile(string path)
    {
        RefuseLink(path);
        if (OperatingSystem.IsWindows()) return path;
        var options = new FileStreamOptions
        {
            Mode = FileMode.OpenOrCreate, Access = FileAccess.Write, Share = FileShare.ReadWrite | FileShare.Delete,
            UnixCreateMode = PrivateFileMode,
        };
        using var stream = new FileStream(path, options);
        MakePrivate(stream.SafeFileHandle);
        return path;
    }

    /// <summary>
    /// State files and directories are never followed through a symbolic link (someone else's link would make us
    /// truncate, append to or chmod its target): a link where one belongs is an error naming it.
    /// </summary>
    public static void RefuseLink(string path)
    {
        if (new FileInfo(path).LinkTarget is { } target)
            throw new UntrustedPathException($"{path} is a symbolic link (to {target}); LocalPort does not follow links for its state files: remove it");
    }

    /// <summary>Writes a whole state file through a private temp file and a rename, which replaces a link instead of following it.</summary>
    public static void WriteAtomically(string path, string content)
    {
        var temp = $"{path}.{Environment.ProcessId}.tmp";
        RefuseLink(temp);
        var options = new FileStreamOptions
        {
            Mode = FileMode.Create, Access = FileAccess.Write,
            UnixCreateMode = OperatingSystem.IsWindows() ? null : PrivateFileMode,
        };
        using (var stream = new FileStream(temp, options))
        {
            MakePrivate(stream.SafeFileHandle);
            using var writer = new StreamWriter(stream);
            writer.Write(content);
        }
        File.Move(temp, path, overwrite: true);
    }

    /// <summary>Sets an open file to 0600 (a file created before, or by someone else's umask, keeps its mode otherwise).</summary>
    public static void MakePrivate(Microsoft.Win32.SafeHandles.SafeFileHandle handle)
    {
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(handle, PrivateFileMode);
    }
}

/// <summary>A state file or directory LocalPort refuses to use (a link, another user's, writable by others); the message says how to fix it.</summary>
public sealed class UntrustedPathException(string message) : IOException(message);
