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
  test    build everything, start a throwaway PostgreSQL and s3rver, run every test project
  bench   start PostgreSQL and a Release server, run the load scenarios, write bench/results/<time>/report.md
  pack    publish the server to ./artifacts/server (for this machine's runtime, or ./build.sh pack <RID>)
  install-cli  install `wa` as a .NET tool (dotnet tool install --global): `wa` on the PATH in every terminal
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
    # shellcheck source=scripts/chromium.sh
    source scripts/chromium.sh
    dotnet build Akka.WhatsApp.sln -c Debug -nologo -v q
    chromium_ensure  # exports WA_TEST_CHROMEDRIVER for the dashboard test
    # shellcheck source=scripts/tools.sh
    source scripts/tools.sh
    tool_ensure ffmpeg ffmpeg  # the SDK's video thumbnails and transcoding (ffprobe comes with it)
    # shellcheck source=scripts/lint-deploy.sh
    source scripts/lint-deploy.sh
    lint_tools_ensure  # exports WA_TEST_LINT_PREFIX for DeploySpec's lint of deploy/
    source scripts/s3rver.sh
    # shellcheck source=scripts/coturn.sh
    source scripts/coturn.sh
    pg_start
    trap 'pg_stop; s3_stop; turn_stop' EXIT
    export WA_TEST_POSTGRES="$PG_CONNECTION_STRING"
    echo "build.sh: PostgreSQL for tests at 127.0.0.1:$PG_PORT"
    s3_start  # exports WA_TEST_S3 for the media tests on S3
    turn_start  # exports WA_TEST_TURN and WA_TEST_TURN_SECRET for the TURN credential tests
    status=0
    dotnet test Akka.WhatsApp.sln -c Debug --no-build -nologo \
      --blame-hang-timeout 10m 2>&1 | tee "$PG_DIR/test.log" || status=$?
    scripts/test-summary.sh "$PG_DIR/test.log" || true
    exit $status
    ;;
  bench)
    if [ "${2:-}" = "-h" ] || [ "${2:-}" = "--help" ]; then
      cat <<'BENCH'
usage: ./build.sh bench
  Starts a throwaway PostgreSQL (fsync on) and a Release server on loopback, runs the load scenarios
  (offline sync, typing, 1:1 at fixed rates, a ramp to p99 > 100 ms, group fan-out, 1,000 concurrent calls, pushes to 10,000 offline
  devices through an APNs stand-in, 19,000 connections, 1 MB media uploads on the local store and on s3rver) and writes bench/results/<UTC time>/report.md
  (+ report.json, SVG charts). About 10 minutes on 2 cores.
  Ctrl-C stops the scenario under way and everything else, and removes the throwaway database.
environment:
  BENCH_RATES         1:1 rates in msg/s (default 1000,2000,5000,10000)
  BENCH_GROUP_RATES   group messages per second (default 0.5,2,4,8)
  BENCH_CONNECTIONS   connections of the connections scenario (default 19000)
  BENCH_PUSH_DEVICES  offline devices of the push scenario (default 10000)
BENCH
      exit 0
    fi
    # A Release server on a throwaway PostgreSQL with production durability (fsync on), the peers' 1:1 workload (1,000
    # online users, random pairs, open loop), the load generator beside it; every scenario adds its run to
    # bench/results/<timestamp>/ (report.md, report.json, SVG charts). About 8 minutes on 2 cores.
    need_dotnet
    # shellcheck source=scripts/postgres.sh
    source scripts/postgres.sh
    source scripts/s3rver.sh
    dotnet build src/Akka.WhatsApp.Host/Akka.WhatsApp.Host.csproj -c Release -nologo -v q
    dotnet build src/Akka.WhatsApp.LoadTest/Akka.WhatsApp.LoadTest.csproj -c Release -nologo -v q
    # Up to the hard limit (20,000 here): the connections scenario holds ~19,000 sockets in the server and in the generator.
    ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
    PG_DURABLE=1 pg_start  # production durability: every figure is on writes that reached the disk
    out="bench/results/$(date -u +%Y%m%dT%H%M%SZ)"
    mkdir -p "$out"
    server_pid=""
    sink_pid=""
    cleanup() {
      [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null
      [ -n "$sink_pid" ] && kill "$sink_pid" 2>/dev/null; wait "$sink_pid" 2>/dev/null
      s3_stop
      pg_stop
    }
    trap cleanup EXIT
    # Ctrl-C (or SIGTERM) stops everything: the scenario under way, the server, the database (EXIT above). The generator
    # runs in the background and is waited for, because bash runs a trap only once a foreground child has ended.
    gen_pid=""
    trap 'echo "build.sh bench: interrupted; stopping the generator, the server and the database" >&2
          [ -n "$gen_pid" ] && kill "$gen_pid" 2>/dev/null; exit 130' INT TERM
    token=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')
    # The APNs stand-in the server pushes to (every scenario runs with push on; the push scenario measures it).
    sink_dir="$PG_DIR/push-sink"
    dotnet src/Akka.WhatsApp.LoadTest/bin/Release/net10.0/Akka.WhatsApp.LoadTest.dll push-sink --dir "$sink_dir" --port 18443 \
      >>"$out/push-sink.log" 2>&1 &
    sink_pid=$!
    for _ in $(seq 1 60); do [ -f "$sink_dir/ca.pem" ] && break; sleep 0.5; done
    start_server() {
      WA_APNS_KEY_FILE="$sink_dir/apns.p8" WA_APNS_KEY_ID=BENCHKEY01 WA_APNS_TEAM_ID=BENCHTEAM1 WA_APNS_TOPIC=bench.wa \
        WA_APNS_URL=https://127.0.0.1:18443 WA_PUSH_CA="$sink_dir/ca.pem" \
      WA_JOURNAL=postgres WA_POSTGRES="$PG_CONNECTION_STRING" WA_SEND_RATE=100000 WA_DATA_DIR="$PG_DIR/data-host" WA_LOADTEST_TOKEN="$token" \
        WA_EDGE_PORT=15222 WA_MANAGEMENT_PORT=18558 WA_REMOTE_PORT=14053 WA_MEDIA_PORT=18559 Logging__LogLevel__Default=Warning \
        dotnet src/Akka.WhatsApp.Host/bin/Release/net10.0/Akka.WhatsApp.Host.dll >>"$out/server.log" 2>&1 &
      server_pid=$!
      for _ in $(seq 1 60); do curl -sf http://127.0.0.1:18558/health/ready >/dev/null 2>&1 && break; sleep 1; done
    }
    start_server
    load() {  # load <scenario> <options…>: one scenario into the report; a run that lost messages is reported, not fatal
      dotnet src/Akka.WhatsApp.LoadTest/bin/Release/net10.0/Akka.WhatsApp.LoadTest.dll "$@" --server 127.0.0.1:15222 \
        --management http://127.0.0.1:18558 --token "$token" --server-pid "$server_pid" --out "$out" 2>>"$out/generator.log" &
      gen_pid=$!
      wait "$gen_pid" || echo "build.sh bench: $1 exited with $? (see $out/report.md and generator.log)" >&2
      gen_pid=""
    }
    load offline-sync --messages 10000
    load typing --signals 500
    load one-to-one --users 1000 --rate "${BENCH_RATES:-1000,2000,5000,10000}" --warmup 5 --seconds 15
    # End-to-end encryption (#14): its cost in the SDK, and the 1:1 load with and without it in the generator
    # (10 contacts each, so that the steps measure conversations under way, not their first prekey messages).
    load crypto
    # The SDK's history on the device (#22): a year of 100,000 messages, then searches of every kind.
    load search --messages 100000
    # Media: 1 MB uploads by 50 concurrent uploaders (requirement: p95 < 2 s), their downloads, beside disk + fsync and a plain PUT.
    load media --uploaders 50 --size 1048576 --seconds 15
    load one-to-one --users 1000 --contacts 10 --rate 2000 --warmup 5 --seconds 15
    load one-to-one --users 1000 --contacts 10 --rate 2000 --warmup 5 --seconds 15 --encrypt on
    load ramp --users 1000 --from 1000 --step 1000 --to 12000 --p99-ms 100 --warmup 3 --seconds 10
    # A 1,024-member group at rising rates (time to the last member), then 2 KB payloads (one stored copy per member).
    load group-fanout --members 1024 --rate "${BENCH_GROUP_RATES:-0.5,2,4,8}" --seconds 10
    load group-fanout --members 1024 --rate 4 --seconds 10 --size 2000
    # Calls (#18) while 1:1 messages run: 1,000 calls started at 100/s and held 10 s (1,000 up at once; relay p99 < 50 ms),
    # then 1,000 started in the same instant (a burst: what a spike does to the signalling and to the messages beside it).
    # The same without the messages shows the signalling's own latency.
    load calls --calls "${BENCH_CALLS:-1000}" --start-rate 100 --hold-ms 10000 --message-rate 500 --message-users 1000
    load calls --calls "${BENCH_CALLS:-1000}" --start-rate 100 --hold-ms 10000 --message-rate 0
    load calls --calls "${BENCH_CALLS:-1000}" --message-rate 500 --message-users 1000
    # Scheduled sends (#17): 10,000 messages due in the same instant (all delivered within a few seconds of it), 1:1 at 500/s alongside.
    load scheduled --messages "${BENCH_SCHEDULED:-10000}" --users 1000 --message-rate 500 --message-users 200
    # Status (#17): posts to an audience of 1,000 online users, compared with the group fan-out above (time to the last viewer).
    load status --audience 1000 --posts 5
    load push --devices "${BENCH_PUSH_DEVICES:-10000}" --rate 2000 --sink https://127.0.0.1:18443 --sink-ca "$sink_dir/ca.pem"
    # On a fresh server (same database): memory per connection is measured from the RSS the server has before the
    # logins, which after the scenarios above would already hold their heap.
    kill "$server_pid"; wait "$server_pid" 2>/dev/null || true
    start_server
    load connections --connections "${BENCH_CONNECTIONS:-19000}" --hold 30 --concurrency 200
    # Media on an S3 store (s3rver, npm): the same 1 MB uploads through presigned S3 URLs (s3rver checks no signatures).
    kill "$server_pid"; wait "$server_pid" 2>/dev/null || true
    s3_start
    WA_S3_ENDPOINT="$WA_TEST_S3" WA_S3_ACCESS_KEY=S3RVER WA_S3_SECRET_KEY=S3RVER WA_S3_BUCKET=bench-media WA_S3_CREATE_BUCKET=on start_server
    load media --uploaders 50 --size 1048576 --seconds 15
    grep -E '^(## |\*\*)' "$out/report.md" || true
    echo "build.sh bench: report in $out/report.md"
    ;;
  pack)
    need_dotnet
    # For one runtime (this machine's, or the RID given: ./build.sh pack linux-arm64), not the native assets of every platform.
    if [ -n "${2:-}" ]; then runtime=(-r "$2"); else runtime=(--use-current-runtime); fi
    rm -rf artifacts/server
    dotnet publish src/Akka.WhatsApp.Host/Akka.WhatsApp.Host.csproj -c Release "${runtime[@]}" --self-contained false -o artifacts/server -nologo
    ;;
  install-cli)
    need_dotnet
    rm -rf artifacts/cli
    dotnet pack src/Akka.WhatsApp.Cli/Akka.WhatsApp.Cli.csproj -c Release -o artifacts/cli -nologo -v q
    # update installs when missing and replaces an older build otherwise.
    dotnet tool update --global --add-source artifacts/cli Akka.WhatsApp.Cli
    case ":$PATH:" in
      *":$HOME/.dotnet/tools:"*) echo "build.sh: wa is installed; try: wa --help" ;;
      *) echo "build.sh: wa is installed in ~/.dotnet/tools, which is not on your PATH: add  export PATH=\"\$PATH:\$HOME/.dotnet/tools\"  to your shell's profile" ;;
    esac
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
