#!/usr/bin/env bash
# A real single-node Slurm cluster with slurmdbd accounting, for tests and
# development, on a Debian 12 machine without systemd, as root.
#   scripts/slurm/cluster.sh up       install what is missing, start munged,
#                                     mariadbd, slurmdbd, slurmctld, slurmd;
#                                     accounting; smoke check
#   scripts/slurm/cluster.sh down     stop them all, in reverse order
#   scripts/slurm/cluster.sh status   which daemons run (exit 0 if all do)
# Safe to run again: `up` on a running cluster only checks it; on a machine
# with leftovers of an earlier run (stale PID files, database, accounts, jobs
# in the state dir) it starts clean. See docs/development.md.
set -euo pipefail

CLUSTER=sdcclab
NODE=$(hostname -s)
ETC=/etc/slurm
STATE=/var/lib/slurm/slurmctld
SPOOL=/var/lib/slurm/slurmd
RUN=/run/slurm
LOG=/var/log/slurm
MYSQL_SOCK=/run/mysqld/mysqld.sock
MYSQL_PID=/run/mysqld/mysqld.pid
DB=slurm_acct_db
PACKAGES=(munge slurmctld slurmd slurm-client slurmdbd mariadb-server python3)
# daemon name -> PID file; stopped in the reverse of this order
DAEMONS=(munged mariadbd slurmdbd slurmctld slurmd)
STOPPED=()  # PIDs that cmd_down stopped
declare -A PIDFILE=(
  [munged]=/run/munge/munged.pid
  [mariadbd]=$MYSQL_PID
  [slurmdbd]=$RUN/slurmdbd.pid
  [slurmctld]=$RUN/slurmctld.pid
  [slurmd]=$RUN/slurmd.pid
)

log() { printf '==> %s\n' "$*"; }
die() { printf 'cluster.sh: %s\n' "$*" >&2; exit 1; }
now() { echo "${EPOCHREALTIME/,/.}"; }
since() { python3 -c 'import sys; print(f"{float(sys.argv[2]) - float(sys.argv[1]):.1f}")' "$1" "$(now)"; }

[ "$(id -u)" = 0 ] || die "run as root"

# --- processes --------------------------------------------------------------
# The PID in a daemon's PID file, if that process runs and is that daemon.
daemon_pid() {
  local name=$1 file=${PIDFILE[$1]} pid
  [ -r "$file" ] || return 1
  pid=$(tr -dc 0-9 <"$file")
  [ -n "$pid" ] && alive "$pid" || return 1
  [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$name" ] || return 1
  echo "$pid"
}

# Whether a process runs (a zombie does not: init here takes a while to reap).
alive() {
  local st
  st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
  [ -n "$st" ] && [ "$st" != Z ]
}

# Kill a process and all its descendants, the parent first so that it does
# not start new ones.
kill_tree() {
  local pid=$1 child children
  children=$(pgrep -P "$pid" || true)
  kill -KILL "$pid" 2>/dev/null || true
  STOPPED+=("$pid")
  for child in $children; do kill_tree "$child"; done
}

# Whether any of the PIDs is still in the process table, zombies included.
any_listed() {
  local pid
  for pid in "$@"; do [ -d "/proc/$pid" ] && return 0; done
  return 1
}

# wait_for DESCRIPTION SECONDS COMMAND...: poll until COMMAND succeeds.
wait_for() {
  local what=$1 limit=$2 t0; shift 2
  t0=$SECONDS
  until "$@" >/dev/null 2>&1; do
    [ $((SECONDS - t0)) -lt "$limit" ] || die "$what not ready after ${limit}s (logs: $LOG, /var/log/mysql)"
    sleep 0.2
  done
}

stop_daemon() {
  local name=$1 pid i t0
  if pid=$(daemon_pid "$name"); then
    t0=$(now)
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 150; i++)); do
      alive "$pid" || break
      sleep 0.2
    done
    if alive "$pid"; then
      echo "$name (pid $pid) did not stop in 30 s: killing it" >&2
      kill -KILL "$pid" 2>/dev/null || true
      sleep 0.5
    fi
    echo "stopped $name (pid $pid) in $(since "$t0") s"
    STOPPED+=("$pid")
  fi
  rm -f "${PIDFILE[$name]}"
}

# A TCP port nobody listens on, outside the kernel's ephemeral range, which
# also differs from the ports given as arguments.
free_port() {
  python3 - "$@" <<'EOF'
import random, socket, sys
taken = {int(p) for p in sys.argv[1:]}
for _ in range(500):
    port = random.randint(20000, 30000)
    if port in taken:
        continue
    try:
        for addr in ("0.0.0.0", "127.0.0.1"):
            with socket.socket() as s:
                s.bind((addr, port))
    except OSError:
        continue
    print(port)
    break
else:
    sys.exit("no free port found")
EOF
}

# --- packages, users, directories -------------------------------------------
install_packages() {
  local missing=() p
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    log "apt-get install ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

make_users() {
  local u
  for u in alice bob; do
    id -u "$u" >/dev/null 2>&1 || { useradd -m -s /bin/bash "$u"; echo "created user $u"; }
  done
}

make_dirs() {
  install -d -o munge -g munge -m 0755 /run/munge
  install -d -o munge -g munge -m 0700 /var/lib/munge /var/log/munge /etc/munge
  install -d -o mysql -g mysql -m 0755 /run/mysqld
  install -d -o mysql -g adm -m 0750 /var/log/mysql
  install -d -o slurm -g slurm -m 0755 "$RUN" "$LOG" "$STATE"
  install -d -m 0755 "$ETC" "$SPOOL"
  if [ ! -s /etc/munge/munge.key ]; then
    log "munge key"
    mungekey --create --keyfile=/etc/munge/munge.key
  fi
  chown munge:munge /etc/munge/munge.key
  chmod 0400 /etc/munge/munge.key
}

# --- configuration ----------------------------------------------------------
write_config() { # slurmctld port, slurmd port, slurmdbd port
  local ctld_port=$1 slurmd_port=$2 dbd_port=$3 cpus mem_mb real_mb def_mem
  # At least 4 CPUs, so that a session and two Dask worker jobs run at once on
  # a 2-core machine; slurmd trusts the configured count (config_overrides).
  cpus=$(nproc)
  [ "$cpus" -ge 4 ] || cpus=4
  mem_mb=$(awk '/^MemTotal:/ {print int($2 / 1024)}' /proc/meminfo)
  # Leave a quarter of the memory (at most 2 GB) to the rest of the machine.
  real_mb=$((mem_mb - (mem_mb / 4 < 2048 ? mem_mb / 4 : 2048)))
  def_mem=$((real_mb / cpus < 1024 ? real_mb / cpus : 1024))
  cat >"$ETC/slurm.conf" <<EOF
# Written by scripts/slurm/cluster.sh up; the ports were free at bring-up.
ClusterName=$CLUSTER
SlurmctldHost=$NODE(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=slurm
AuthType=auth/munge
CryptoType=crypto/munge
StateSaveLocation=$STATE
SlurmdSpoolDir=$SPOOL
SlurmctldPidFile=$RUN/slurmctld.pid
SlurmdPidFile=$RUN/slurmd.pid
SlurmdParameters=config_overrides
SlurmctldLogFile=$LOG/slurmctld.log
SlurmdLogFile=$LOG/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=$def_mem
GresTypes=gpu
MailProg=/bin/true
ReturnToService=2
MinJobAge=300
KillWait=5
SchedulerType=sched/backfill
# Start a batch job at submit, not up to 3 s later (jobs with --gres waited).
SchedulerParameters=batch_sched_delay=0
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=127.0.0.1
AccountingStoragePort=$dbd_port
AccountingStorageEnforce=associations,limits,qos
AccountingStorageTRES=gres/gpu
EnforcePartLimits=ALL
# Memory enforced without cgroups (cgroup v2 here has no memory controller): the
# linux gatherer samples each step's processes every 2 s and kills a step over its
# memory (the job ends OUT_OF_MEMORY; sacct keeps its MaxRSS).
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherParams=OverMemoryKill
JobAcctGatherFrequency=task=2
JobCompType=jobcomp/none
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$real_mb Gres=gpu:1 State=UNKNOWN
PartitionName=cpu Nodes=$NODE Default=YES MaxTime=INFINITE DefaultTime=01:00:00 State=UP
PartitionName=gpu Nodes=$NODE MaxTime=02:00:00 DefaultTime=00:30:00 AllowAccounts=tier3 AllowQos=gpu-qos State=UP
EOF
  echo "NodeName=$NODE Name=gpu File=/dev/null" >"$ETC/gres.conf"
  chmod 0644 "$ETC/slurm.conf" "$ETC/gres.conf"
  # slurmdbd reaches MariaDB through its socket, as the unix user slurm.
  cat >"$ETC/slurmdbd.conf" <<EOF
# Written by scripts/slurm/cluster.sh up.
AuthType=auth/munge
DbdAddr=127.0.0.1
DbdHost=$NODE
DbdPort=$dbd_port
SlurmUser=slurm
LogFile=$LOG/slurmdbd.log
PidFile=$RUN/slurmdbd.pid
StorageType=accounting_storage/mysql
StorageHost=localhost
StorageUser=slurm
StorageLoc=$DB
EOF
  chown slurm:slurm "$ETC/slurmdbd.conf"
  chmod 0600 "$ETC/slurmdbd.conf"
}

# --- daemons ----------------------------------------------------------------
mysql_root() { mariadb --protocol=socket --socket="$MYSQL_SOCK" -u root "$@"; }

start_munged() {
  runuser -u munge -- /usr/sbin/munged
  wait_for munged 20 sh -c 'munge -n | unmunge'
}

start_mariadbd() {
  if [ ! -d /var/lib/mysql/mysql ]; then
    log "mariadb-install-db"
    mariadb-install-db --user=mysql --skip-test-db >/var/log/mysql/install-db.log 2>&1
  fi
  # No TCP at all: only the socket, so no port is taken from other sessions.
  setsid /usr/sbin/mariadbd --user=mysql --skip-networking \
    --socket="$MYSQL_SOCK" --pid-file="$MYSQL_PID" \
    --log-error=/var/log/mysql/error.log \
    --innodb-buffer-pool-size=1024M --innodb-lock-wait-timeout=900 \
    </dev/null >/dev/null 2>&1 &
  wait_for mariadbd 60 mariadb-admin --socket="$MYSQL_SOCK" ping
  wait_for "mariadbd PID file" 10 daemon_pid mariadbd
  mysql_root <<EOF
CREATE DATABASE IF NOT EXISTS $DB;
CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED VIA unix_socket;
GRANT ALL ON $DB.* TO 'slurm'@'localhost';
EOF
}

start_slurmdbd() {
  /usr/sbin/slurmdbd </dev/null >/dev/null 2>&1
  wait_for slurmdbd 60 sacctmgr -n list cluster
}

start_slurmctld() {
  /usr/sbin/slurmctld </dev/null >/dev/null 2>&1
  wait_for slurmctld 60 sh -c 'scontrol ping | grep -q UP'
}

start_slurmd() {
  /usr/sbin/slurmd </dev/null >/dev/null 2>&1
  wait_for "slurmd (node $NODE idle)" 60 sh -c "sinfo -h -n '$NODE' -o %t | grep -qx idle"
}

# --- accounting -------------------------------------------------------------
# The user's associations, sorted, as "account|partition|qos|defaultqos".
assocs() {
  sacctmgr -nP show assoc cluster="$CLUSTER" user="$1" format=account,partition,qos,defaultqos | sort
}

ensure_user() { # user, default account, then "account partition qos defaultqos"...
  local user=$1 defacct=$2 want line got acct part qos dqos; shift 2
  want=$(for line in "$@"; do
    read -r acct part qos dqos <<<"$line"
    # sacctmgr lists QOS names sorted
    echo "$acct|$part|$(tr , '\n' <<<"$qos" | sort | paste -sd,)|$dqos"
  done | sort)
  got=$(assocs "$user")
  if [ "$got" = "$want" ] \
    && [ "$(sacctmgr -nP show user "$user" format=defaultaccount)" = "$defacct" ]; then
    return
  fi
  if [ -n "$(sacctmgr -nP show user "$user" format=user)" ]; then
    sacctmgr -i delete user name="$user" >/dev/null
  fi
  # The first association is the default account's: given with
  # defaultaccount=, sacctmgr also adds the default account on the partition.
  for line in "$@"; do
    read -r acct part qos dqos <<<"$line"
    if [ "$acct" = "$defacct" ] && [ -z "$(sacctmgr -nP show user "$user" format=user)" ]; then
      sacctmgr -i add user "$user" cluster="$CLUSTER" account="$acct" partition="$part" \
        qos="$qos" defaultqos="$dqos" defaultaccount="$defacct" >/dev/null
    fi
  done
  for line in "$@"; do
    read -r acct part qos dqos <<<"$line"
    [ "$acct" = "$defacct" ] && continue
    sacctmgr -i add user "$user" cluster="$CLUSTER" account="$acct" partition="$part" \
      qos="$qos" defaultqos="$dqos" >/dev/null
  done
  got=$(assocs "$user")
  [ "$got" = "$want" ] || die "associations of $user: got $got, want $want"
  echo "accounting: user $user set"
}

# What the accounting should hold, as listed by accounting_now.
ACCOUNTING_WANT="alice|physics|cpu|normal|normal
alice|tier3|gpu|gpu-qos,normal|gpu-qos
bob|tier3|cpu|normal|normal
gpu-qos|01:00:00|DenyOnLimit
normal||
physics||||
tier3||||
user alice physics
user bob tier3"
accounting_now() {
  {
    sacctmgr -nP show assoc cluster="$CLUSTER" account=physics,tier3 \
      format=user,account,partition,qos,defaultqos | sed -E 's/^\|([a-z0-9]+)\|.*/\1||||/'
    sacctmgr -nP show qos normal,gpu-qos format=name,maxwall,flags
    sacctmgr -nP show user alice,bob format=user,defaultaccount | sed 's/^/user /; s/|/ /'
  } | sort
}

setup_accounting() {
  local a
  # A second run finds everything in place: three queries instead of twenty.
  if [ "$(accounting_now 2>/dev/null)" = "$ACCOUNTING_WANT" ]; then
    echo "accounting: already in place"
    return
  fi
  [ -n "$(sacctmgr -nP show cluster "$CLUSTER" format=cluster)" ] \
    || sacctmgr -i add cluster "$CLUSTER" >/dev/null
  for a in normal gpu-qos; do
    [ -n "$(sacctmgr -nP show qos "$a" format=name)" ] || sacctmgr -i add qos "$a" >/dev/null
  done
  if [ "$(sacctmgr -nP show qos gpu-qos format=maxwall,flags)" != "01:00:00|DenyOnLimit" ]; then
    sacctmgr -i modify qos gpu-qos set maxwall=60 flags=DenyOnLimit >/dev/null
  fi
  for a in physics tier3; do
    [ -n "$(sacctmgr -nP show account "$a" format=account)" ] \
      || sacctmgr -i add account "$a" cluster="$CLUSTER" description="$a" organization=sdcclab >/dev/null
    sacctmgr -nP show assoc cluster="$CLUSTER" account="$a" format=account,user | grep -qx "$a|" \
      || sacctmgr -i add account "$a" cluster="$CLUSTER" >/dev/null
  done
  ensure_user alice physics "physics cpu normal normal" "tier3 gpu normal,gpu-qos gpu-qos"
  ensure_user bob tier3 "tier3 cpu normal normal"
}

# Job IDs go on from the highest one in the accounting database, so that the
# IDs of a new run do not collide with old records after the state is cleared.
first_job_id() {
  local max
  max=$(mysql_root -N -e "SELECT MAX(id_job) FROM ${CLUSTER}_job_table" "$DB" 2>/dev/null || true)
  [[ "$max" =~ ^[0-9]+$ ]] && echo $((max + 1)) || echo 1
}

# --- smoke check ------------------------------------------------------------
smoke_check() {
  local home out id state err i
  home=$(getent passwd alice | cut -d: -f6)
  out=$(mktemp /tmp/sdcclab-smoke.XXXXXX)
  chown alice "$out"
  id=$(cd / && runuser -u alice -- sbatch --parsable -p gpu -A tier3 -q gpu-qos --gres=gpu:1 -t 5 \
    -D "$home" -o "$out" --wrap 'env | grep SLURM_JOB')
  id=${id%%;*}
  for ((i = 0; i < 300; i++)); do
    state=$(scontrol show job -o "$id" | grep -o 'JobState=[A-Z_]*' | cut -d= -f2) || true
    case $state in
      COMPLETED) break ;;
      PENDING | CONFIGURING | RUNNING | COMPLETING) sleep 0.2 ;;
      *) cat "$out" >&2; rm -f "$out"; die "smoke job $id ended $state" ;;
    esac
  done
  [ "$state" = COMPLETED ] || { rm -f "$out"; die "smoke job $id still $state after 60 s"; }
  grep -qx 'SLURM_JOB_PARTITION=gpu' "$out" && grep -qx 'SLURM_JOB_ACCOUNT=tier3' "$out" \
    || { cat "$out" >&2; rm -f "$out"; die "smoke job $id: unexpected environment"; }
  rm -f "$out"
  echo "smoke check: alice's gpu job $id completed"
  # Over the QOS MaxWall (60 min) must be refused at submit.
  if err=$(cd / && runuser -u alice -- sbatch --parsable -p gpu -A tier3 -q gpu-qos --gres=gpu:1 -t 90 \
    -o /dev/null --wrap true 2>&1); then
    scancel "${err%%;*}" 2>/dev/null || true
    die "a 90-minute job on gpu-qos was accepted (job $err)"
  fi
  [[ "$err" == *QOSMaxWallDurationPerJobLimit* ]] || die "the 90-minute job was refused for another reason: $err"
  echo "smoke check: refused at submit: ${err//$'\n'/ | }"
  # bob has no association on partition gpu.
  if err=$(cd / && runuser -u bob -- sbatch --parsable -p gpu -A tier3 -t 5 \
    -o /dev/null --wrap true 2>&1); then
    scancel "${err%%;*}" 2>/dev/null || true
    die "bob's job on partition gpu was accepted (job $err)"
  fi
  [[ "$err" == *"Invalid account or account/partition combination"* ]] \
    || die "bob's job on partition gpu was refused for another reason: $err"
  echo "smoke check: refused at submit: ${err//$'\n'/ | }"
}

# --- commands ---------------------------------------------------------------
all_running() {
  local d
  for d in "${DAEMONS[@]}"; do daemon_pid "$d" >/dev/null || return 1; done
}

cmd_status() {
  local d pid rc=0
  for d in "${DAEMONS[@]}"; do
    if pid=$(daemon_pid "$d"); then
      printf '%-10s running (pid %s)\n' "$d" "$pid"
    else
      printf '%-10s stopped\n' "$d"
      rc=1
    fi
  done
  if daemon_pid slurmctld >/dev/null; then
    grep -E '^(ClusterName|SlurmctldPort|SlurmdPort|AccountingStoragePort)=' "$ETC/slurm.conf" | paste -sd' '
    sinfo -h -o '%P %a %D %t' 2>/dev/null | sed 's/^/partition /' || true
  fi
  return $rc
}

cmd_down() {
  local t0 d i ids
  t0=$(now)
  if daemon_pid slurmctld >/dev/null && scontrol ping 2>/dev/null | grep -q UP; then
    mapfile -t ids < <(squeue -h -o %A 2>/dev/null)
    if [ ${#ids[@]} -gt 0 ]; then
      echo "cancelling ${#ids[@]} job(s)"
      scancel "${ids[@]}" 2>/dev/null || true
      for ((i = 0; i < 75; i++)); do
        [ -z "$(squeue -h -o %A 2>/dev/null)" ] && break
        sleep 0.2
      done
    fi
  fi
  for ((i = ${#DAEMONS[@]} - 1; i >= 0; i--)); do
    stop_daemon "${DAEMONS[$i]}"
  done
  # Job steps whose slurmd is gone (killed without a shutdown), with the
  # job's processes under them.
  for d in $(pgrep -x slurmstepd || true); do
    alive "$d" || continue
    echo "killing a leftover slurmstepd (pid $d) and its processes"
    kill_tree "$d"
  done
  # Wait until init has reaped them all, so no trace is left in the process table.
  for ((i = 0; i < 50; i++)); do
    any_listed "${STOPPED[@]}" || break
    sleep 0.1
  done
  echo "cluster down in $(since "$t0") s"
}

cmd_up() {
  local t0 d pid ctld_port slurmd_port dbd_port
  t0=$(now)
  install_packages
  make_users
  if all_running && scontrol ping 2>/dev/null | grep -q UP; then
    log "cluster already up: checking it"
    setup_accounting
    smoke_check
    echo "cluster up in $(since "$t0") s"
    return
  fi
  # Some daemons of ours run, or none: start from a clean slate.
  cmd_down >/dev/null
  for d in "${DAEMONS[@]}"; do
    for pid in $(pgrep -x "$d" || true); do
      alive "$pid" && die "a $d this script did not start runs (pid $pid): stop it first"
    done
  done
  make_dirs
  ctld_port=$(free_port)
  slurmd_port=$(free_port "$ctld_port")
  dbd_port=$(free_port "$ctld_port" "$slurmd_port")
  write_config "$ctld_port" "$slurmd_port" "$dbd_port"
  # No stale jobs or node state from an earlier run.
  find "$STATE" "$SPOOL" -mindepth 1 -delete
  log "munged";    start_munged
  log "mariadbd";  start_mariadbd
  log "slurmdbd (port $dbd_port)"; start_slurmdbd
  log "accounting";  setup_accounting
  echo "FirstJobId=$(first_job_id)" >>"$ETC/slurm.conf"
  log "slurmctld (port $ctld_port)"; start_slurmctld
  log "slurmd (port $slurmd_port)";  start_slurmd
  # Jobs the database still thinks run, from a run that was never shut down.
  sacctmgr -i list runawayjobs >/dev/null 2>&1 || true
  smoke_check
  echo "cluster up in $(since "$t0") s"
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
