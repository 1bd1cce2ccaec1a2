#!/usr/bin/env bash
# Start or stop the front proxy of several hubs:
#   run.sh start RUN_DIR PORTAL_PORT SECRET_FILE "HOST:PORT HOST:PORT" USER:PASSWORD...
#   run.sh stop RUN_DIR
# The login, the secret and the users are set up as in examples/apache-header-auth.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
single="$here/../apache-header-auth/run.sh"
cmd=${1:?start or stop}
run_dir=${2:?run folder}
case "$cmd" in
  start)
    port=${3:?port}
    secret_file=${4:?secret file}
    hubs=${5:?hubs}
    shift 5
    mkdir -p "$run_dir"
    chmod 755 "$run_dir"
    install -m 755 "$here/hub_for_user.py" "$run_dir/hub_for_user.py"
    # Apache's prg: maps take a program without arguments: bake the hubs in.
    printf '#!/bin/sh\nexec /usr/bin/python3 -u %s/hub_for_user.py %s\n' "$run_dir" "$hubs" \
      > "$run_dir/hub_for_user"
    chmod 755 "$run_dir/hub_for_user"
    HTTPD_CONF="$here/httpd.conf" exec "$single" start "$run_dir" "$port" "-" "$secret_file" "$@"
    ;;
  stop)
    exec "$single" stop "$run_dir"
    ;;
  *) echo "usage: $0 start|stop ..." >&2; exit 2 ;;
esac
