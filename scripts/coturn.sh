# Throwaway TURN relay (coturn) for the call tests; sourced by build.sh.
# turn_start: installs the Debian package coturn with apt when turnserver is missing, starts it on a free loopback
# port (UDP and TCP, no TLS/DTLS, no CLI) with coturn's REST API auth (use-auth-secret) and a fresh random secret,
# waits until it answers a STUN Binding request and exports WA_TEST_TURN=127.0.0.1:PORT and WA_TEST_TURN_SECRET.
# turn_stop: stops it by pid and removes its temp folder.

TURN_REALM=akka-whatsapp.test

turn_install() {
  command -v turnserver >/dev/null 2>&1 && command -v turnutils_stunclient >/dev/null 2>&1 && return 0
  echo "build.sh: turnserver not found; installing the 'coturn' package with apt" >&2
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  if ! { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends coturn >/dev/null; }; then
    echo "build.sh: could not install coturn with apt; the TURN tests need turnserver (install the 'coturn' package by hand)" >&2
    return 1
  fi
  command -v turnserver >/dev/null 2>&1 && command -v turnutils_stunclient >/dev/null 2>&1 || {
    echo "build.sh: apt installed coturn but turnserver or turnutils_stunclient is still not on PATH" >&2
    return 1
  }
}

# A port free for TCP (nothing accepts a connection) and, where ss can tell, for UDP: coturn listens on both, and
# on a port it cannot bind it retries forever instead of exiting.
turn_free_port() {
  local port
  for _ in $(seq 1 200); do
    port=$(( 20000 + RANDOM % 20000 ))
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && continue
    if command -v ss >/dev/null 2>&1 && [ -n "$(ss -Hlun "sport = :$port" 2>/dev/null)" ]; then continue; fi
    echo "$port"
    return 0
  done
  echo "build.sh: no free loopback port found for turnserver" >&2
  return 1
}

# Up to 30 s: a STUN Binding answered over UDP and a TCP connection accepted mean it serves both transports.
turn_wait() {
  local i
  for i in $(seq 1 60); do
    if timeout 2 turnutils_stunclient -p "$TURN_PORT" 127.0.0.1 >/dev/null 2>&1 \
      && (exec 3<>"/dev/tcp/127.0.0.1/$TURN_PORT") 2>/dev/null; then
      return 0
    fi
    if ! kill -0 "$TURN_PID" 2>/dev/null; then
      echo "build.sh: turnserver exited at start:" >&2; cat "$TURN_DIR/turnserver.log" >&2; return 1
    fi
    # Another process took the port between the check and the start: coturn would retry the bind forever.
    grep -q "Cannot bind" "$TURN_DIR/turnserver.log" 2>/dev/null && return 2
    [ "$i" -eq 60 ] && { echo "build.sh: turnserver did not answer on 127.0.0.1:$TURN_PORT within 30 s:" >&2; tail -n 20 "$TURN_DIR/turnserver.log" >&2; return 1; }
    sleep 0.5
  done
}

turn_start() {
  turn_install || return 1
  TURN_DIR=$(mktemp -d /tmp/wa-turn.XXXXXX)
  TURN_SECRET=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')
  local attempt status
  for attempt in 1 2 3; do
    TURN_PORT=$(turn_free_port) || { turn_stop; return 1; }
    # -n: no /etc/turnserver.conf. The user database (unused with use-auth-secret, but always opened) and the pid file
    # live in the temp folder, not in /var. --no-cli: the telnet CLI would take 127.0.0.1:5766 (and, without a
    # password, log a CONFIG ERROR). --allow-loopback-peers: without it coturn refuses (403 Forbidden IP) permissions and
    # channels to 127.x peers, which is where every test peer is. The relay ports (49152-65535) stay above ours.
    turnserver -n --listening-ip=127.0.0.1 --relay-ip=127.0.0.1 --listening-port="$TURN_PORT" \
      --use-auth-secret --static-auth-secret="$TURN_SECRET" --realm="$TURN_REALM" \
      --no-tls --no-dtls --no-cli --allow-loopback-peers \
      --userdb="$TURN_DIR/turndb" --pidfile="$TURN_DIR/turnserver.pid" \
      --log-file=stdout --simple-log >"$TURN_DIR/turnserver.log" 2>&1 &
    TURN_PID=$!
    status=0
    turn_wait || status=$?
    [ "$status" -eq 0 ] && break
    kill "$TURN_PID" 2>/dev/null || true
    wait "$TURN_PID" 2>/dev/null || true
    TURN_PID=""
    if [ "$status" -ne 2 ] || [ "$attempt" -eq 3 ]; then
      [ "$status" -eq 2 ] && echo "build.sh: turnserver could not bind a loopback port in 3 attempts" >&2
      turn_stop
      return 1
    fi
    : >"$TURN_DIR/turnserver.log"
  done
  WA_TEST_TURN="127.0.0.1:$TURN_PORT"
  WA_TEST_TURN_SECRET="$TURN_SECRET"
  export TURN_DIR TURN_PORT TURN_PID WA_TEST_TURN WA_TEST_TURN_SECRET
  echo "build.sh: coturn for tests at $WA_TEST_TURN (udp+tcp, realm $TURN_REALM, REST API secret in WA_TEST_TURN_SECRET)"
}

# Safe under `set -e` and as an EXIT trap: it never fails, and does nothing when turn_start did not run.
turn_stop() {
  if [ -n "${TURN_PID:-}" ]; then
    kill "$TURN_PID" 2>/dev/null || true
    local i
    for i in $(seq 1 20); do kill -0 "$TURN_PID" 2>/dev/null || break; sleep 0.25; done
    kill -0 "$TURN_PID" 2>/dev/null && kill -9 "$TURN_PID" 2>/dev/null
    wait "$TURN_PID" 2>/dev/null || true
    TURN_PID=""
  fi
  if [ -n "${TURN_DIR:-}" ] && [ -d "$TURN_DIR" ]; then
    rm -rf "$TURN_DIR"
  fi
  TURN_DIR=""
  return 0
}
