#!/usr/bin/env bash
# Set up (scripts/setup.sh) and run the demo portal. Arguments go to
# `sdcc-lab demo`, e.g. scripts/demo.sh --port 8000 --users alice,bob
# As root, it also brings up the single-node Slurm test cluster and the job
# environment, so that sessions can run as Slurm jobs of the system users
# alice and bob (pass --local-only to skip that). The cluster stays up after
# the demo stops: `bash scripts/slurm/cluster.sh down` stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [ "$(id -u)" = 0 ] && [[ " $* " != *" --local-only "* ]]; then
  if ! { bash scripts/slurm/cluster.sh up && bash scripts/slurm/jobenv.sh; }; then
    echo "The Slurm test cluster did not come up: the demo offers local sessions only." >&2
  fi
fi
exec .venv/bin/sdcc-lab demo "$@"
