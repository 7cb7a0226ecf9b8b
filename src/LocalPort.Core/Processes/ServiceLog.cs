using System.Text;

namespace LocalPort.Core.Processes;

/// <summary>
/// The one writer of a service's log file in this process. Every child of a service writes through it, including the
/// old and the new one that a restart runs side by side. So a header and each line of output arrive whole and in
/// order, and nothing is written at a stale offset over another writer's lines.
/// The file is appended to (O_APPEND on Linux), never through a symbolic link, kept private (0600), and rotated by
/// size (name.log.1 … .N). Rotated files are deleted once they are older than the retention period.
/// </summary>
public sealed class ServiceLog
{
    public static long MaxBytes { get; set; } = 10 * 1024 * 1024;
    public static int MaxFiles { get; set; } = 5;
    public static TimeSpan Retention { get; set; } = TimeSpan.FromDays(7);

    /// <summary>Open logs by full path; guards each log's user count too.</summary>
    private static readonly Dictionary<string, ServiceLog> Shared = new(StringComparer.Ordinal);

    private readonly string _path;
    private readonly object _gate = new();
    private FileStream _file;
    private int _users;
    /// <summary>The child whose start header came last: words of an older one are tagged with its pid.</summary>
    private int? _latestPid;

    private ServiceLog(string path)
    {
        _path = path;
        LocalPortPaths.EnsurePrivateDirectory(Path.GetDirectoryName(path)!);
        DeleteExpired();
        RotateIfLarge();
        _file = OpenFile();
    }

    /// <summary>A writer on the log at <paramref name="path"/>: opened by the first, closed when the last is disposed.</summary>
    /// <exception cref="IOException">The file is a symbolic link, or cannot be opened.</exception>
    public static Writer Open(string path)
    {
        var fullPath = Path.GetFullPath(path);
        lock (Shared)
        {
            if (!Shared.TryGetValue(fullPath, out var log))
            {
                log = new ServiceLog(fullPath);
                Shared[fullPath] = log;
            }
            log._users++;
            return new Writer(log);
        }
    }

    /// <summary>One user's hold on a <see cref="ServiceLog"/>: a child process, from before its start to after its exit.</summary>
    public sealed class Writer : IDisposable
    {
        private ServiceLog? _log;

        internal Writer(ServiceLog log) => _log = log;

        /// <summary>The header of a start; what follows untagged is this child's.</summary>
        public void Started(int pid, string description) => _log?.Append($"==== {DateTimeOffset.Now:O} started pid {pid}: {description}", pid);

        /// <summary>A line the child printed, tagged "[pid N]" when a newer child of the service has started since.</summary>
        public void Output(int pid, string line) => _log?.AppendOutput(pid, line);

        public void Exited(int pid, int code) => _log?.Append($"==== {DateTimeOffset.Now:O} pid {pid} exited with code {code}", null);

        /// <summary>A line as it is.</summary>
        public void WriteLine(string line) => _log?.Append(line, null);

        public void Dispose() => Interlocked.Exchange(ref _log, null)?.Release();
    }

    private void Release()
    {
        lock (Shared)
        {
            if (--_users > 0) return;
            Shared.Remove(_path);
        }
        lock (_gate) _file.Dispose();
    }

    private void AppendOutput(int pid, string line)
    {
        lock (_gate) Write(_latestPid is { } latest && latest != pid ? $"[pid {pid}] {line}" : line);
    }

    private void Append(string line, int? startedPid)
    {
        lock (_gate)
        {
            if (startedPid is not null) _latestPid = startedPid;
            Write(line);
        }
    }

    private void Write(string line)
    {
        if (_file.SafeFileHandle.IsClosed) return;
        var bytes = Encoding.UTF8.GetBytes(line + "\n");
        try
        {
            // One write per line, at the end: O_APPEND puts it there on Linux whatever the offset says.
            var length = RandomAccess.GetLength(_file.SafeFileHandle);
            RandomAccess.Write(_file.SafeFileHandle, bytes, length);
            if (length + bytes.Length < MaxBytes) return;
            _file.Dispose();
            RotateIfLarge();
            _file = OpenFile();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A log that cannot be written (disk full, a link planted at rotation) must not take the supervisor down:
            // the line still reaches the tail, last_error and status.
        }
    }

    private FileStream OpenFile()
    {
        LocalPortPaths.RefuseLink(_path);
        var file = new FileStream(_path, new FileStreamOptions
        {
            Mode = FileMode.Append, Access = FileAccess.Write, Share = FileShare.ReadWrite | FileShare.Delete,
            UnixCreateMode = OperatingSystem.IsWindows() ? null : UnixFileMode.UserRead | UnixFileMode.UserWrite,
        });
        try
        {
            // Checked again now that it is open: a link planted meanwhile is refused before its target is touched.
            LocalPortPaths.RefuseLink(_path);
            Posix.SetAppendMode(file.SafeFileHandle);
            // A log written before (or by an older version) keeps its mode on open: make it private now.
            LocalPortPaths.MakePrivate(file.SafeFileHandle);
            return file;
        }
        catch
        {
            file.Dispose();
            throw;
        }
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
}
