using LocalPort.Core.Config;

namespace LocalPort.Core.Tests.Config;

public sealed class ConfigLocatorTests : IDisposable
{
    private const string SystemConfig = "/etc/localport/config.yaml";

    private readonly string _root = Directory.CreateTempSubdirectory("lp-locator-").FullName;
    private readonly string _cwd;
    private readonly string _home;
    private readonly Dictionary<string, string> _env = [];

    public ConfigLocatorTests()
    {
        _cwd = Directory.CreateDirectory(Path.Combine(_root, "work")).FullName;
        _home = Directory.CreateDirectory(Path.Combine(_root, "home")).FullName;
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private string? Find(string? explicitPath = null) => ConfigLocator.Find(explicitPath, _env.GetValueOrDefault, _cwd, _home);

    private string Touch(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, "services: []");
        return path;
    }

    [Fact]
    public void Candidates_are_listed_in_the_one_search_order_with_their_origin()
    {
        _env[ConfigLocator.EnvironmentVariable] = "from-env.yaml";
        _env[ConfigLocator.UpstreamEnvironmentVariable] = "from-upstream-env.yaml";

        var candidates = ConfigLocator.Candidates("given.yaml", _env.GetValueOrDefault, _cwd, _home);

        Assert.Equal(
            [
                (Path.Combine(_cwd, "given.yaml"), "--config"),
                (Path.Combine(_cwd, "from-env.yaml"), "$LOCALPORT_CONFIG"),
                (Path.Combine(_cwd, "from-upstream-env.yaml"), "$LOCALPORT_CONFIG_FILE"),
                (Path.Combine(_cwd, "localport.yaml"), "current directory"),
                (Path.Combine(_cwd, "localport.yml"), "current directory"),
                (Path.Combine(_cwd, ".localport.yaml"), "current directory"),
                (Path.Combine(_home, ".config", "localport", "config.yaml"), "user config"),
                (Path.Combine(_home, ".localport.yaml"), "home directory"),
                (SystemConfig, "system"),
            ],
            candidates.Select(c => (c.Path, c.Origin)));
    }

    [Fact]
    public void An_explicit_path_wins_even_when_it_does_not_exist()
    {
        Touch(Path.Combine(_cwd, "localport.yaml"));
        _env[ConfigLocator.EnvironmentVariable] = Touch(Path.Combine(_root, "env.yaml"));

        Assert.Equal(Path.Combine(_cwd, "missing.yaml"), Find("missing.yaml"));
    }

    [Fact]
    public void The_environment_variable_wins_over_the_search_even_when_missing()
    {
        Touch(Path.Combine(_cwd, "localport.yaml"));
        _env[ConfigLocator.EnvironmentVariable] = "~/nowhere.yaml";

        Assert.Equal(Path.Combine(_home, "nowhere.yaml"), Find());
    }

    [Fact]
    public void Upstreams_LOCALPORT_CONFIG_FILE_wins_over_the_search_even_when_missing()
    {
        Touch(Path.Combine(_cwd, "localport.yaml"));
        _env[ConfigLocator.UpstreamEnvironmentVariable] = "~/upstream.yaml";

        Assert.Equal(Path.Combine(_home, "upstream.yaml"), Find());
    }

    [Fact]
    public void The_first_existing_file_of_the_search_is_found()
    {
        var userConfig = Touch(Path.Combine(_home, ".config", "localport", "config.yaml"));
        Touch(Path.Combine(_home, ".localport.yaml"));
        Assert.Equal(userConfig, Find());

        var dotFile = Touch(Path.Combine(_cwd, ".localport.yaml"));
        Assert.Equal(dotFile, Find());

        var yml = Touch(Path.Combine(_cwd, "localport.yml"));
        Assert.Equal(yml, Find());

        var yaml = Touch(Path.Combine(_cwd, "localport.yaml"));
        Assert.Equal(yaml, Find());
    }

    [Fact]
    public void Nothing_found_means_null_unless_a_system_config_exists()
    {
        Assert.Equal(File.Exists(SystemConfig) ? SystemConfig : null, Find());
    }

    [Fact]
    public void Candidates_say_which_files_exist()
    {
        Touch(Path.Combine(_cwd, "localport.yml"));

        var existing = ConfigLocator.Candidates(null, _env.GetValueOrDefault, _cwd, _home).Where(c => c.Exists).Select(c => c.Path);

        Assert.Contains(Path.Combine(_cwd, "localport.yml"), existing);
        Assert.DoesNotContain(Path.Combine(_cwd, "localport.yaml"), existing);
    }
}
