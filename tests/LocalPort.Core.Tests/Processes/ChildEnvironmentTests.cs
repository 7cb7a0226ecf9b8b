using LocalPort.Core.Processes;

namespace LocalPort.Core.Tests.Processes;

/// <summary>The CLI tunes its own socket engine through environment variables; a child (kubectl, ssh, an exec check) never inherits them.</summary>
public sealed class ChildEnvironmentTests
{
    [Fact]
    public async Task Our_socket_engine_settings_are_not_passed_to_children()
    {
        string?[] before = [Environment.GetEnvironmentVariable(ChildProcess.InlineSocketCompletions), Environment.GetEnvironmentVariable(ChildProcess.SocketThreadCount)];
        Environment.SetEnvironmentVariable(ChildProcess.InlineSocketCompletions, "1");
        Environment.SetEnvironmentVariable(ChildProcess.SocketThreadCount, "1");
        try
        {
            var lines = new List<string>();
            using var child = ChildProcess.Start(new ProcessSpec("sh",
                ["-c", $"echo inline=${{{ChildProcess.InlineSocketCompletions}-unset}} threads=${{{ChildProcess.SocketThreadCount}-unset}}"])
            {
                OnLine = line => { lock (lines) lines.Add(line); },
            });

            Assert.Equal(0, await child.Exited.WaitAsync(TimeSpan.FromSeconds(10)));

            Assert.Equal("inline=unset threads=unset", Assert.Single(child.TailLines));
        }
        finally
        {
            Environment.SetEnvironmentVariable(ChildProcess.InlineSocketCompletions, before[0]);
            Environment.SetEnvironmentVariable(ChildProcess.SocketThreadCount, before[1]);
        }
    }
}
