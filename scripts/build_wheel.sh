#!/usr/bin/env bash
# Build the sdcc_lab wheel from a clean copy of the tracked files (their
# working-tree content), so that a development build of the labextension
# never leaks into it.
#   scripts/build_wheel.sh OUTDIR    prints the wheel's path as its last line
# Needs the project venv (.venv, from scripts/setup.sh) for `python -m build`.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -eq 1 ] || { echo "usage: $0 OUTDIR" >&2; exit 2; }
mkdir -p "$1"
out=$(cd "$1" && pwd)
[ -x .venv/bin/python ] || { echo "no .venv: run scripts/setup.sh first" >&2; exit 1; }
work=$(mktemp -d /tmp/sdcc-lab-build.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir "$work/src-tree"
git ls-files -z | tar --null -T - -cf - | tar -xf - -C "$work/src-tree"
.venv/bin/python -m build --wheel --outdir "$work/dist" "$work/src-tree" >"$work/build.log" 2>&1 \
  || { tail -30 "$work/build.log" >&2; exit 1; }
wheel=$(ls "$work"/dist/sdcc_lab-*.whl)
mv "$wheel" "$out/"
echo "$out/$(basename "$wheel")"
