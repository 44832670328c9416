#!/usr/bin/env bash
# Runs build.ps1 under PowerShell 7 (installed as a .NET tool into a cache folder when missing) for the targets that
# work on Linux, and checks what each answers: usage, the refusals of bench and of test without WA_TEST_POSTGRES
# (their message on stderr and their exit code, not a PowerShell exception), pack for one runtime, and clean.
# Run by .ci/run after the tests (clean removes the build outputs).
set -uo pipefail
cd "$(dirname "$0")/.."
PWSH_VERSION=7.6.10
PWSH_DIR=${PWSH_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/akka-whatsapp/pwsh}
if [ ! -x "$PWSH_DIR/pwsh" ]; then
  echo "check-build-ps1: installing PowerShell $PWSH_VERSION (dotnet tool) into $PWSH_DIR"
  dotnet tool install PowerShell --version "$PWSH_VERSION" --tool-path "$PWSH_DIR" >/dev/null || {
    echo "check-build-ps1: dotnet tool install PowerShell $PWSH_VERSION failed (is the NuGet registry reachable?)" >&2; exit 1; }
fi
failures=0
expect() { # expect <name> <wanted exit code> <text wanted in stdout+stderr> <build.ps1 args...>
  local name=$1 want=$2 text=$3
  shift 3
  local out code
  out=$(env -u WA_TEST_POSTGRES "$PWSH_DIR/pwsh" -NoProfile -NonInteractive -File ./build.ps1 "$@" 2>&1)
  code=$?
  if [ "$code" -ne "$want" ] || ! grep -qF -- "$text" <<<"$out"; then
    echo "check-build-ps1: FAIL $name: exit $code (wanted $want), output:"; echo "$out" | tail -20
    failures=$((failures + 1))
  else
    echo "check-build-ps1: ok   $name (exit $code)"
  fi
}
expect "usage" 1 "usage: ./build.ps1"
expect "bench refuses on Linux" 2 "run ./build.sh bench on Linux" bench
expect "test without WA_TEST_POSTGRES" 1 "set WA_TEST_POSTGRES" test
expect "pack" 0 "artifacts/server" pack
if [ -d artifacts/server/runtimes ] && [ "$(find artifacts/server/runtimes -mindepth 1 -maxdepth 1 -type d | wc -l)" -gt 1 ]; then
  echo "check-build-ps1: FAIL pack shipped the native assets of several runtimes:"; ls artifacts/server/runtimes
  failures=$((failures + 1))
fi
expect "clean" 0 "" clean
left=$(find src tests -type d \( -name bin -o -name obj \) | head -5)
if [ -n "$left" ] || [ -d artifacts ]; then
  echo "check-build-ps1: FAIL clean left: $left $( [ -d artifacts ] && echo artifacts)"; failures=$((failures + 1))
fi
[ "$failures" -eq 0 ] && echo "check-build-ps1: build.ps1 behaves" || exit 1
