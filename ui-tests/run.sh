#!/usr/bin/env bash
# Run the browser tests on free ports. Expects the project's venv on PATH and
# ui-tests' node modules installed (scripts/test.sh does both).
set -euo pipefail
cd "$(dirname "$0")"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
export LAB_PORT=$(free_port) DEMO_PORT=$(free_port)
export DEMO_DATA=$(mktemp -d /tmp/sdcc-lab-ui-demo.XXXXXX)
# The demo users' folders: fresh for each run (as root the demo would use their real homes).
# Mode 711: each user passes through to their own folder.
export DEMO_HOMES=$(mktemp -d /tmp/sdcc-lab-ui-homes.XXXXXX)
chmod 711 "$DEMO_HOMES"
# The demo's login password: the specs type it (the demo reads SDCC_LAB_DEMO_PASSWORD).
export DEMO_PASSWORD=$(python3 -c 'import secrets; print(secrets.token_urlsafe(18))')
export SDCC_LAB_DEMO_PASSWORD=$DEMO_PASSWORD
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
# Batch sessions on the test cluster run in the test users' real homes: start them
# without a JupyterLab workspace an earlier run saved there (it would reopen its tabs).
if [ "$(id -u)" = 0 ]; then
  for user in alice bob carol; do
    home=$(getent passwd "$user" | cut -d: -f6) || continue
    rm -f "$home"/.jupyter/lab/workspaces/*
  done
fi
trap 'rm -rf "$DEMO_DATA" "$DEMO_HOMES"' EXIT
jlpm playwright test "$@"
