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
  bench   start PostgreSQL and a Release server, run the load scenarios, write bench/results/<time>/report.md
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
    # A Release server on a throwaway PostgreSQL, the load generator beside it, a report in bench/results/<timestamp>/.
    need_dotnet
    # shellcheck source=scripts/postgres.sh
    source scripts/postgres.sh
    dotnet build src/Akka.WhatsApp.Host/Akka.WhatsApp.Host.csproj -c Release -nologo -v q
    dotnet build src/Akka.WhatsApp.LoadTest/Akka.WhatsApp.LoadTest.csproj -c Release -nologo -v q
    pg_start
    out="bench/results/$(date -u +%Y%m%dT%H%M%SZ)"
    mkdir -p "$out"
    server_pid=""
    cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null; pg_stop; }
    trap cleanup EXIT
    WA_JOURNAL=postgres WA_POSTGRES="$PG_CONNECTION_STRING" WA_SEND_RATE=100000 WA_DATA_DIR="$PG_DIR/data-host" \
      WA_EDGE_PORT=15222 WA_MANAGEMENT_PORT=18558 WA_REMOTE_PORT=14053 Logging__LogLevel__Default=Warning \
      dotnet src/Akka.WhatsApp.Host/bin/Release/net10.0/Akka.WhatsApp.Host.dll >"$out/server.log" 2>&1 &
    server_pid=$!
    for _ in $(seq 1 60); do curl -sf http://127.0.0.1:18558/health/ready >/dev/null 2>&1 && break; sleep 1; done
    { echo "# Benchmark $(date -u +%Y-%m-%dT%H:%M:%SZ)"; echo; echo "One node, PostgreSQL journal, generator on the same $(nproc)-core machine."; echo; } >"$out/report.md"
    load="dotnet src/Akka.WhatsApp.LoadTest/bin/Release/net10.0/Akka.WhatsApp.LoadTest.dll --server 127.0.0.1:15222 --management http://127.0.0.1:18558 --out $out/report.md"
    $load offline-sync --messages 10000
    $load typing --signals 500
    # CPU seconds used by the server, PostgreSQL and the generator over each run: where the time goes.
    cpu_of() { local t=0 p; for p in "$@"; do [ -r "/proc/$p/stat" ] && t=$(( t + $(awk '{print $14+$15}' "/proc/$p/stat") )); done; echo "$t"; }
    pg_pids() { pgrep -u "$PG_USER_OS" postgres 2>/dev/null || pgrep postgres; }
    measured() {  # measured <label> <load arguments...>: runs one scenario and appends its CPU split
      local label=$1 s0 p0 t0 s1 p1 t1; shift
      s0=$(cpu_of "$server_pid"); p0=$(cpu_of $(pg_pids)); t0=$(date +%s.%N)
      { TIMEFORMAT='%U %S'; time $load "$@" 2>>"$out/generator.err"; } 2>"$out/gen.time"
      s1=$(cpu_of "$server_pid"); p1=$(cpu_of $(pg_pids)); t1=$(date +%s.%N)
      awk -v s="$((s1 - s0))" -v p="$((p1 - p0))" -v hz="$(getconf CLK_TCK)" -v t0="$t0" -v t1="$t1" -v label="$label" -v cores="$(nproc)" '
        NR == 1 { g = $1 + $2; w = t1 - t0
          printf "CPU over the %s run (%.1f s wall, %d cores = %.1f core-s): server %.1f s, PostgreSQL %.1f s, generator %.1f s\n\n", label, w, cores, cores * w, s / hz, p / hz, g }' \
        "$out/gen.time" >>"$out/report.md"
    }
    for rate in ${BENCH_RATES:-500 1000 2000}; do
      measured "one-to-one $rate msg/s" one-to-one --users 200 --rate "$rate" --seconds 15 --warmup 5
    done
    # Messages to 1,024 online members one at a time (time to the last member), then sustained group rates,
    # then the same with 2 KB payloads (what storing one copy per member costs).
    measured "group-fanout 0.5 msg/s" group-fanout --members 1024 --messages 15 --rate 0.5
    for rate in ${BENCH_GROUP_RATES:-2 4 8}; do
      measured "group-fanout $rate msg/s" group-fanout --members 1024 --messages "$(( rate * 10 ))" --rate "$rate"
    done
    measured "group-fanout 4 msg/s, 2 KB" group-fanout --members 1024 --messages 40 --rate 4 --size 2000
    echo "build.sh bench: report in $out/report.md"
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
