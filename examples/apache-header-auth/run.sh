#!/usr/bin/env bash
# Start or stop the example front proxy:
#   run.sh start RUN_DIR PORTAL_PORT HUB_URL SECRET_FILE USER:PASSWORD...
#   run.sh stop RUN_DIR
#   run.sh hub-url HUB_URL SECRET_FILE     (prints the hub's own URL; see below)
# HUB_URL is configurable-http-proxy's URL. /hub/ goes straight to the hub's
# own port, HUB_DIRECT_URL (its hub_bind_url, e.g. http://127.0.0.1:8081);
# when that is not set, it is read from the configurable-http-proxy that
# listens at HUB_URL (the hub starts it with --error-target HUB/hub/error),
# trusted only if that process runs as the owner of SECRET_FILE (the hub's
# user: a process of anyone else could name any address, and would then get
# the secret).
# SECRET_FILE is the hub's secret file (mode 600); its value is written into a
# mode-600 Apache snippet, read by Apache as root at start. HTTPD_CONF names
# another configuration to start with (examples/two-hubs uses it).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

# The hub behind the configurable-http-proxy at $1, whose hub owns secret file $2.
hub_behind() {
  local hostport=${1#*://} owner pids pid target found=""
  hostport=${hostport%%/*}
  owner=$(stat -c %u "$2")
  pids=$(ss -Hltnp "( sport = :${hostport##*:} )" | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -u || true)
  [ -n "$pids" ] || { echo "nothing listens at $1: start the hub first, or set HUB_DIRECT_URL" >&2; return 1; }
  for pid in $pids; do
    if [ "$(stat -c %u "/proc/$pid")" != "$owner" ]; then
      echo "a process of uid $(stat -c %u "/proc/$pid") listens at $1, not the hub's user" \
        "(the owner of $2): set HUB_DIRECT_URL" >&2
      return 1
    fi
    target=$(tr '\0' '\n' < "/proc/$pid/cmdline" | sed -n '/^--error-target$/{n;p;q}')
    [ -n "$target" ] || target=$(tr '\0' '\n' < "/proc/$pid/cmdline" | sed -n 's/^--error-target=//p')
    case "$target" in
      http://*/hub/error) ;;
      *) echo "the process at $1 is not a hub's configurable-http-proxy: set HUB_DIRECT_URL" >&2
         return 1 ;;
    esac
    [ -z "$found" ] || [ "$found" = "${target%/hub/error}" ] || {
      echo "several hubs listen at $1: set HUB_DIRECT_URL" >&2; return 1; }
    found=${target%/hub/error}
  done
  echo "$found"
}

cmd=${1:?start, stop or hub-url}
case "$cmd" in
  start)
    export RUN_DIR=${2:?run folder}
    export PORTAL_PORT=${3:?port} HUB_URL=${4%/}
    [ -n "$HUB_URL" ] || { echo "no hub url" >&2; exit 2; }
    secret_file=${5:?secret file}
    shift 5
    if [ "$HUB_URL" != "-" ]; then
      HUB_DIRECT_URL=${HUB_DIRECT_URL:-$(hub_behind "$HUB_URL" "$secret_file")}
      export HUB_DIRECT_URL=${HUB_DIRECT_URL%/} HUB_WS_URL=ws://${HUB_URL#*://}
    fi
    mkdir -p "$RUN_DIR"
    chmod 755 "$RUN_DIR"
    umask 077
    # The secret is added only where the routing rules set SDCC_TO_HUB (httpd.conf).
    printf 'RequestHeader set X-Proxy-Secret "%s" env=SDCC_TO_HUB\n' \
      "$(tr -d '\n' < "$secret_file")" > "$RUN_DIR/proxy-secret.conf"
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
    export RUN_DIR=${2:?run folder}
    pid=$(cat "$RUN_DIR/httpd.pid" 2>/dev/null || true)
    [ -n "$pid" ] || exit 0
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || exit 0; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    ;;
  hub-url)
    hub_behind "${2:?configurable-http-proxy url}" "${3:?secret file}"
    ;;
  *) echo "usage: $0 start|stop|hub-url ..." >&2; exit 2 ;;
esac
