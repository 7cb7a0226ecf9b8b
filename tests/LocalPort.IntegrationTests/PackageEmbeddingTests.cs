using System.Collections.Concurrent;
using System.Diagnostics;
using System.Reflection;
using LocalPort.IntegrationTests.Fixtures;

namespace LocalPort.IntegrationTests;

/// <summary>
/// An app outside this repository embeds LocalPort from its packages, as a user would: a project in a temporary
/// directory, `dotnet add package LocalPort.Actors` (and LocalPort.Control) from a local package source,
/// `AddAkka("x", a => a.WithLocalPort("localport.yaml"))`, built and run as its own process.
/// </summary>
public sealed class PackageEmbeddingTests(ITestOutputHelper output) : Scenario(output)
{
    private static readonly TimeSpan DotnetStepTimeout = TimeSpan.FromMinutes(3);

    private const string Program = """
        using Akka.Hosting;
        using LocalPort.Actors.Hosting;
        using LocalPort.Control;

        var builder = WebApplication.CreateBuilder(args);
        builder.Services.Configure<HostOptions>(options => options.ShutdownTimeout = TimeSpan.FromSeconds(40));
        builder.Services.AddAkka("x", a => a.WithLocalPort("localport.yaml"));
        var app = builder.Build();
        app.MapLocalPort("/localport");
        app.Run();
        """;

    [Fact]
    public async Task An_app_outside_the_repository_embeds_the_packages_serves_a_forward_and_stops_with_sigterm()
    {
        var repository = Metadata("RepositoryRoot");
        Assert.False(Root.StartsWith(repository, StringComparison.Ordinal), $"{Root} is inside the repository");
        var dotnet = DotnetPath();
        var environment = DotnetEnvironment();
        var machinePackages = MachinePackagesFolder(dotnet, environment);

        // This checkout's libraries, packed as ./build.sh pack packs them, under a version no cache has seen.
        var packages = Directory.CreateDirectory(Path.Combine(Root, "packages")).FullName;
        var version = $"0.1.0-it.{DateTime.UtcNow:yyyyMMddHHmmss}";
        foreach (var library in new[] { "Core", "Actors", "Control" })
            Dotnet(dotnet, environment, repository, "pack", Path.Combine(repository, "src", $"LocalPort.{library}", $"LocalPort.{library}.csproj"),
                "-c", Metadata("Configuration"), "--no-build", "-nologo", "-o", packages, $"-p:PackageVersion={version}",
                $"-p:NuspecOutputPath={Path.Combine(Root, "nuspec")}/");

        // The app: its own package cache (so nothing of ours lands in the machine's), falling back to the machine's for
        // Akka and the rest; sources are ours plus the machine's usual ones.
        var app = Directory.CreateDirectory(Path.Combine(Root, "app")).FullName;
        environment["NUGET_PACKAGES"] = Path.Combine(Root, "nuget-packages");
        File.WriteAllText(Path.Combine(app, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <add key="localport" value="{packages}" />
              </packageSources>
              <fallbackPackageFolders>
                <add key="machine" value="{machinePackages}" />
              </fallbackPackageFolders>
            </configuration>
            """);
        File.WriteAllText(Path.Combine(app, "App.csproj"), """
            <Project Sdk="Microsoft.NET.Sdk.Web">
              <PropertyGroup>
                <TargetFramework>net10.0</TargetFramework>
                <Nullable>enable</Nullable>
                <ImplicitUsings>enable</ImplicitUsings>
              </PropertyGroup>
            </Project>
            """);
        File.WriteAllText(Path.Combine(app, "Program.cs"), Program);
        var upstream = Own(new EchoServer());
        var ports = FreePort.Next(2);
        var (forwardPort, httpPort) = (ports[0], ports[1]);
        File.WriteAllText(Path.Combine(app, "localport.yaml"), $"""
            services:
              - name: echo
                technology: tcp
                local_port: {forwardPort}
                remote_port: {upstream.Port}
                connection:
                  host: 127.0.0.1
            """);

        Dotnet(dotnet, environment, app, "add", "package", "LocalPort.Actors", "--version", version);
        Dotnet(dotnet, environment, app, "add", "package", "LocalPort.Control", "--version", version);
        Dotnet(dotnet, environment, app, "build", "-c", "Release", "--no-restore", "--disable-build-servers", "-nologo");
        Assert.False(Directory.Exists(Path.Combine(machinePackages, "localport.actors", version)), "our package reached the machine's cache");

        var (process, log) = Start(dotnet, environment, app, Path.Combine(app, "bin", "Release", "net10.0", "App.dll"), "--urls", $"http://127.0.0.1:{httpPort}");
        using var _ = process;
        try
        {
            Assert.True(await Traffic.EchoEventuallyAsync(forwardPort, TimeSpan.FromSeconds(60)), $"the forward never served. {Describe(log)}");
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
            var status = await http.GetStringAsync($"http://127.0.0.1:{httpPort}/localport/v1/status");
            Output.WriteLine(status);
            Assert.Contains("\"mode\":\"embedded\"", status);
            Assert.Contains("\"state\":\"running\"", status);

            Assert.True(Native.Signal(process.Id, Native.SIGTERM));
            Assert.True(process.WaitForExit(TimeSpan.FromSeconds(30)), $"the app did not stop after SIGTERM. {Describe(log)}");
            process.WaitForExit(); // it has exited: this waits for the redirected output to be read to its end
            Output.WriteLine(Describe(log));
            Assert.Equal(0, process.ExitCode);
            Assert.Contains(log, l => l.Contains("shutdown phase localport-force-cleanup finished"));
            Assert.True(Traffic.Refuses(forwardPort), "the forward's port is still open after the app stopped");
        }
        finally
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
        }
    }

    private static string Metadata(string key) =>
        typeof(PackageEmbeddingTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == key).Value!;

    /// <summary>The dotnet host running these tests, by absolute path.</summary>
    private static string DotnetPath()
    {
        var path = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? Environment.ProcessPath;
        Assert.True(path is not null && Path.GetFileNameWithoutExtension(path) == "dotnet" && File.Exists(path), $"no dotnet host found ({path})");
        return path!;
    }

    /// <summary>Ours, minus what the test runner set for its own MSBuild; no build server or node outlives a step.</summary>
    private static Dictionary<string, string> DotnetEnvironment()
    {
        var environment = Environment.GetEnvironmentVariables().Cast<System.Collections.DictionaryEntry>()
            .Where(e => !((string)e.Key).StartsWith("MSBUILD", StringComparison.OrdinalIgnoreCase))
            .ToDictionary(e => (string)e.Key, e => (string?)e.Value ?? "");
        environment["MSBUILDDISABLENODEREUSE"] = "1";
        environment["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0";
        environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        environment["DOTNET_NOLOGO"] = "1";
        return environment;
    }

    private string MachinePackagesFolder(string dotnet, Dictionary<string, string> environment)
    {
        // "global-packages: /root/.nuget/packages/"
        var listed = Dotnet(dotnet, environment, Path.GetTempPath(), "nuget", "locals", "global-packages", "--list");
        return listed.Split(':', 2)[1].Trim();
    }

    private string Dotnet(string dotnet, Dictionary<string, string> environment, string directory, params string[] arguments)
    {
        var clock = Stopwatch.StartNew();
        var result = Run.Program(dotnet, arguments, DotnetStepTimeout, directory, environment);
        Output.WriteLine($"dotnet {string.Join(' ', arguments)}: exit {result.ExitCode} in {clock.Elapsed.TotalSeconds:0.0} s");
        Assert.True(result.ExitCode == 0, $"dotnet {string.Join(' ', arguments)} failed:\n{result.Stdout}\n{result.Stderr}");
        return result.Stdout;
    }

    private (Process Process, ConcurrentQueue<string> Log) Start(string dotnet, Dictionary<string, string> environment, string directory,
        params string[] arguments)
    {
        var info = new ProcessStartInfo(dotnet)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = directory,
        };
        foreach (var argument in arguments) info.ArgumentList.Add(argument);
        foreach (var (key, value) in environment) info.Environment[key] = value;
        info.Environment["HOME"] = Home;
        info.Environment["LOCALPORT_HOME"] = Path.Combine(Home, "localport");
        var process = Process.Start(info)!;
        var log = new ConcurrentQueue<string>();
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) log.Enqueue(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) log.Enqueue(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return (process, log);
    }

    private static string Describe(IEnumerable<string> log) => "app output:\n" + string.Join('\n', log);
}
