namespace LocalPort.IntegrationTests.Fixtures;

/// <summary>
/// Per-test workspace: a private HOME (with LOCALPORT_HOME under it), a separate working directory,
/// and every process, server and directory the test starts, all torn down in Dispose.
/// </summary>
public class Scenario : IDisposable
{
    private readonly List<IDisposable> _owned = [];
    private readonly TempDirectory _root = new("lp-it");

    public Scenario(ITestOutputHelper output)
    {
        Output = output;
        Home = _root.Combine("home");
        WorkingDirectory = _root.Combine("work");
        Directory.CreateDirectory(Home);
        Directory.CreateDirectory(WorkingDirectory);
    }

    public ITestOutputHelper Output { get; }
    public string Home { get; }
    public string WorkingDirectory { get; }
    public string Root => _root.Path;

    public T Own<T>(T disposable) where T : IDisposable
    {
        _owned.Add(disposable);
        return disposable;
    }

    /// <summary>Writes a config into the working directory (localport.yaml unless named otherwise).</summary>
    public string WriteConfig(string yaml, string fileName = "localport.yaml")
    {
        var path = Path.Combine(WorkingDirectory, fileName);
        File.WriteAllText(path, yaml);
        return path;
    }

    public LocalPortProcess Start(params string[] arguments) =>
        Own(LocalPortProcess.Start(Home, WorkingDirectory, arguments));

    public Run.Result Invoke(params string[] arguments) => LocalPortProcess.Invoke(Home, WorkingDirectory, arguments);

    /// <summary>`run -c FILE` (stdout is a pipe, so one status line per change), waiting until every named service is running.</summary>
    public LocalPortProcess RunUntilRunning(string configPath, IEnumerable<string> services, TimeSpan timeout, params string[] extra)
    {
        var process = Start(["run", "-c", configPath, .. extra]);
        foreach (var name in services)
            process.WaitForStatus(s => s.Name == name && s.IsRunning, timeout);
        return process;
    }

    public virtual void Dispose()
    {
        for (var i = _owned.Count - 1; i >= 0; i--)
        {
            try { _owned[i].Dispose(); }
            catch (Exception e) { Output.WriteLine($"cleanup: {e.Message}"); }
        }
        _root.Dispose();
        GC.SuppressFinalize(this);
    }
}
