#!/usr/bin/env bash
# Run the browser tests on free ports. Expects the project's venv on PATH and
# ui-tests' node modules installed (scripts/test.sh does both).
set -euo pipefail
cd "$(dirname "$0")"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
export LAB_PORT=$(free_port) DEMO_PORT=$(free_port)
export DEMO_DATA=$(mktemp -d /tmp/sdcc-lab-ui-demo.XXXXXX)
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
trap 'rm -rf "$DEMO_DATA"' EXIT
jlpm playwright test "$@"
