#!/usr/bin/env bash
# Set up (scripts/setup.sh) and run the demo portal. Arguments go to
# `sdcc-lab demo`, e.g. scripts/demo.sh --port 8000 --users alice,bob
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/sdcc-lab demo "$@"
