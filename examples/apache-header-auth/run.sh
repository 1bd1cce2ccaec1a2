#!/usr/bin/env bash
# Start or stop the example front proxy:
#   run.sh start RUN_DIR PORTAL_PORT HUB_URL SECRET_FILE USER:PASSWORD...
#   run.sh stop RUN_DIR
# SECRET_FILE is the hub's secret file (mode 600); its value is written into a
# mode-600 Apache snippet, read by Apache as root at start. HTTPD_CONF names
# another configuration to start with (examples/two-hubs uses it).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cmd=${1:?start or stop}
export RUN_DIR=${2:?run folder}
case "$cmd" in
  start)
    export PORTAL_PORT=${3:?port} HUB_URL=${4:?hub url}
    secret_file=${5:?secret file}
    shift 5
    mkdir -p "$RUN_DIR"
    chmod 755 "$RUN_DIR"
    umask 077
    printf 'RequestHeader set X-Proxy-Secret "%s"\n' "$(tr -d '\n' < "$secret_file")" \
      > "$RUN_DIR/proxy-secret.conf"
    : > "$RUN_DIR/htpasswd"
    for pair in "$@"; do
      /usr/bin/htpasswd -b -B "$RUN_DIR/htpasswd" "${pair%%:*}" "${pair#*:}" 2>/dev/null
    done
    chmod 644 "$RUN_DIR/htpasswd"
    /usr/sbin/apachectl -f "${HTTPD_CONF:-$here/httpd.conf}" -k start
    for _ in $(seq 50); do [ -s "$RUN_DIR/httpd.pid" ] && exit 0; sleep 0.1; done
    echo "apache did not start; see $RUN_DIR/error.log" >&2; exit 1
    ;;
  stop)
    pid=$(cat "$RUN_DIR/httpd.pid" 2>/dev/null || true)
    [ -n "$pid" ] || exit 0
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || exit 0; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    ;;
  *) echo "usage: $0 start|stop ..." >&2; exit 2 ;;
esac
