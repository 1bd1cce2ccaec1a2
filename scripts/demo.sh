#!/usr/bin/env bash
# Set up (scripts/setup.sh) and run the demo portal. Arguments go to
# `sdcc-lab demo`, e.g. scripts/demo.sh --port 8000 --users alice,bob
# With --mfa (the Keycloak + Apache front), setup also installs what that needs.
# As root, it also brings up the single-node Slurm test cluster and the job
# environment, so that sessions can run as Slurm jobs of the system users
# alice and bob (pass --local-only to skip the cluster). The cluster stays up
# after the demo stops: `bash scripts/slurm/cluster.sh down` stops it.
# As root, every session runs as its user's own Unix account: the demo creates
# the accounts of demo users who have none (--create-users), and local
# sessions run the server from the job environment when the users cannot read
# this clone (one under /root, say).
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ " $* " == *" --mfa "* ]]; then
  bash scripts/setup.sh --mfa
else
  bash scripts/setup.sh
fi
extra=()
if [ "$(id -u)" = 0 ]; then
  extra+=(--create-users)
  if [[ " $* " != *" --local-only "* ]]; then
    if ! { bash scripts/slurm/cluster.sh up && bash scripts/slurm/jobenv.sh; }; then
      echo "The Slurm test cluster did not come up: the demo offers local sessions only." >&2
    fi
  elif ! bash scripts/slurm/jobenv.sh; then
    echo "The job environment was not built: local sessions need this clone readable by the demo users." >&2
  fi
fi
exec .venv/bin/sdcc-lab demo "${extra[@]}" "$@"
