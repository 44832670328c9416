# Command-line tools some tests run (ffmpeg for the SDK's video transcoding; more as tests need them); sourced by build.sh.
# tool_ensure <command> <package...>: installs the Debian packages with apt when <command> is missing, and fails
# loudly when it cannot (the tests that need the tool fail, not skip, without it).

tool_ensure() {
  local command=$1
  shift
  if ! command -v "$command" >/dev/null 2>&1; then
    echo "build.sh: $command not found; installing $* with apt" >&2
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    if ! { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@" >/dev/null; }; then
      echo "build.sh: could not install $* with apt; the tests that run $command need it (install it by hand)" >&2
      return 1
    fi
    command -v "$command" >/dev/null 2>&1 || {
      echo "build.sh: apt installed $* but $command is still not on PATH" >&2
      return 1
    }
  fi
  echo "build.sh: $command for tests at $(command -v "$command")"
}
