# LocalPort build entry point. Verbs: build | test | run | bench | pack | clean  (same as build.sh)
param([Parameter(Position = 0)][string]$Verb = "build", [Parameter(ValueFromRemainingArguments = $true)][string[]]$Rest = @())
$ErrorActionPreference = "Stop"
Set-Location $PSScriptRoot
$env:DOTNET_CLI_TELEMETRY_OPTOUT = "1"; $env:DOTNET_NOLOGO = "1"
$configuration = if ($env:CONFIGURATION) { $env:CONFIGURATION } else { "Release" }
$artifacts = if ($env:LP_ARTIFACTS) { $env:LP_ARTIFACTS } else { Join-Path $PSScriptRoot "artifacts" }
$exe = if ($IsWindows) { "localport.exe" } else { "localport" }
# The CLI the launcher runs: published ReadyToRun (precompiled) for this machine's runtime, as build.sh does.
$cliDir = Join-Path $artifacts "publish/localport"
$binary = Join-Path $cliDir $exe

function Invoke-Build([string[]]$BuildArgs = @()) {
    dotnet build LocalPort.Actors.sln -c $configuration -nologo -clp:ErrorsOnly @BuildArgs
    if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }
    Publish-Cli -clp:ErrorsOnly
    Write-Launcher
}

function Publish-Cli([string[]]$PublishArgs = @()) {
    $rid = (dotnet --info | Select-String '^\s*RID:\s*(\S+)' | Select-Object -First 1).Matches[0].Groups[1].Value
    dotnet publish src/LocalPort.Cli/LocalPort.Cli.csproj -c $configuration -r $rid --self-contained false `
        -p:PublishReadyToRun=true -nologo -o $cliDir @PublishArgs
    if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }
}

# For run and bench: say what is happening, show progress and warnings (on stderr: stdout is the program's).
function Invoke-VisibleBuild {
    [Console]::Error.WriteLine("building LocalPort ($configuration): about 1-2 minutes on a fresh clone, longer on a busy machine; later builds only redo what changed...")
    $started = Get-Date
    dotnet build LocalPort.Actors.sln -c $configuration -nologo -v:minimal -clp:NoSummary | ForEach-Object { [Console]::Error.WriteLine($_) }
    if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }
    Publish-Cli -v:minimal -clp:NoSummary | ForEach-Object { [Console]::Error.WriteLine($_) }
    Write-Launcher | ForEach-Object { [Console]::Error.WriteLine($_) }
    [Console]::Error.WriteLine("built in $([int](((Get-Date) - $started).TotalSeconds)) s")
}

function Write-Launcher {
    $launcher = Join-Path $artifacts "bin/localport"
    if ($IsWindows) {
        Set-Content -Path "$launcher.cmd" -Value "@`"%~dp0..\publish\localport\localport.exe`" %*"
    } else {
        Set-Content -Path $launcher -Value "#!/bin/sh`nexec `"`${0%/*}/../publish/localport/localport`" `"`$@`""
        chmod +x $launcher
    }
    Write-Host "built: $launcher"
}

switch ($Verb) {
    "build" { Invoke-Build $Rest }
    "test"  { Invoke-Build; dotnet build bench/LocalPort.Bench/LocalPort.Bench.csproj -c $configuration -nologo -clp:ErrorsOnly; if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }; dotnet test LocalPort.Actors.sln -c $configuration --no-build -nologo -m:1 --blame-hang-timeout 5m @Rest; exit $LASTEXITCODE }
    "run"   { Invoke-VisibleBuild; & $binary demo --config config/localport.yaml @Rest; exit $LASTEXITCODE }
    "bench" { Invoke-VisibleBuild; bash bench/run.sh @Rest; exit $LASTEXITCODE }
    "pack"  {
        # The localport tool, then the libraries it is built from (built by then) for apps that embed LocalPort.
        $packages = Join-Path $artifacts "packages"
        dotnet pack src/LocalPort.Cli/LocalPort.Cli.csproj -c $configuration -nologo -o $packages @Rest
        if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }
        foreach ($library in "Core", "Actors", "Control") {
            dotnet pack "src/LocalPort.$library/LocalPort.$library.csproj" -c $configuration -nologo --no-build -o $packages @Rest
            if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }
        }
        exit 0
    }
    "clean" { Remove-Item -Recurse -Force $artifacts -ErrorAction SilentlyContinue }
    default { Write-Error "usage: ./build.ps1 build|test|run|bench|pack|clean"; exit 2 }
}
