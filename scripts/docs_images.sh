#!/usr/bin/env bash
# Regenerate the documentation's screenshots (docs/images/*.png) from the
# browser tests: the specs below save the pages the README and the admin guide
# show when SDCC_DOCS_IMAGES names a folder (ui-tests/tests/docs-images.ts).
#
#   bash scripts/docs_images.sh            # all images
#   bash scripts/docs_images.sh -g NAME    # extra playwright arguments
#
# Needs what the browser tests need (scripts/setup.sh --test, the built
# frontend) and the Slurm test cluster (bash scripts/slurm/cluster.sh up)
# for slurm-session.png and session-end-*.png.
# The images:
#   spawn-form.png       the spawn form, a batch job with its limits   (a11y.spec.ts)
#   link-page.png        the share link's page on the share service    (a11y.spec.ts)
#   import-dialog.png    JupyterLab's import dialog for that link      (a11y.spec.ts)
#   resources-panel.png  Session resources with the countdown, worker jobs (a11y.lab.spec.ts)
#   slurm-session.png    a real Slurm session's panel and countdown    (spawn.spec.ts)
#   session-end-*.png    the home page at the next visit after each kind of end
#                        of a batch session (docs/user-guide.md)          (ends.spec.ts):
#     session-end-timeout.png              its time limit
#     session-end-out-of-memory.png        killed over its memory, with the peak
#     session-end-out-of-memory-form.png   the form after it: more memory suggested
#     session-end-cancelled-by-user.png    the user's own scancel
#     session-end-cancelled-by-admin.png   an administrator's scancel
#     session-end-killed.png               its server killed (a signal)
#     session-end-completed.png            shut down from within the session
#     session-end-exit-code.png            a non-zero exit code (recorded sacct output)
#     session-end-node-failure.png         its node failed (recorded sacct output)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
export SDCC_DOCS_IMAGES="$root/docs/images"
mkdir -p "$SDCC_DOCS_IMAGES"
cd "$root"
if [ -f .venv/bin/activate ]; then
  # shellcheck disable=SC1091
  source .venv/bin/activate
fi
# The real-cluster specs cancel alice's and bob's jobs: one such suite at a time.
flock -o /tmp/sdcc-slurm.lock flock -o /tmp/sdcc-ui.lock \
  bash ui-tests/run.sh tests/a11y.spec.ts tests/a11y.lab.spec.ts tests/spawn.spec.ts \
  tests/ends.spec.ts "$@"
ls -l "$SDCC_DOCS_IMAGES"
