#!/usr/bin/env bash
# Start or stop the front proxy of several hubs:
#   run.sh start RUN_DIR PORTAL_PORT SECRET_FILE "HOST:PORT HOST:PORT" USER:PASSWORD...
#   run.sh stop RUN_DIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cmd=${1:?start or stop}
export RUN_DIR=${2:?run folder}
case "$cmd" in
  start)
    export PORTAL_PORT=${3:?port}
    secret_file=${4:?secret file}
    export HUBS=${5:?hubs}
    shift 5
    mkdir -p "$RUN_DIR"
    chmod 755 "$RUN_DIR"
    install -m 755 "$here/hub_for_user.py" "$RUN_DIR/hub_for_user.py"
    # Apache's prg: maps take a program without arguments: bake the hubs in.
    printf '#!/bin/sh\nexec /usr/bin/python3 -u %s/hub_for_user.py %s\n' "$RUN_DIR" "$HUBS" \
      > "$RUN_DIR/hub_for_user"
    chmod 755 "$RUN_DIR/hub_for_user"
    umask 077
    printf 'RequestHeader set X-Proxy-Secret "%s"\n' "$(tr -d '\n' < "$secret_file")" \
      > "$RUN_DIR/proxy-secret.conf"
    : > "$RUN_DIR/htpasswd"
    for pair in "$@"; do
      /usr/bin/htpasswd -b -B "$RUN_DIR/htpasswd" "${pair%%:*}" "${pair#*:}" 2>/dev/null
    done
    chmod 644 "$RUN_DIR/htpasswd"
    /usr/sbin/apachectl -f "$here/httpd.conf" -k start
    for _ in $(seq 50); do [ -s "$RUN_DIR/httpd.pid" ] && exit 0; sleep 0.1; done
    echo "apache did not start; see $RUN_DIR/error.log" >&2; exit 1
    ;;
  stop)
    exec "$here/../apache-header-auth/run.sh" stop "$RUN_DIR"
    ;;
  *) echo "usage: $0 start|stop ..." >&2; exit 2 ;;
esac
