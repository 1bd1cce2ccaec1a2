#!/usr/bin/env bash
# A throw-away PostgreSQL server for the tests (Debian's postgresql), on a free
# loopback port, with a database for the share store:
#   scripts/postgres.sh start DIR   -> prints the SQLAlchemy URL (also in DIR/url)
#   scripts/postgres.sh stop DIR
set -euo pipefail
cmd=${1:?start or stop}
dir=${2:?folder}
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
case "$cmd" in
  start)
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    password=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
    mkdir -p "$dir"
    chown postgres:postgres "$dir"
    chmod 700 "$dir"
    pwfile=$(mktemp "$dir/pw.XXXXXX")
    echo "$password" > "$pwfile"
    chown postgres "$pwfile"
    runuser -u postgres -- "$bin/initdb" -D "$dir/data" -U sdcc --pwfile="$pwfile" \
      --auth-local=peer --auth-host=scram-sha-256 >"$dir/initdb.log" 2>&1
    rm -f "$pwfile"
    runuser -u postgres -- "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
      -o "-p $port -c listen_addresses=127.0.0.1 -k $dir" start >/dev/null
    PGPASSWORD=$password "$bin/psql" -h 127.0.0.1 -p "$port" -U sdcc -d postgres -q \
      -c "CREATE DATABASE sdcc_lab_shares" >/dev/null
    url="postgresql+psycopg2://sdcc:$password@127.0.0.1:$port/sdcc_lab_shares"
    umask 077
    echo "$url" > "$dir/url"
    echo "$url"
    ;;
  stop)
    [ -d "$dir/data" ] || exit 0
    runuser -u postgres -- "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
    ;;
  *) echo "usage: $0 start|stop DIR" >&2; exit 2 ;;
esac
