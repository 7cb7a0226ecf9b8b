using System.ComponentModel;
using LocalPort.Core.Processes;

namespace LocalPort.Core.Tests.Processes;

/// <summary>
/// Programs are found in PATH's absolute entries only (or taken as given), never in the working directory:
/// a planted executable named like ssh in whatever directory LocalPort was started from never runs.
/// </summary>
public sealed class ProgramResolutionTests : IDisposable
{
    private const string Program = "lp-planted-program";
    private readonly string _dir = Directory.CreateTempSubdirectory("lp-resolve-").FullName;

    public ProgramResolutionTests()
    {
        File.WriteAllText(Path.Combine(_dir, Program), "#!/bin/sh\nexit 0\n");
        File.SetUnixFileMode(Path.Combine(_dir, Program), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    [Fact]
    public void A_bare_name_is_found_in_an_absolute_path_entry()
    {
        Assert.Equal(Path.Combine(_dir, Program), OwnSession.Resolve(Program, $"/nonexistent:{_dir}"));
    }

    [Fact]
    public void Empty_dot_and_relative_path_entries_are_never_searched()
    {
        var relative = Path.GetRelativePath(Environment.CurrentDirectory, _dir);
        Assert.False(Path.IsPathRooted(relative));

        var error = Assert.Throws<Win32Exception>(() => OwnSession.Resolve(Program, $":.:{relative}:/nonexistent"));

        Assert.Contains($"program '{Program}' not found", error.Message);
        Assert.Contains($"PATH=:.:{relative}:/nonexistent", error.Message);
    }

    [Fact]
    public void An_absolute_path_is_taken_as_given()
    {
        var program = Path.Combine(_dir, Program);

        Assert.Equal(program, OwnSession.Resolve(program, searchPath: ""));
    }

    [Fact]
    public void A_missing_absolute_program_is_named_in_the_error()
    {
        var missing = Path.Combine(_dir, "no-such-ssh");

        var error = Assert.Throws<Win32Exception>(() => OwnSession.Resolve(missing));

        Assert.Contains(missing, error.Message);
    }

    [Fact]
    public async Task Starting_a_child_by_bare_name_runs_the_one_on_path()
    {
        using var child = ChildProcess.Start(new ProcessSpec("true", []));

        Assert.Equal(0, await child.Exited.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
