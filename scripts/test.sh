#!/usr/bin/env bash
# Set up everything the tests need and run every suite:
# pytest (server extension, real JupyterHub portal), jest, galata/Playwright
# in Debian's chromium, and the packaging check of the wheel.
# Prints the time of each step; exits non-zero if any suite failed.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
failed=()
declare -A took

step() { # name, command...
  local name=$1; shift
  printf '\n==> %s\n' "$name"
  local t0=$SECONDS
  "$@"
  local rc=$?
  took[$name]=$((SECONDS - t0))
  [ $rc -eq 0 ] || failed+=("$name (exit $rc)")
  return 0
}

pytest_suite() {
  python -m pytest "$@"
  local rc=$?
  # Exit 5 means no test ran: that is a failure, not a pass.
  [ $rc -eq 5 ] && echo "pytest collected no test" >&2
  return $rc
}

t_start=$SECONDS
step setup bash scripts/setup.sh --test
if [ -n "${failed[*]:-}" ]; then
  echo "set-up failed: ${failed[*]}" >&2
  exit 1
fi
export PATH="$ROOT/.venv/bin:$PATH"

step pytest pytest_suite
step jest jlpm test
step ui-tests bash ui-tests/run.sh
step wheel bash scripts/check_wheel.sh

printf '\n==> times (s)\n'
for name in setup pytest jest ui-tests wheel; do
  printf '%-10s %5s\n' "$name" "${took[$name]:--}"
done
printf '%-10s %5s\n' total $((SECONDS - t_start))
if [ ${#failed[@]} -gt 0 ]; then
  printf '\nFAILED: %s\n' "${failed[*]}" >&2
  exit 1
fi
echo "all suites passed"
