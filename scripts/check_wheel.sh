#!/usr/bin/env bash
# Build the wheel from a clean copy of the tree and install it in a clean venv:
# both `jupyter labextension list` and `jupyter server extension list` must
# show sdcc_lab enabled and OK, and the wheel must carry a production build.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d /tmp/sdcc-lab-wheel.XXXXXX)
trap 'rm -rf "$work"' EXIT
# From a clean copy: the dev build of the labextension must not leak into the wheel.
wheel=$(bash scripts/build_wheel.sh "$work/dist" | tail -1)
echo "wheel: $(basename "$wheel") ($(du -k "$wheel" | cut -f1) KB)"
if unzip -l "$wheel" | grep -q '\.js\.map$'; then
  echo "the wheel carries source maps: not a production build" >&2; exit 1
fi
static_kb=$(unzip -l "$wheel" | awk '/labextensions\/sdcc-lab\/static\// {s+=$1} END {print int(s/1024)}')
echo "production labextension static/: ${static_kb} KB"
/usr/bin/python3 -m venv "$work/venv"
"$work/venv/bin/pip" install -q "$wheel" jupyterlab >"$work/install.log" 2>&1 \
  || { tail -30 "$work/install.log"; exit 1; }
labext=$("$work/venv/bin/jupyter" labextension list 2>&1)
srvext=$("$work/venv/bin/jupyter" server extension list 2>&1)
echo "$labext" | grep -E 'sdcc-lab .*enabled.*OK' || { echo "$labext" >&2; echo "labextension not OK" >&2; exit 1; }
echo "$srvext" | grep -E "sdcc_lab $(node -p "require('./package.json').version") .*OK" || { echo "$srvext" >&2; echo "server extension not OK" >&2; exit 1; }
echo "$srvext" | grep -E 'sdcc_lab .*enabled' || { echo "server extension not enabled" >&2; exit 1; }
echo "wheel check passed"
