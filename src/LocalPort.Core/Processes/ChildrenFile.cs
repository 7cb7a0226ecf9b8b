using System.Text.Json;
using System.Text.Json.Serialization;

namespace LocalPort.Core.Processes;

/// <summary>One child recorded on disk: enough to recognise it after a crash, never a command line.</summary>
public sealed record RecordedChild(int Pid, long? StartTicks, string Instance, string Description);

/// <summary>
/// The running supervisor's children, written atomically (temp file + rename, mode 0600) so that the
/// next start can reap its own orphans after a crash or kill -9 — and touch nobody else's processes.
/// </summary>
public static class ChildrenFile
{
    private static readonly object WriteLock = new();

    public static void Write(string path, IEnumerable<ChildProcess> children)
    {
        var records = children.Select(c => new RecordedChild(c.Pid, c.StartTicks, ChildProcess.InstanceId, c.Description)).ToList();
        lock (WriteLock)
        {
            LocalPortPaths.EnsurePrivateDirectory(Path.GetDirectoryName(path)!);
            LocalPortPaths.WriteAtomically(path, JsonSerializer.Serialize(records, ChildrenJson.Default.ListRecordedChild));
        }
    }

    public static IReadOnlyList<RecordedChild> Read(string path)
    {
        try
        {
            return File.Exists(path) ? JsonSerializer.Deserialize(File.ReadAllText(path), ChildrenJson.Default.ListRecordedChild) ?? [] : [];
        }
        catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException)
        {
            return [];
        }
    }

    /// <summary>
    /// SIGKILLs every recorded child that is still alive AND is provably ours: same start time and our
    /// instance tag in its environment. Returns what was reaped. A reused pid fails both checks.
    /// </summary>
    public static IReadOnlyList<RecordedChild> ReapOrphans(string path)
    {
        var reaped = new List<RecordedChild>();
        foreach (var child in Read(path))
        {
            if (child.StartTicks is null || Posix.StartTicks(child.Pid) != child.StartTicks) continue;
            if (!Posix.HasEnvironment(child.Pid, ChildProcess.InstanceVariable, child.Instance)) continue;
            foreach (var pid in Posix.Tree(child.Pid)) Posix.Signal(pid, Posix.SIGKILL);
            reaped.Add(child);
        }
        try { File.Delete(path); } catch (IOException) { }
        return reaped;
    }
}

/// <summary>The children file's JSON, generated at build time (no reflection: the shipped CLI is compiled ahead of time).</summary>
[JsonSerializable(typeof(List<RecordedChild>))]
internal sealed partial class ChildrenJson : JsonSerializerContext;
