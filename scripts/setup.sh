#!/usr/bin/env bash
# Set up everything sdcc_lab needs on a Debian 12 machine, as root:
# Debian packages, a virtual environment (.venv) with sdcc_lab installed in
# development mode, the built frontend, and configurable-http-proxy.
#   scripts/setup.sh          what the demo portal needs
#   scripts/setup.sh --mfa    also what `sdcc-lab demo --mfa` needs (Apache with
#                             mod_auth_openidc, Java, Keycloak fetched into the cache)
#   scripts/setup.sh --test   also what the test suites need (chromium, ui-tests, all of --mfa)
# Safe to run again: it skips what is already in place.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WITH_TESTS=0
WITH_MFA=0
for arg in "$@"; do
  case "$arg" in
    --test) WITH_TESTS=1; WITH_MFA=1 ;;
    --mfa) WITH_MFA=1 ;;
  esac
done

log() { printf '\n==> %s\n' "$*"; }

# --- Debian packages --------------------------------------------------------
packages=(python3 python3-venv python3-dev git ca-certificates)
command -v node >/dev/null 2>&1 || packages+=(nodejs npm)
if [ "$WITH_TESTS" = 1 ]; then
  packages+=(chromium apache2 apache2-utils postgresql)
fi
if [ "$WITH_MFA" = 1 ]; then
  # Keycloak runs on Java 17+ and comes from Maven Central (sdcc_lab/front/keycloak.py).
  packages+=(apache2 libapache2-mod-auth-openidc openjdk-17-jre-headless maven unzip)
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  log "apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# --- Python environment -----------------------------------------------------
# Built from Debian's Python, not a per-user one: batch jobs of other users
# must be able to run its interpreter.
if [ ! -x .venv/bin/python ]; then
  log "virtual environment .venv"
  /usr/bin/python3 -m venv .venv
  .venv/bin/pip install -q --upgrade pip
fi
export PATH="$ROOT/.venv/bin:$PATH"

stamp=.venv/.sdcc-lab-deps
want=$(cat pyproject.toml package.json yarn.lock | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ] || [ ! -d node_modules ]; then
  log "pip install -e .[hub,test,dev] (builds the frontend)"
  .venv/bin/pip install -q -e ".[hub,test,dev]"
  echo "$want" > "$stamp"
fi
log "build the frontend"
jlpm build >/dev/null
jupyter labextension develop --overwrite . >/dev/null 2>&1

# --- configurable-http-proxy, inside the venv -------------------------------
if [ ! -x .venv/bin/configurable-http-proxy ]; then
  log "configurable-http-proxy"
  npm install -g --silent --prefix .venv configurable-http-proxy@5.3.0 >/dev/null
fi

if [ "$WITH_MFA" = 1 ]; then
  # Once per machine (cached in ~/.cache/sdcc-lab): download, unpack, and Keycloak's own
  # first-start build, so that neither the demo nor the tests pay for it.
  kc_home="${SDCC_LAB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sdcc-lab}/keycloak-26.7.3"
  if [ ! -f "$kc_home/.sdcc-lab-built" ]; then
    log "Keycloak (Maven Central), into the cache"
    .venv/bin/python -c 'import sys; from sdcc_lab.front.keycloak import main; sys.exit(main(["fetch"]))'
  fi
fi

if [ "$WITH_TESTS" = 1 ]; then
  if [ ! -d ui-tests/node_modules ]; then
    log "ui-tests node modules"
    (cd ui-tests && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 jlpm install >/dev/null)
  fi
fi
log "set-up done"
