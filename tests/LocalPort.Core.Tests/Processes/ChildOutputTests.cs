using LocalPort.Core.Forwarding;
using LocalPort.Core.Processes;

namespace LocalPort.Core.Tests.Processes;

/// <summary>
/// Terminal control sequences a child prints (clear screen, window title, colours) are stripped before its words
/// reach the tail behind last_error, the line handlers or the service log.
/// </summary>
public sealed class ChildOutputTests : IDisposable
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);
    private const string Hostile = @"printf '\033[2J\033[H\033]0;owned\007\033[31mUnable to connect to the server\033[0m\n' >&2";
    private readonly string _dir = Directory.CreateTempSubdirectory("lp-output-").FullName;

    [Fact]
    public async Task Escapes_are_stripped_from_the_tail_the_line_handler_and_the_log()
    {
        var log = Path.Combine(_dir, "svc.log");
        var lines = new List<string>();
        using var child = ChildProcess.Start(new ProcessSpec("sh", ["-c", Hostile + "; exit 1"])
        {
            LogPath = log,
            OnLine = line => { lock (lines) lines.Add(line); },
        });

        Assert.Equal(1, await child.Exited.WaitAsync(Bound));

        Assert.Equal("Unable to connect to the server", Assert.Single(child.TailLines));
        lock (lines) Assert.Equal("Unable to connect to the server", Assert.Single(lines));
        var written = File.ReadAllText(log);
        Assert.Contains("Unable to connect to the server", written);
        Assert.DoesNotContain('\u001b', written);
        Assert.DoesNotContain('\u0007', written);
    }

    [Fact]
    public void The_failure_classifier_strips_whatever_it_is_given()
    {
        var classified = FailureClassifier.Classify("\u001b]0;owned\u0007\u001b[31mUnable to connect to the server\u001b[0m");

        Assert.Equal("cluster unreachable: Unable to connect to the server", classified);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
