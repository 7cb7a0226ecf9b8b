namespace LocalPort.Cli.Running;

/// <summary>
/// One LocalPort per runtime directory, decided before anything starts: an exclusive advisory lock (flock, which
/// .NET takes for FileShare.None on Unix) on <c>localport.lock</c>, held for the life of the process. Unlike the
/// control socket it cannot be deleted from under a running instance, and the kernel drops it when the process dies.
/// </summary>
internal sealed class InstanceLock : IDisposable
{
    private readonly FileStream _file;

    private InstanceLock(FileStream file) => _file = file;

    /// <exception cref="AlreadyRunningException">Another process holds the lock.</exception>
    public static InstanceLock Take(string runtimeDirectory)
    {
        var path = Path.Combine(runtimeDirectory, "localport.lock");
        if (new FileInfo(path).LinkTarget is not null)
            throw new AlreadyRunningException($"{path} is a symbolic link; LocalPort does not follow links for its state files: remove it");
        try
        {
            var file = new FileStream(path, new FileStreamOptions
            {
                Mode = FileMode.OpenOrCreate,
                Access = FileAccess.ReadWrite,
                Share = FileShare.None,
                UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
            });
            file.SetLength(0);
            using (var writer = new StreamWriter(file, leaveOpen: true)) writer.Write(Environment.ProcessId);
            file.Flush();
            return new InstanceLock(file);
        }
        catch (IOException)
        {
            var pid = Pid(Path.Combine(runtimeDirectory, "localport.pid"));
            throw new AlreadyRunningException(
                $"another LocalPort{(pid is null ? "" : $" (pid {pid})")} is already running with runtime directory {runtimeDirectory}; " +
                "stop it with `localport daemon stop` (or Ctrl-C in its terminal) first");
        }
    }

    private static string? Pid(string pidFile)
    {
        try { return File.ReadAllText(pidFile).Trim() is { Length: > 0 } text ? text : null; }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
    }

    public void Dispose() => _file.Dispose();
}
