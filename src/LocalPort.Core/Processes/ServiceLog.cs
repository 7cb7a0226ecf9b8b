namespace LocalPort.Core.Processes;

/// <summary>
/// A service's log file: appended, private (0600), rotated by size (name.log.1 … .N) and rotated files
/// are deleted once older than the retention period.
/// </summary>
public sealed class ServiceLog : IDisposable
{
    public static long MaxBytes { get; set; } = 10 * 1024 * 1024;
    public static int MaxFiles { get; set; } = 5;
    public static TimeSpan Retention { get; set; } = TimeSpan.FromDays(7);

    private readonly string _path;
    private readonly object _gate = new();
    private StreamWriter _writer;

    public ServiceLog(string path)
    {
        _path = path;
        LocalPortPaths.EnsurePrivateDirectory(Path.GetDirectoryName(path)!);
        DeleteExpired();
        RotateIfLarge();
        _writer = Open();
    }

    public void WriteLine(string line)
    {
        lock (_gate)
        {
            _writer.WriteLine(line);
            if (_writer.BaseStream.Length < MaxBytes) return;
            _writer.Dispose();
            RotateIfLarge();
            _writer = Open();
        }
    }

    private StreamWriter Open()
    {
        var options = new FileStreamOptions
        {
            Mode = FileMode.Append, Access = FileAccess.Write, Share = FileShare.ReadWrite | FileShare.Delete,
            UnixCreateMode = OperatingSystem.IsWindows() ? null : UnixFileMode.UserRead | UnixFileMode.UserWrite,
        };
        LocalPortPaths.RefuseLink(_path);
        var stream = new FileStream(_path, options);
        // A log written before (or by an older version) keeps its mode on open: make it private now.
        LocalPortPaths.MakePrivate(stream.SafeFileHandle);
        return new StreamWriter(stream) { AutoFlush = true };
    }

    private void RotateIfLarge()
    {
        if (!File.Exists(_path) || new FileInfo(_path).Length < MaxBytes) return;
        for (var i = MaxFiles - 1; i >= 1; i--)
        {
            var from = $"{_path}.{i}";
            if (File.Exists(from)) MovePrivate(from, $"{_path}.{i + 1}");
        }
        MovePrivate(_path, $"{_path}.1");
        File.Delete($"{_path}.{MaxFiles + 1}");
    }

    /// <summary>A rename keeps the mode: a log left wider by an older version (or copied in) becomes 0600 as it rotates.</summary>
    private static void MovePrivate(string from, string to)
    {
        File.Move(from, to, overwrite: true);
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(to, UnixFileMode.UserRead | UnixFileMode.UserWrite);
    }

    private void DeleteExpired()
    {
        var directory = Path.GetDirectoryName(_path)!;
        foreach (var rotated in Directory.EnumerateFiles(directory, Path.GetFileName(_path) + ".*"))
            if (DateTime.UtcNow - File.GetLastWriteTimeUtc(rotated) > Retention)
                File.Delete(rotated);
    }

    public void Dispose()
    {
        lock (_gate) _writer.Dispose();
    }
}
