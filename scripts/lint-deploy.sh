#!/usr/bin/env bash
# Lints deploy/ with the tools operators' CI would use: yamllint (YAML of compose, Kubernetes, Prometheus),
# dclint (docker-compose rules), dockerfilelint (the Dockerfile) and a schema check of every Kubernetes object
# (kubernetes-models: the API types' own validation). Sourced by build.sh (lint_tools_ensure installs the tools,
# the npm ones into a cache folder) and run by DeploySpec:  scripts/lint-deploy.sh  (exit 1 and the findings on failure).

LINT_PREFIX=${LINT_PREFIX:-${XDG_CACHE_HOME:-$HOME/.cache}/akka-whatsapp/lint}
LINT_NPM_PACKAGES="dclint@3.1.0 dockerfilelint@1.8.0 kubernetes-models@4.5.1 yaml@2.9.1"

lint_tools_ensure() {
  tool_ensure yamllint yamllint || return 1
  if [ ! -x "$LINT_PREFIX/node_modules/.bin/dclint" ] || [ ! -x "$LINT_PREFIX/node_modules/.bin/dockerfilelint" ] \
    || [ ! -d "$LINT_PREFIX/node_modules/kubernetes-models" ] || [ ! -d "$LINT_PREFIX/node_modules/yaml" ]; then
    command -v npm >/dev/null 2>&1 || tool_ensure npm nodejs npm || return 1
    echo "build.sh: installing $LINT_NPM_PACKAGES with npm into $LINT_PREFIX" >&2
    mkdir -p "$LINT_PREFIX"
    # shellcheck disable=SC2086
    npm install --prefix "$LINT_PREFIX" --no-save --loglevel=error $LINT_NPM_PACKAGES >/dev/null || {
      echo "build.sh: npm could not install $LINT_NPM_PACKAGES (is the npm registry reachable?)" >&2; return 1; }
  fi
  export WA_TEST_LINT_PREFIX="$LINT_PREFIX"
  echo "build.sh: deploy/ linters in $LINT_PREFIX"
}

lint_deploy() {
  local root bin status=0
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  bin="$LINT_PREFIX/node_modules/.bin"
  for tool in yamllint "$bin/dclint" "$bin/dockerfilelint"; do
    command -v "$tool" >/dev/null 2>&1 || { echo "lint-deploy: $tool is missing (./build.sh test installs it)" >&2; return 2; }
  done
  echo "== yamllint"
  yamllint -c "$root/deploy/.yamllint.yml" "$root/deploy" || status=1
  echo "== dclint"
  "$bin/dclint" -c "$root/deploy/.dclintrc.yml" "$root/deploy/docker-compose.yml" || status=1
  echo "== dockerfilelint"
  "$bin/dockerfilelint" -c "$root/deploy" "$root/deploy/Dockerfile" || status=1
  echo "== kubernetes-models"
  NODE_PATH="$LINT_PREFIX/node_modules" node "$root/scripts/validate-k8s.js" "$root"/deploy/k8s/*.yaml || status=1
  return $status
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  lint_deploy
  exit $?
fi
