#!/usr/bin/env bash
# LocalPort's figures against its peers (issue 7): `./build.sh bench` builds LocalPort and then runs this.
# Run directly it builds LocalPort first if the launcher is missing. Respects LP_ARTIFACTS like build.sh.
# Arguments go to the bench: --quick (a short smoke run), --only 1,2,3,4,5,6,7,8, --out FILE. Figure 6 (memory over
# time: 10 minutes of 50 services with 1 s checks) runs only when named: ./build.sh bench --only 6.
# Writes bench/results/latest.md (figure 6 alone: bench/results/memory-over-time.md) and prints it.
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
started=$(date +%s)

artifacts=${LP_ARTIFACTS:-$PWD/artifacts}
launcher="$artifacts/bin/localport"
if [[ ! -x "$launcher" ]]; then
  echo "bench: $launcher is missing; building LocalPort first" >&2
  ./build.sh build >/dev/null
fi

# The peers and the loopback sshd: install what is missing (a fresh machine may have none of them).
missing=()
command -v autossh >/dev/null || missing+=(autossh)
command -v socat >/dev/null || missing+=(socat)
command -v ssh >/dev/null && command -v ssh-keygen >/dev/null || missing+=(openssh-client)
[[ -x /usr/sbin/sshd ]] || missing+=(openssh-server)
if (( ${#missing[@]} > 0 )); then
  echo "bench: installing ${missing[*]}" >&2
  sudo=""
  [[ $(id -u) -eq 0 ]] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# What was measured: the commit, and whether src/ or hocon/ differ from it (LP_BENCH_COMMIT overrides, e.g. for an exported tree).
if [[ -n ${LP_BENCH_COMMIT:-} ]]; then
  commit=$LP_BENCH_COMMIT
else
  commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
  if [[ -n $(git status --porcelain -- src hocon 2>/dev/null) ]]; then commit="$commit (+ uncommitted changes in src/hocon)"; fi
fi

mkdir -p bench/results
# Not part of LocalPort.Actors.sln: `./build.sh test` never builds or runs the bench.
dotnet build bench/LocalPort.Bench/LocalPort.Bench.csproj -c Release -nologo -clp:ErrorsOnly -v:q >&2
dotnet run -c Release --no-build --project bench/LocalPort.Bench/LocalPort.Bench.csproj -- \
  --launcher "$launcher" --commit "$commit" "$@"

echo "bench: finished in $(( $(date +%s) - started )) s; table in bench/results/" >&2
