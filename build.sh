#!/usr/bin/env bash
# The only entry point: ./build.sh run | test | bench | pack | clean
# Installs what it needs (the .NET SDK must be present; PostgreSQL is installed with apt when missing).
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$(pwd)
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

usage() {
  cat <<'USAGE'
usage: ./build.sh <target>
  run     build (Release) and start a single-node server on the embedded default
          (SQLite journal under ./data, edge tcp/5222, management http/8558)
  test    build everything, start a throwaway PostgreSQL, run every test project
  bench   run the load-test suite (not available yet: see the load-testing issue)
  pack    publish the server to ./artifacts/server
  clean   remove build outputs and ./artifacts (keeps ./data)
USAGE
}

need_dotnet() {
  command -v dotnet >/dev/null 2>&1 || { echo "build.sh: the .NET 10 SDK (dotnet) is required: https://dot.net" >&2; exit 1; }
}

target=${1:-}
case "$target" in
  run)
    need_dotnet
    dotnet build src/Akka.WhatsApp.Host/Akka.WhatsApp.Host.csproj -c Release -nologo -v q
    # exec so that Ctrl-C / SIGTERM reach the server, which shuts down through coordinated shutdown.
    exec dotnet src/Akka.WhatsApp.Host/bin/Release/net10.0/Akka.WhatsApp.Host.dll "${@:2}"
    ;;
  test)
    need_dotnet
    # shellcheck source=scripts/postgres.sh
    source scripts/postgres.sh
    dotnet build Akka.WhatsApp.sln -c Debug -nologo -v q
    pg_start
    trap pg_stop EXIT
    export WA_TEST_POSTGRES="$PG_CONNECTION_STRING"
    echo "build.sh: PostgreSQL for tests at 127.0.0.1:$PG_PORT"
    status=0
    dotnet test Akka.WhatsApp.sln -c Debug --no-build -nologo \
      --blame-hang-timeout 10m 2>&1 | tee "$PG_DIR/test.log" || status=$?
    scripts/test-summary.sh "$PG_DIR/test.log" || true
    exit $status
    ;;
  bench)
    echo "build.sh bench: the load generator is not built yet (see the load-testing issue)." >&2
    exit 2
    ;;
  pack)
    need_dotnet
    dotnet publish src/Akka.WhatsApp.Host/Akka.WhatsApp.Host.csproj -c Release -o artifacts/server -nologo
    ;;
  clean)
    need_dotnet
    dotnet clean Akka.WhatsApp.sln -nologo -v q || true
    rm -rf artifacts
    find src tests -type d \( -name bin -o -name obj \) -prune -exec rm -rf {} +
    ;;
  *)
    usage
    [ -z "$target" ] && exit 1 || exit 2
    ;;
esac
