namespace LocalPort.Core.Tests;

public sealed class LocalPortPathsTests
{
    [Fact]
    public void Upstreams_LOCALPORT_RUNTIME_DIR_moves_the_runtime_directory_and_nothing_else()
    {
        var env = new Dictionary<string, string> { ["HOME"] = "/home/u", ["LOCALPORT_HOME"] = "/srv/lp", ["LOCALPORT_RUNTIME_DIR"] = "/run/user/1000/lp" };

        var paths = LocalPortPaths.FromEnvironment(env.GetValueOrDefault);

        Assert.Equal("/run/user/1000/lp", paths.RuntimeDirectory);
        Assert.Equal("/run/user/1000/lp/localport.sock", paths.ControlSocket);
        Assert.Equal("/srv/lp", paths.StateDirectory);
        Assert.Equal("/srv/lp/logs/localport.log", paths.DaemonLog);
    }

    [Fact]
    public void Without_it_the_runtime_directory_follows_LOCALPORT_HOME()
    {
        var env = new Dictionary<string, string> { ["HOME"] = "/home/u", ["LOCALPORT_HOME"] = "/srv/lp" };

        Assert.Equal("/srv/lp/run", LocalPortPaths.FromEnvironment(env.GetValueOrDefault).RuntimeDirectory);
    }
}
