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

# The CLI the launcher runs: compiled ahead of time to a native program (Native AOT) when a C toolchain is there
# (gcc or clang; Debian: apt-get install gcc zlib1g-dev). It starts in about a fifth of the JIT build's time and idles
# in about two thirds of its memory (bench figures 3 and 5). Without a toolchain it falls back to ReadyToRun code
# for this machine's runtime and says so. Same sources as the build above; `./build.sh test` runs the tests against
# this program (LOCALPORT_TEST_CLI), a bare `dotnet test` against that build's copy.
cli_dir="$artifacts/publish/localport"
publish_cli() {
  local rid linker
  rid=$(dotnet --info | awk '$1 == "RID:" { print $2; exit }')
  rm -rf "$cli_dir"
  if command -v clang >/dev/null 2>&1; then linker=clang; elif command -v gcc >/dev/null 2>&1; then linker=gcc; else linker=; fi
  if [ -n "$linker" ] && [ "${LOCALPORT_NATIVE:-1}" != 0 ]; then
    echo "compiling the CLI to a native program ($linker; a minute or three the first time)..." >&2
    if dotnet publish src/LocalPort.Cli/LocalPort.Cli.csproj -c "$configuration" -r "$rid" -p:PublishAot=true \
        -p:CppCompilerAndLinker="$linker" -nologo -o "$cli_dir" "$@"; then
      rm -f "$cli_dir"/*.dbg "$cli_dir"/*.pdb
      return 0
    fi
    echo "warning: the native compile failed (see above); the launcher runs ReadyToRun code instead (slower start, more memory)" >&2
    rm -rf "$cli_dir"
  else
    echo "warning: no C compiler (gcc or clang) found: the launcher runs ReadyToRun code, not a native program (slower start, more memory); Debian: apt-get install gcc zlib1g-dev" >&2
  fi
  dotnet publish src/LocalPort.Cli/LocalPort.Cli.csproj -c "$configuration" -r "$rid" --self-contained false \
    -p:PublishReadyToRun=true -nologo -o "$cli_dir" "$@"
}

# For run and bench: say what is happening, show progress and warnings (on stderr: stdout is the program's).
build_visibly() {
  echo "building LocalPort ($configuration): about 3-5 minutes on a fresh clone (the CLI is compiled to a native program), longer on a busy machine; later builds only redo what changed..." >&2
  local started=$SECONDS
  dotnet build LocalPort.Actors.sln -c "$configuration" -nologo -v:minimal -clp:NoSummary >&2
  publish_cli -v:minimal -clp:NoSummary >&2
  write_launcher >&2
  echo "built in $((SECONDS - started)) s" >&2
}

write_launcher() {
  # A launcher for people who don't install the tool: artifacts/bin/localport runs the published CLI above
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
  # The tests run real sshd, redis, PostgreSQL, socat, kubectl: say up front (and again at the end) what is missing.
  local missing
  missing=$(tests/prerequisites.sh | paste -sd ' ' -)
  if [ -n "$missing" ]; then
    echo "warning: this machine lacks programs some tests run; those tests will fail. Install them first:" >&2
    echo "  apt-get install $missing     (or, as root, .ci/run: it installs them, then runs the tests)" >&2
  fi
  build
  # The bench is not in the solution (it needs a built CLI and minutes of machine time); compile it so a change
  # that breaks it fails here, not on the next `./build.sh bench`.
  dotnet build bench/LocalPort.Bench/LocalPort.Bench.csproj -c "$configuration" -nologo -clp:ErrorsOnly
  # The tests drive the program users run (the launcher's), not the build's copy.
  export LOCALPORT_TEST_CLI="$cli_dir/localport"
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
  # The failures again at the end, with their messages, so the last screen of a long run says what broke.
  if (( failed > 0 )); then
    echo "failed:"
    awk '/^ +Failed [A-Za-z]/ { show = 25 } show > 0 { print; show-- }' "$log" | head -200
  fi
  echo "${passed:-0} passed, ${failed:-0} failed, ${skipped:-0} skipped"
  if (( failed > 0 )) && [ -n "$missing" ]; then echo "some failures may be programs this machine lacks: apt-get install $missing" >&2; fi
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
