#!/usr/bin/env bash
# The programs the tests run for real (sshd on loopback, redis, PostgreSQL, socat, kubectl, a C toolchain for the
# native CLI...), as the Debian packages that provide them: prints those missing on this machine, one per line,
# nothing when all are there. .ci/run installs what it prints; `./build.sh test` names them when some are missing.
set -euo pipefail

has() { command -v "$1" >/dev/null 2>&1; }

has sshd || [ -x /usr/sbin/sshd ] || echo openssh-server
has ssh || echo openssh-client
has redis-server || echo redis-server
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || echo postgresql
has bc || echo bc
has socat || echo socat
{ has runuser && has setpriv; } || echo util-linux
has script || echo bsdutils   # status tables on a real terminal (StatusTableTests)
# The launcher's CLI is compiled to a native program (build.sh): a C compiler/linker and zlib's headers.
has gcc || has clang || { echo gcc; echo libc6-dev; }
[ -e /usr/include/zlib.h ] || echo zlib1g-dev
# Last: not every Debian mirror carries it (.ci/run warns instead of failing when it cannot be installed).
has kubectl || echo kubectl
