#!/usr/bin/env bash
# A 3-node single-primary MySQL Group Replication cluster (InnoDB Cluster's engine) on loopback,
# with HAProxy in front, for the MySQL cluster tests and the scale-out benchmark.
#
#   scripts/gr-cluster.sh start        start whatever is not running; wait until 3 members are ONLINE
#   scripts/gr-cluster.sh stop         stop HAProxy and every member (secondaries first), wait for them
#   scripts/gr-cluster.sh status       print each member's state and role; exit 0 only when all is up
#   scripts/gr-cluster.sh kill N       kill -9 member N (what a crash looks like)
#   scripts/gr-cluster.sh start-node N start member N and rejoin it to the group (distributed recovery)
#   scripts/gr-cluster.sh primary      print the port of the current primary
#   scripts/gr-cluster.sh destroy      stop, then delete the data directories
#
# Members N=1..3 listen for SQL on 127.0.0.1:333N and for group communication on 127.0.0.1:343N;
# HAProxy on 127.0.0.1:3330 sends every new connection to the member that reports itself ONLINE
# and PRIMARY. MySQL Router is not used: without InnoDB Cluster metadata (made by MySQL Shell, which
# Debian does not ship) it routes statically and would keep sending writes to a dead or demoted
# primary; HAProxy asks each member for its role every second instead.
# The servers run inside the Debian sid chroot of scripts/ensure-mysql.sh ($KMS_MYSQL_ROOT,
# default /var/cache/mysql-sid), which must exist; data lives in its /var/lib/kms-gr.
# Idempotent: `start` on a running cluster and `stop` on a stopped one do nothing. Every wait is
# bounded.
set -euo pipefail

ROOT="${KMS_MYSQL_ROOT:-/var/cache/mysql-sid}"
CHROOT_DIR=/var/lib/kms-gr # inside the chroot
DIR="$ROOT$CHROOT_DIR"
NODES=(1 2 3)
HAPROXY_PORT=3330
GROUP_NAME=6b1f3c2e-4d5a-4e8b-9c7d-0a1b2c3d4e5f # any UUID, the same for every member
SEEDS=127.0.0.1:3431,127.0.0.1:3432,127.0.0.1:3433
REPL_PASSWORD=kms-gr-recovery # the recovery account's; loopback only
START_WAIT=60 # seconds for a member to answer SQL after launch
ONLINE_WAIT=90 # seconds for a member to reach ONLINE (distributed recovery included)
STOP_WAIT=60  # seconds for a member to exit after SHUTDOWN before SIGKILL

# shellcheck source=scripts/cluster-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/cluster-lib.sh"

node_dir() { echo "$DIR/node$1"; }
port_of() { echo "333$1"; }
pid_of() { cat "$(node_dir "$1")/launch.pid" 2>/dev/null || true; }
running() {
  local pid
  pid="$(pid_of "$1")"
  [[ -n "$pid" ]] && alive "$pid"
}
sql() { # sql N STATEMENTS: as root over TCP (Debian's client is MariaDB's), no headers
  mariadb --no-defaults --protocol=tcp -h127.0.0.1 -P"$(port_of "$1")" -uroot \
    --connect-timeout=3 -N -B -e "$2" 2>/dev/null
}
# "STATE ROLE" of member N as it sees itself, or nothing when it does not answer.
member() {
  sql "$1" "SELECT MEMBER_STATE, MEMBER_ROLE FROM performance_schema.replication_group_members
            WHERE MEMBER_ID = @@server_uuid" | tr '\t' ' '
}
online_somewhere() { # prints the first member that is ONLINE in a group, if any
  local n
  for n in "${NODES[@]}"; do
    if running "$n" && [[ "$(member "$n")" == ONLINE* ]]; then
      echo "$n"
      return 0
    fi
  done
  return 1
}

initialise() { # a fresh data directory for member N, with its local accounts
  local n="$1" dir
  dir="$(node_dir "$n")"
  rm -rf "$dir"
  mkdir -p "$dir"
  echo "node$n: initialising $dir/data"
  if ! chroot "$ROOT" /usr/sbin/mysqld --no-defaults --initialize-insecure --user=root \
    --datadir="$CHROOT_DIR/node$n/data" --innodb-redo-log-capacity=32M \
    --log-error="$CHROOT_DIR/node$n/init.log" >/dev/null 2>&1; then
    tail -n 20 "$dir/init.log" >&2 || true
    return 1
  fi
}

launch() { # start member N's mysqld detached from this shell
  local n="$1" port
  port="$(port_of "$n")"
  # innodb_flush_log_at_trx_commit=2 and sync_binlog=0: a process crash loses nothing (the OS
  # still has the log) and the group holds the other copies. member_expel_timeout=0: a member
  # that stops answering is expelled as soon as it is suspected (~5 s), not 5 s later; a
  # primary's crash costs about 6 s instead of 20.
  setsid chroot "$ROOT" /usr/sbin/mysqld --no-defaults --user=root \
    --datadir="$CHROOT_DIR/node$n/data" --bind-address=127.0.0.1 --port="$port" \
    --socket="$CHROOT_DIR/node$n/mysqld.sock" --pid-file="$CHROOT_DIR/node$n/mysqld.pid" \
    --log-error="$CHROOT_DIR/node$n/error.log" --mysqlx=OFF --secure-file-priv= \
    --server-id="$n" --gtid-mode=ON --enforce-gtid-consistency=ON \
    --max-connections=400 --innodb-buffer-pool-size=64M --innodb-redo-log-capacity=32M \
    --innodb-flush-log-at-trx-commit=2 --sync-binlog=0 --binlog-expire-logs-seconds=3600 \
    --plugin-load-add=group_replication.so \
    --group-replication-group-name="$GROUP_NAME" \
    --group-replication-local-address="127.0.0.1:343$n" \
    --group-replication-group-seeds="$SEEDS" \
    --group-replication-ip-allowlist=127.0.0.1/8 \
    --group-replication-start-on-boot=OFF --group-replication-recovery-get-public-key=ON \
    --group-replication-member-expel-timeout=0 \
    --report-host=127.0.0.1 --report-port="$port" \
    </dev/null >/dev/null 2>&1 &
  echo "$!" >"$(node_dir "$n")/launch.pid" # setsid and chroot exec in place: mysqld's pid
}

wait_answers() {
  local n="$1" deadline=$((SECONDS + START_WAIT))
  while ((SECONDS < deadline)); do
    running "$n" || break
    sql "$n" "SELECT 1" >/dev/null && return 0
    sleep 0.3
  done
  echo "node$n did not answer within ${START_WAIT}s; last lines of its log:" >&2
  tail -n 20 "$(node_dir "$n")/error.log" >&2 || true
  return 1
}

# The accounts each member needs before it joins, created outside the binary log (each member
# has its own; a secondary could not create them anyway: it is super_read_only).
local_accounts() {
  sql "$1" "SET SQL_LOG_BIN = 0;
    CREATE USER IF NOT EXISTS repl@'%' IDENTIFIED BY '$REPL_PASSWORD';
    GRANT REPLICATION SLAVE, BACKUP_ADMIN, GROUP_REPLICATION_STREAM, CONNECTION_ADMIN ON *.* TO repl@'%';
    CREATE USER IF NOT EXISTS haproxy_check@'127.0.0.1';
    GRANT SELECT ON performance_schema.replication_group_members TO haproxy_check@'127.0.0.1';
    SET SQL_LOG_BIN = 1;
    CHANGE REPLICATION SOURCE TO SOURCE_USER = 'repl', SOURCE_PASSWORD = '$REPL_PASSWORD'
      FOR CHANNEL 'group_replication_recovery'"
}

start_member() { # launch member N when it is not running (initialising it when new)
  local n="$1"
  if running "$n"; then return 0; fi
  if [[ ! -d "$(node_dir "$n")/data/mysql" ]]; then
    initialise "$n"
    touch "$(node_dir "$n")/needs-accounts"
  fi
  echo "node$n: starting mysqld on 127.0.0.1:$(port_of "$n")"
  launch "$n"
}

member_ready() { # wait until member N answers; give a new member its accounts
  local n="$1" marker
  marker="$(node_dir "$n")/needs-accounts"
  wait_answers "$n"
  if [[ -f "$marker" ]]; then local_accounts "$n" && rm "$marker"; fi
}

wait_online() {
  local n="$1" deadline=$((SECONDS + ONLINE_WAIT)) state=""
  while ((SECONDS < deadline)); do
    running "$n" || break
    state="$(member "$n")"
    [[ "$state" == ONLINE* ]] && return 0
    [[ "$state" == ERROR* ]] && break
    sleep 0.5
  done
  echo "node$n is '${state:-not answering}', not ONLINE; last lines of its log:" >&2
  tail -n 20 "$(node_dir "$n")/error.log" >&2 || true
  return 1
}

join() { # member N joins the running group
  local n="$1"
  [[ "$(member "$n")" == ONLINE* ]] && return 0
  echo "node$n: joining the group"
  sql "$1" "START GROUP_REPLICATION" || true # an error shows as the state wait_online reports
  wait_online "$n"
}

gtids() { sql "$1" "SELECT REPLACE(@@GLOBAL.gtid_executed, '\n', '')"; }

# With no member ONLINE: the member whose transactions include every other's bootstraps the
# group. Bootstrapping one that is behind would make the others' extra transactions errant and
# stop them from joining.
bootstrap() {
  local candidate other all_in set
  declare -A sets
  for other in "${NODES[@]}"; do sets[$other]="$(gtids "$other")"; done
  for candidate in "${NODES[@]}"; do
    all_in=true
    for other in "${NODES[@]}"; do
      set="$(sql "$candidate" "SELECT GTID_SUBSET('${sets[$other]}', '${sets[$candidate]}')")"
      [[ "$set" == 1 ]] || all_in=false
    done
    if $all_in; then
      echo "node$candidate: bootstrapping the group (its transactions: ${sets[$candidate]:-none})"
      sql "$candidate" "SET GLOBAL group_replication_bootstrap_group = ON;
        START GROUP_REPLICATION;
        SET GLOBAL group_replication_bootstrap_group = OFF"
      wait_online "$candidate"
      sql "$candidate" "CREATE DATABASE IF NOT EXISTS test"
      return 0
    fi
  done
  echo "no member holds every other's transactions (diverged): run '$0 destroy'" >&2
  return 1
}

start_haproxy() {
  haproxy_running && return 0
  cat >"$DIR/primary-check.sh" <<'EOF'
#!/bin/sh
# HAProxy external check: healthy only when the member is ONLINE and PRIMARY, so connections
# never reach a secondary (super_read_only) or a member that is recovering or expelled.
state=$(mariadb --no-defaults --protocol=tcp -h "$3" -P "$4" -u haproxy_check --connect-timeout=4 -N -B \
  -e "SELECT CONCAT(MEMBER_STATE, '/', MEMBER_ROLE) FROM performance_schema.replication_group_members WHERE MEMBER_ID = @@server_uuid" 2>/dev/null)
[ "$state" = ONLINE/PRIMARY ]
EOF
  chmod +x "$DIR/primary-check.sh"
  # Only the primary passes the check, so new connections reach it and no other member.
  # Connections already open are left alone when a check fails: on a busy machine checks time
  # out while the primary is fine, and cutting them would turn every statement under way into
  # a lost reply. A crashed primary's connections fail by themselves; a demoted or expelled
  # one refuses writes with errno 1290, and the store then drops that connection and resends
  # on a new one. fall 3, timeout check 5s: for the same busy machine (an election takes
  # longer than 3 s anyway).
  haproxy_start "listen group_replication
  bind 127.0.0.1:$HAPROXY_PORT
  timeout check 5s
  option external-check
  external-check path \"/usr/bin:/bin\"
  external-check command $DIR/primary-check.sh
  default-server inter 1s fall 3 rise 1
  server node1 127.0.0.1:3331 check
  server node2 127.0.0.1:3332 check
  server node3 127.0.0.1:3333 check"
  echo "haproxy: 127.0.0.1:$HAPROXY_PORT (the primary)"
}

cmd_start() {
  local n
  # What .ci/run installs for this cluster, and the client the checks and HAProxy's probe run.
  require_packages haproxy=haproxy mariadb-client=mariadb
  if [[ ! -x "$ROOT/usr/sbin/mysqld" ]]; then
    echo "no MySQL chroot at $ROOT: run scripts/ensure-mysql.sh first" >&2
    return 1
  fi
  mkdir -p "$DIR"
  # New members initialise one after the other (2 cores), then all start at once.
  for n in "${NODES[@]}"; do start_member "$n"; done
  for n in "${NODES[@]}"; do member_ready "$n"; done
  if ! online_somewhere >/dev/null; then bootstrap; fi
  for n in "${NODES[@]}"; do join "$n"; done
  start_haproxy
  haproxy_wait
  cmd_status
}

stop_member() {
  local n="$1" pid
  running "$n" || return 0
  pid="$(pid_of "$n")"
  sql "$n" "SHUTDOWN" || kill -TERM "$pid" 2>/dev/null || true
  # It stops answering long before it exits; its files are in use until then.
  if ! wait_gone "$pid" "$STOP_WAIT"; then
    echo "node$n did not exit within ${STOP_WAIT}s: SIGKILL" >&2
    kill_member "$n"
  fi
  echo "node$n: stopped"
}

kill_member() { kill_pid "$(pid_of "$1")"; }

primary() { # the member that is PRIMARY, if any
  local n
  for n in "${NODES[@]}"; do
    if running "$n" && [[ "$(member "$n")" == "ONLINE PRIMARY" ]]; then
      echo "$n"
      return 0
    fi
  done
  return 1
}

cmd_stop() {
  local n last
  haproxy_stop
  # Secondaries first: the primary leaves last, with every transaction, and no election runs.
  last="$(primary || echo 1)"
  for n in "${NODES[@]}"; do
    if [[ "$n" != "$last" ]]; then stop_member "$n" & fi
  done
  wait
  stop_member "$last"
}

cmd_status() {
  local n ok=0 state
  for n in "${NODES[@]}"; do
    if running "$n"; then
      state="$(member "$n")"
      echo "node$n: 127.0.0.1:$(port_of "$n") pid $(pid_of "$n") ${state:-not answering}"
      [[ "$state" == ONLINE* ]] || ok=1
    else
      echo "node$n: 127.0.0.1:$(port_of "$n") not running"
      ok=1
    fi
  done
  haproxy_status || ok=1
  return "$ok"
}

case "${1:-}" in
start) cmd_start ;;
stop) cmd_stop ;;
status) cmd_status ;;
kill)
  node_arg "${2:-}"
  if running "$2"; then kill_member "$2" && echo "node$2: killed"; fi
  ;;
start-node)
  node_arg "${2:-}"
  start_member "$2"
  member_ready "$2"
  if online_somewhere >/dev/null; then join "$2"; else bootstrap; fi
  ;;
primary)
  n="$(primary)" || {
    echo "no member is ONLINE and PRIMARY" >&2
    exit 1
  }
  port_of "$n"
  ;;
destroy)
  cmd_stop
  rm -rf "$DIR"
  ;;
*)
  echo "usage: $0 start|stop|status|kill N|start-node N|primary|destroy" >&2
  exit 2
  ;;
esac
