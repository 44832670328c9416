# Throwaway PostgreSQL for tests and benchmarks; sourced by build.sh.
# pg_start: installs the server with apt when missing, runs initdb as an unprivileged user in a temp folder,
# starts it on a free loopback port and sets PG_DIR, PG_PORT and PG_CONNECTION_STRING. pg_stop: stops and removes it.

PG_USER_OS=${PG_USER_OS:-wa-postgres}

pg_find_bin() {
  local d
  for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && { echo "$d"; return 0; }
  done
  command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1 && { dirname "$(command -v initdb)"; return 0; }
  return 1
}

pg_install() {
  echo "build.sh: PostgreSQL server binaries not found; installing the 'postgresql' package with apt" >&2
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq postgresql >/dev/null
}

pg_free_port() {
  local port
  for _ in $(seq 1 200); do
    port=$(( 20000 + RANDOM % 20000 ))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "$port"; return 0; fi
  done
  echo "build.sh: no free loopback port found for PostgreSQL" >&2
  return 1
}

# Runs a command as the unprivileged database owner (initdb and postgres refuse to run as root).
pg_as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u "$PG_USER_OS" -- "$@"
  else
    "$@"
  fi
}

pg_start() {
  PG_BIN=$(pg_find_bin) || { pg_install; PG_BIN=$(pg_find_bin); } || {
    echo "build.sh: PostgreSQL could not be installed; tests need it (install the 'postgresql' package)" >&2; return 1; }
  if [ "$(id -u)" -eq 0 ] && ! id "$PG_USER_OS" >/dev/null 2>&1; then
    useradd --system --no-create-home --shell /usr/sbin/nologin "$PG_USER_OS"
  fi
  PG_DIR=$(mktemp -d /tmp/wa-pg.XXXXXX)
  chmod 755 "$PG_DIR"
  [ "$(id -u)" -eq 0 ] && chown "$PG_USER_OS" "$PG_DIR"
  PG_PORT=$(pg_free_port)
  pg_as_owner "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres --auth=trust -E UTF8 >"$PG_DIR/initdb.log" 2>&1 || {
    cat "$PG_DIR/initdb.log" >&2; return 1; }
  # A throwaway database with generous connections for parallel tests. Tests run with durability off for speed;
  # PG_DURABLE=1 (the bench) keeps PostgreSQL's production defaults (fsync, synchronous_commit, full_page_writes on),
  # because a figure measured on writes that never reach the disk is not one users get.
  local durability="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
  [ "${PG_DURABLE:-0}" = 1 ] && durability="-c fsync=on -c synchronous_commit=on -c full_page_writes=on"
  pg_as_owner "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/postgres.log" -w -t 60 start \
    -o "-p $PG_PORT -k $PG_DIR -c listen_addresses=127.0.0.1 -c max_connections=300 $durability" \
    >/dev/null || { cat "$PG_DIR/postgres.log" >&2; return 1; }
  PG_CONNECTION_STRING="Host=127.0.0.1;Port=$PG_PORT;Username=postgres;Database=postgres;Pooling=true;Maximum Pool Size=50"
  export PG_DIR PG_PORT PG_CONNECTION_STRING
}

pg_stop() {
  [ -n "${PG_DIR:-}" ] && [ -d "$PG_DIR/data" ] || return 0
  pg_as_owner "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$PG_DIR"
}
