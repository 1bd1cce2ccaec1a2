#!/usr/bin/env bash
# Start or stop the front proxy of several hubs:
#   run.sh start RUN_DIR PORTAL_PORT SECRET_FILE "HUB HUB..." USER:PASSWORD...
#   run.sh stop RUN_DIR
# Each HUB is PROXY_HOST:PORT=HUB_HOST:PORT (the hub's configurable-http-proxy,
# and the hub's own address, where /hub/ goes), or PROXY_HOST:PORT alone: the
# hub's own address is then read from that proxy's process as
# examples/apache-header-auth/run.sh does (`run.sh hub-url`).
# The login, the secret and the users are set up as in examples/apache-header-auth.
# With HTTPD_CONF=examples/two-hubs/httpd-keycloak.conf the login is Keycloak's
# (password and one-time code; see README.md): SECRET_FILE is /dev/null, no
# USER:PASSWORD pairs, and the environment names the realm.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
single="$here/../apache-header-auth/run.sh"
cmd=${1:?start or stop}
run_dir=${2:?run folder}
case "$cmd" in
  start)
    port=${3:?port}
    secret_file=${4:?secret file}
    hubs=""
    for hub in ${5:?hubs}; do
      if [ "${hub#*=}" = "$hub" ]; then
        direct=$("$single" hub-url "http://$hub" "$secret_file")
        hub="$hub=${direct#*://}"
      fi
      hubs="$hubs $hub"
    done
    shift 5
    mkdir -p "$run_dir"
    chmod 755 "$run_dir"
    install -m 755 "$here/hub_for_user.py" "$run_dir/hub_for_user.py"
    # Apache's prg: maps take a program without arguments: bake the hubs in.
    printf '#!/bin/sh\nexec /usr/bin/python3 -u %s/hub_for_user.py%s\n' "$run_dir" "$hubs" \
      > "$run_dir/hub_for_user"
    chmod 755 "$run_dir/hub_for_user"
    # HTTPD_CONF=httpd-keycloak.conf: the Keycloak login (no secret: give /dev/null).
    HTTPD_CONF="${HTTPD_CONF:-$here/httpd.conf}" exec "$single" start "$run_dir" "$port" "-" "$secret_file" "$@"
    ;;
  stop)
    exec "$single" stop "$run_dir"
    ;;
  *) echo "usage: $0 start|stop ..." >&2; exit 2 ;;
esac
