#!/usr/bin/env bash
# Build the "job environment": a Python environment at /opt/sdcc-lab/jobenv,
# readable by every user, in which single-user Jupyter servers run as Slurm
# jobs of other users (alice, bob). It holds a non-editable install of this
# repository's wheel, so it does not need the repo folder to be readable,
# plus jupyterlab, notebook (Notebook 7) and jupyterhub (for jupyterhub-singleuser), and the dask
# extra (dask-jobqueue) so that sessions can start Dask workers.
#   scripts/slurm/jobenv.sh     build it, or do nothing if it is up to date
# Made from Debian's /usr/bin/python3: a per-user Python's home is not
# readable by other users. Needs .venv (scripts/setup.sh) to build the wheel.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
PREFIX=/opt/sdcc-lab
ENV=$PREFIX/jobenv
# nh3: the share service's preview sanitiser (a demo started by a non-root user runs its share service from here).
PINS=(jupyterlab==4.6.6 notebook==7.6.5 jupyterhub==6.1.1 nh3==0.3.8)
umask 022
[ "$(id -u)" = 0 ] || { echo "jobenv.sh: run as root" >&2; exit 1; }
t0=$SECONDS

# The stamp: the content of every tracked file, and the pins.
want=$( { git ls-files -z | xargs -0 sha256sum --; printf '%s\n' "${PINS[@]}"; } | sha256sum | cut -d' ' -f1)
stamp=$ENV/.sdcc-lab-stamp
if [ -x "$ENV/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
  echo "job environment $ENV is up to date"
else
  work=$(mktemp -d /tmp/sdcc-lab-jobenv.XXXXXX)
  trap 'rm -rf "$work"' EXIT
  echo "==> wheel"
  wheel=$(bash scripts/build_wheel.sh "$work" | tail -1)
  echo "$(basename "$wheel")"
  if [ ! -x "$ENV/bin/python" ] || [ "$(readlink -f "$ENV/bin/python")" != "$(readlink -f /usr/bin/python3)" ]; then
    echo "==> venv $ENV"
    rm -rf "$ENV"
    mkdir -p "$PREFIX"
    /usr/bin/python3 -m venv "$ENV"
    "$ENV/bin/pip" install -q --upgrade pip >/dev/null 2>&1 || true
  fi
  rm -f "$stamp"
  echo "==> pip install $(basename "$wheel")[dask] ${PINS[*]}"
  "$ENV/bin/pip" install -q "$wheel[dask]" "${PINS[@]}" >"$work/pip.log" 2>&1 \
    || { tail -30 "$work/pip.log" >&2; exit 1; }
  # The version may be the same as the one installed: replace it all the same.
  "$ENV/bin/pip" install -q --no-deps --force-reinstall "$wheel" >"$work/pip.log" 2>&1 \
    || { tail -30 "$work/pip.log" >&2; exit 1; }
  echo "$want" >"$stamp"
fi
# configurable-http-proxy beside it: a demo started by another user than root
# (tests/test_demo_portal.py) runs from here, as the checkout may be private.
if [ ! -x "$ENV/bin/configurable-http-proxy" ]; then
  echo "==> configurable-http-proxy in $ENV"
  npm install -g --silent --prefix "$ENV" configurable-http-proxy@5.3.0 >/dev/null
fi
# Sessions on the test cluster start without JupyterLab's question about
# fetching news from the internet (this machine cannot reach it anyway).
mkdir -p "$ENV/share/jupyter/lab/settings"
printf '{"@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": false}}\n' \
  >"$ENV/share/jupyter/lab/settings/overrides.json"
chmod -R a+rX "$PREFIX"

# Run it as another user, from a folder anyone can read.
user=alice
id -u "$user" >/dev/null 2>&1 || user=nobody
ext=$(cd / && runuser -u "$user" -- "$ENV/bin/jupyter" server extension list 2>&1) || true
echo "$ext" | grep -E 'sdcc_lab .*enabled' >/dev/null && echo "$ext" | grep -E 'sdcc_lab .*OK' \
  || { echo "$ext" >&2; echo "jobenv.sh: sdcc_lab is not OK in $ENV for $user" >&2; exit 1; }
labext=$(cd / && runuser -u "$user" -- "$ENV/bin/jupyter" labextension list 2>&1) || true
echo "$labext" | grep -E 'sdcc-lab .*enabled.*OK' \
  || { echo "$labext" >&2; echo "jobenv.sh: the sdcc-lab labextension is not OK in $ENV" >&2; exit 1; }
for cmd in jupyterhub-singleuser jupyter-lab; do
  [ -x "$ENV/bin/$cmd" ] || { echo "jobenv.sh: no $ENV/bin/$cmd" >&2; exit 1; }
done
echo "job environment $ENV ready for $user in $((SECONDS - t0)) s"
