# Throwaway S3-compatible server (the npm package s3rver) for the media tests; sourced by build.sh.
# s3_start: installs s3rver 3.7.1 with npm into a cache folder when missing (and node/npm with apt when running as
# root without them), starts it on a free loopback port with a temp data folder, waits until it answers and exports
# WA_TEST_S3=127.0.0.1:PORT (access key and secret: S3RVER; s3rver never checks SigV4 signatures).
# s3_stop: stops it by pid and removes the temp folder.

S3RVER_VERSION=3.7.1
S3RVER_PREFIX=${S3RVER_PREFIX:-${XDG_CACHE_HOME:-$HOME/.cache}/akka-whatsapp/s3rver}

s3_install_node() {
  command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 && return 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "build.sh: node and npm are required to run s3rver for the media tests (install the 'nodejs' and 'npm' packages)" >&2
    return 1
  fi
  echo "build.sh: node/npm not found; installing the 'nodejs' and 'npm' packages with apt" >&2
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null; } || {
    echo "build.sh: could not install nodejs and npm with apt; the media tests need them for s3rver" >&2; return 1; }
  command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || {
    echo "build.sh: apt installed nodejs and npm but node or npm is still not on PATH" >&2; return 1; }
}

s3_install() {
  S3RVER_BIN="$S3RVER_PREFIX/node_modules/.bin/s3rver"
  if [ -x "$S3RVER_BIN" ] && [ "$("$S3RVER_BIN" --version 2>/dev/null)" = "$S3RVER_VERSION" ]; then
    return 0
  fi
  s3_install_node || return 1
  echo "build.sh: installing s3rver@$S3RVER_VERSION with npm into $S3RVER_PREFIX" >&2
  mkdir -p "$S3RVER_PREFIX"
  npm install --prefix "$S3RVER_PREFIX" --no-save --loglevel=error "s3rver@$S3RVER_VERSION" >/dev/null || {
    echo "build.sh: npm could not install s3rver@$S3RVER_VERSION (is the npm registry reachable?)" >&2; return 1; }
  [ -x "$S3RVER_BIN" ] || { echo "build.sh: npm installed s3rver but $S3RVER_BIN is missing" >&2; return 1; }
}

s3_free_port() {
  local port
  for _ in $(seq 1 200); do
    port=$(( 20000 + RANDOM % 20000 ))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "$port"; return 0; fi
  done
  echo "build.sh: no free loopback port found for s3rver" >&2
  return 1
}

s3_start() {
  s3_install || return 1
  S3_DIR=$(mktemp -d /tmp/wa-s3.XXXXXX)
  mkdir -p "$S3_DIR/data"
  S3_PORT=$(s3_free_port) || return 1
  "$S3RVER_BIN" --directory "$S3_DIR/data" --address 127.0.0.1 --port "$S3_PORT" --silent >"$S3_DIR/s3rver.log" 2>&1 &
  S3_PID=$!
  # Up to 30 s: any HTTP answer (s3rver lists buckets at /, 403 without credentials) means it listens.
  local i
  for i in $(seq 1 60); do
    if curl -s -o /dev/null "http://127.0.0.1:$S3_PORT/" 2>/dev/null; then break; fi
    if ! kill -0 "$S3_PID" 2>/dev/null; then
      echo "build.sh: s3rver exited at start:" >&2; cat "$S3_DIR/s3rver.log" >&2; S3_PID=""; return 1
    fi
    [ "$i" -eq 60 ] && { echo "build.sh: s3rver did not answer on 127.0.0.1:$S3_PORT within 30 s" >&2; s3_stop; return 1; }
    sleep 0.5
  done
  WA_TEST_S3="127.0.0.1:$S3_PORT"
  export S3_DIR S3_PORT S3_PID WA_TEST_S3
  echo "build.sh: s3rver for tests at $WA_TEST_S3 (access key S3RVER, secret S3RVER)"
}

# Safe under `set -e` and as an EXIT trap: it never fails, and does nothing when s3_start did not run.
s3_stop() {
  if [ -n "${S3_PID:-}" ]; then
    kill "$S3_PID" 2>/dev/null || true
    wait "$S3_PID" 2>/dev/null || true
    S3_PID=""
  fi
  if [ -n "${S3_DIR:-}" ] && [ -d "$S3_DIR" ]; then
    rm -rf "$S3_DIR"
  fi
  S3_DIR=""
  return 0
}
