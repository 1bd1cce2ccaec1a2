#!/usr/bin/env bash
# Set up everything the tests need and run every suite:
# pytest (server extension, real JupyterHub portal), jest, galata/Playwright
# in Debian's chromium, and the packaging check of the wheel. Before the
# suites it builds the job environment (/opt/sdcc-lab/jobenv) and brings up
# the Slurm test cluster (scripts/slurm/); it brings the cluster down at the
# end, whatever happened.
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

# Lint and type checks: Python (ruff, mypy --strict on the package) and the
# frontend (Stylelint, Prettier, ESLint).
lint_all() {
  local rc=0
  ruff check sdcc_lab tests benchmarks examples scripts || rc=1
  ruff format --check sdcc_lab tests benchmarks examples scripts || rc=1
  mypy --strict sdcc_lab || rc=1
  jlpm lint:check || rc=1
  return $rc
}

t_start=$SECONDS
step setup bash scripts/setup.sh --test
if [ -n "${failed[*]:-}" ]; then
  echo "set-up failed: ${failed[*]}" >&2
  exit 1
fi
export PATH="$ROOT/.venv/bin:$PATH"

# The Slurm test cluster: down at the end, even when a suite fails or the
# run is interrupted.
cluster_is_up=0
cluster_down() {
  [ "$cluster_is_up" = 1 ] || return 0
  cluster_is_up=0
  step cluster-down bash scripts/slurm/cluster.sh down
}
trap cluster_down EXIT
trap 'exit 130' INT TERM
step jobenv bash scripts/slurm/jobenv.sh
cluster_is_up=1
step cluster-up bash scripts/slurm/cluster.sh up

step lint lint_all
step pytest pytest_suite
step jest jlpm test
step ui-tests bash ui-tests/run.sh
step wheel bash scripts/check_wheel.sh
cluster_down

printf '\n==> times (s)\n'
for name in setup jobenv cluster-up lint pytest jest ui-tests wheel cluster-down; do
  printf '%-12s %5s\n' "$name" "${took[$name]:--}"
done
printf '%-12s %5s\n' total $((SECONDS - t_start))
if [ ${#failed[@]} -gt 0 ]; then
  printf '\nFAILED: %s\n' "${failed[*]}" >&2
  exit 1
fi
echo "all suites passed"
