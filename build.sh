#!/usr/bin/env bash
# LocalPort build entry point. Verbs: build | test | run | bench | pack | clean  (same as build.ps1)
set -euo pipefail
cd "$(dirname "$0")"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

configuration=${CONFIGURATION:-Release}
artifacts=${LP_ARTIFACTS:-$PWD/artifacts}
launcher="$artifacts/bin/localport"

build() {
  dotnet build LocalPort.Actors.sln -c "$configuration" -nologo -clp:ErrorsOnly "$@"
  publish_cli -clp:ErrorsOnly
  write_launcher
}

# The CLI the launcher runs, precompiled (ReadyToRun) for this machine's runtime: it starts with far less JIT work
# (bench figure 3). Same sources as the build above; the tests run that build's copy (see README, "Performance").
cli_dir="$artifacts/publish/localport"
publish_cli() {
  local rid
  rid=$(dotnet --info | awk '$1 == "RID:" { print $2; exit }')
  dotnet publish src/LocalPort.Cli/LocalPort.Cli.csproj -c "$configuration" -r "$rid" --self-contained false \
    -p:PublishReadyToRun=true -nologo -o "$cli_dir" "$@"
}

# For run and bench: say what is happening, show progress and warnings (on stderr: stdout is the program's).
build_visibly() {
  echo "building LocalPort ($configuration): about 1-2 minutes on a fresh clone, longer on a busy machine; later builds only redo what changed..." >&2
  local started=$SECONDS
  dotnet build LocalPort.Actors.sln -c "$configuration" -nologo -v:minimal -clp:NoSummary >&2
  publish_cli -v:minimal -clp:NoSummary >&2
  write_launcher >&2
  echo "built in $((SECONDS - started)) s" >&2
}

write_launcher() {
  # A launcher for people who don't install the tool: artifacts/bin/localport runs the ReadyToRun CLI
  mkdir -p "$(dirname "$launcher")"
  # /bin/sh and a parameter expansion, not `env sh` and dirname: nothing is looked up in the caller's PATH.
  cat > "$launcher" <<'LAUNCH'
#!/bin/sh
exec "${0%/*}/../publish/localport/localport" "$@"
LAUNCH
  chmod +x "$launcher"
  echo "built: $launcher"
}

test_all() {
  build
  local log="$artifacts/test-results.log"
  mkdir -p "$artifacts"
  set +e
  # A hung test fails the run after 5 minutes instead of stalling CI.
  # One test assembly at a time (-m:1): the integration tests measure real processes on 2 cores.
  dotnet test LocalPort.Actors.sln -c "$configuration" --no-build -nologo -m:1 \
    --blame-hang-timeout 5m --logger "console;verbosity=normal" "$@" 2>&1 | tee "$log"
  local status=${PIPESTATUS[0]}
  set -e
  local passed failed skipped
  # Per assembly, vstest ends with "Passed: N" / "Failed: N" / "Skipped: N" lines: add them up.
  passed=$(awk '/^ +Passed: +[0-9]+/ { n += $2 } END { print n + 0 }' "$log")
  failed=$(awk '/^ +Failed: +[0-9]+/ { n += $2 } END { print n + 0 }' "$log")
  skipped=$(awk '/^ +Skipped: +[0-9]+/ { n += $2 } END { print n + 0 }' "$log")
  if grep -E 'Test Class Cleanup Failure|Test Collection Cleanup Failure' "$log"; then failed=$(( ${failed:-0} + 1 )); fi
  echo "${passed:-0} passed, ${failed:-0} failed, ${skipped:-0} skipped"
  # Every test runs: a skipped test fails the run as surely as a failed one.
  if (( skipped > 0 )); then echo "error: $skipped test(s) skipped; every test must run" >&2; return 1; fi
  return "$status"
}

# The localport tool, then the libraries it is built from (built by then) for apps that embed LocalPort.
pack() {
  dotnet pack src/LocalPort.Cli/LocalPort.Cli.csproj -c "$configuration" -nologo -o "$artifacts/packages" "$@"
  local library
  for library in Core Actors Control; do
    dotnet pack "src/LocalPort.$library/LocalPort.$library.csproj" -c "$configuration" -nologo --no-build -o "$artifacts/packages" "$@"
  done
  echo "install with: dotnet tool install --global --add-source $artifacts/packages localport"
  echo "embed with:   dotnet add package LocalPort.Actors (and LocalPort.Control) with $artifacts/packages as a package source"
}

case "${1:-build}" in
  build) shift || true; build "$@" ;;
  test)  shift; test_all "$@" ;;
  run)   shift; build_visibly; exec "$launcher" demo --config config/localport.yaml "$@" ;;
  bench) shift; build_visibly; exec bench/run.sh "$@" ;;
  pack)  shift; pack "$@" ;;
  clean) rm -rf "$artifacts" ;;
  *) echo "usage: ./build.sh build|test|run|bench|pack|clean" >&2; exit 2 ;;
esac
