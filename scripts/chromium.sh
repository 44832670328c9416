# Headless Chromium and its WebDriver for the dashboard test; sourced by build.sh.
# chromium_ensure: installs the Debian packages 'chromium' and 'chromium-driver' with apt when chromedriver is
# missing, then exports WA_TEST_CHROMEDRIVER (the path DashboardSpec starts). Fails loudly when it cannot.

chromium_ensure() {
  if ! command -v chromedriver >/dev/null 2>&1; then
    echo "build.sh: chromedriver not found; installing the 'chromium' and 'chromium-driver' packages with apt" >&2
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    if ! { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium chromium-driver >/dev/null; }; then
      echo "build.sh: could not install chromium and chromium-driver with apt; the dashboard test needs them" \
        "(install them by hand, or set WA_TEST_CHROMEDRIVER to a chromedriver binary)" >&2
      return 1
    fi
    command -v chromedriver >/dev/null 2>&1 || {
      echo "build.sh: apt installed chromium-driver but chromedriver is still not on PATH" >&2
      return 1
    }
  fi
  WA_TEST_CHROMEDRIVER=$(command -v chromedriver)
  export WA_TEST_CHROMEDRIVER
  echo "build.sh: headless Chromium for tests through $WA_TEST_CHROMEDRIVER"
}
