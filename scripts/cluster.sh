#!/usr/bin/env bash
# A 3-node MariaDB Galera Cluster on loopback with HAProxy in front, for the cluster tests.
#
#   scripts/cluster.sh start        start whatever is not running; wait until 3 nodes are Synced
#   scripts/cluster.sh stop         stop HAProxy and every node (graceful, then SIGKILL)
#   scripts/cluster.sh status       print each node's state; exit 0 only when all is up
#   scripts/cluster.sh kill N       kill -9 node N (what a crash looks like)
#   scripts/cluster.sh start-node N recover node N's position and rejoin it (IST when possible)
#   scripts/cluster.sh destroy      stop, then delete the data directory
#
# Nodes N=1..3 listen for SQL on 127.0.0.1:331N (gcomm 457N, IST 458N, SST 459N); HAProxy on
# 127.0.0.1:3310 sends every connection to the first Synced node (node1, then node2, node3).
# Data lives under $KMS_GALERA_DIR (default /tmp/kms-galera). Every wait is bounded.
# Idempotent: `start` on a running cluster and `stop` on a stopped one do nothing.
set -euo pipefail

DIR="${KMS_GALERA_DIR:-/tmp/kms-galera}"
NODES=(1 2 3)
HAPROXY_PORT=3310
NODE_WAIT=90 # seconds for one node to reach Synced (a full SST included)
STOP_WAIT=30 # seconds for a node to shut down before SIGKILL

# shellcheck source=scripts/cluster-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/cluster-lib.sh"

node_dir() { echo "$DIR/node$1"; }
own() { # the servers run as mysql when started by root
  if ((EUID == 0)); then chown -R mysql:mysql "$@"; fi
}
pid_of() { cat "$(node_dir "$1")/launch.pid" 2>/dev/null || true; }
running() {
  local pid
  pid="$(pid_of "$1")"
  [[ -n "$pid" ]] && alive "$pid"
}
sql() { # sql N STATEMENT: one statement on node N as root, tab-separated output without headers
  mariadb --no-defaults --protocol=socket --socket="$(node_dir "$1")/mariadbd.sock" -uroot \
    -N -B -e "$2" 2>/dev/null
}
wsrep_status() { sql "$1" "SHOW STATUS LIKE '$2'" | cut -f2; }

write_config() {
  local n="$1" dir
  dir="$(node_dir "$n")"
  mkdir -p "$dir/data"
  cat >"$dir/my.cnf" <<EOF
[mysqld]
user=mysql
datadir=$dir/data
socket=$dir/mariadbd.sock
pid-file=$dir/mariadbd.pid
log-error=$dir/error.log
bind-address=127.0.0.1
port=331$n
skip-name-resolve
performance_schema=OFF
max_connections=400
innodb_buffer_pool_size=64M
innodb_log_file_size=32M
# A process crash loses nothing at 2 (the OS still has the log); Galera holds the copies.
innodb_flush_log_at_trx_commit=2
binlog_format=ROW
default_storage_engine=InnoDB
innodb_autoinc_lock_mode=2
wsrep_on=ON
wsrep_provider=/usr/lib/galera/libgalera_smm.so
wsrep_cluster_name=kms-galera
wsrep_cluster_address=gcomm://127.0.0.1:4571,127.0.0.1:4572,127.0.0.1:4573
wsrep_node_name=node$n
wsrep_node_address=127.0.0.1:457$n
wsrep_node_incoming_address=127.0.0.1:331$n
wsrep_provider_options="base_host=127.0.0.1;base_port=457$n;gmcast.listen_addr=tcp://127.0.0.1:457$n;ist.recv_addr=127.0.0.1:458$n;gcache.size=64M"
wsrep_sst_method=rsync
wsrep_sst_receive_address=127.0.0.1:459$n
EOF
  own "$dir"
}

# Runs `mariadbd --wsrep-recover` on node N; prints the recovered uuid:seqno (may be empty).
recover_position() {
  local n="$1" dir
  dir="$(node_dir "$n")"
  : >"$dir/recover.log"
  own "$dir/recover.log"
  timeout 60 mariadbd --defaults-file="$dir/my.cnf" --wsrep-recover \
    --log-error="$dir/recover.log" >/dev/null 2>&1 || true
  sed -n 's/.*Recovered position: *\([^ ]*\).*/\1/p' "$dir/recover.log" | tail -1
}

# Prints node N's last committed seqno: from grastate.dat after a clean stop, else by
# `mariadbd --wsrep-recover` (after a crash grastate.dat says -1).
recovered_seqno() {
  local n="$1" seqno
  seqno="$(sed -n 's/^seqno:[[:space:]]*//p' "$(node_dir "$n")/data/grastate.dat" 2>/dev/null || true)"
  if [[ -z "$seqno" || "$seqno" == "-1" ]]; then
    seqno="$(recover_position "$n")"
    seqno="${seqno##*:}"
  fi
  echo "${seqno:--1}"
}

launch() { # launch N [extra mariadbd options]: start node N detached from this shell
  local n="$1" dir
  shift
  dir="$(node_dir "$n")"
  setsid mariadbd --defaults-file="$dir/my.cnf" "$@" </dev/null >>"$dir/stdout.log" 2>&1 &
  echo "$!" >"$dir/launch.pid" # setsid execs mariadbd in place: this is the server's pid
}

wait_synced() {
  local n="$1" deadline=$((SECONDS + NODE_WAIT))
  while ((SECONDS < deadline)); do
    running "$n" || break # the server exited: no point waiting
    [[ "$(wsrep_status "$n" wsrep_local_state_comment)" == "Synced" ]] && return 0
    sleep 0.5
  done
  echo "node$n did not reach Synced within ${NODE_WAIT}s; last lines of its log:" >&2
  tail -n 20 "$(node_dir "$n")/error.log" >&2 || true
  return 1
}

bootstrap_fresh() {
  local dir
  dir="$(node_dir 1)"
  echo "node1: new cluster"
  mariadb-install-db --no-defaults --user=mysql --datadir="$dir/data" \
    --auth-root-authentication-method=normal --skip-test-db >"$dir/install.log" 2>&1
  launch 1 --wsrep-new-cluster
  wait_synced 1
  # HAProxy's health check logs in as this account (no privileges, loopback only).
  sql 1 "CREATE USER IF NOT EXISTS 'haproxy_check'@'127.0.0.1';
         CREATE DATABASE IF NOT EXISTS test"
}

# With every node down and data on disk: bootstrap the node with the highest seqno. Forcing a
# node that is behind would silently drop the transactions only the others had.
bootstrap_from_disk() {
  local best="" best_seqno=-2 n seqno
  for n in "${NODES[@]}"; do
    [[ -f "$(node_dir "$n")/data/grastate.dat" ]] || continue
    seqno="$(recovered_seqno "$n")"
    echo "node$n: last seqno $seqno"
    if ((seqno > best_seqno)); then best="$n" best_seqno="$seqno"; fi
  done
  if [[ -z "$best" ]]; then
    echo "no node has a grastate.dat under $DIR: run '$0 destroy' and start again" >&2
    return 1
  fi
  echo "node$best: bootstrapping the cluster from seqno $best_seqno"
  sed -i 's/^safe_to_bootstrap:.*/safe_to_bootstrap: 1/' "$(node_dir "$best")/data/grastate.dat"
  launch "$best" --wsrep-new-cluster
  wait_synced "$best"
}

start_joiner() {
  local n="$1" position=""
  if [[ -f "$(node_dir "$n")/data/grastate.dat" ]]; then
    position="$(recover_position "$n")"
  fi
  if [[ -n "$position" ]]; then
    echo "node$n: rejoining from $position"
    launch "$n" --wsrep_start_position="$position"
  else
    echo "node$n: joining (full state transfer)"
    launch "$n"
  fi
}

start_haproxy() {
  haproxy_running && return 0
  cat >"$DIR/galera-check.sh" <<'EOF'
#!/bin/sh
# HAProxy external check: healthy only when the node is Synced (wsrep_local_state 4), so a
# joining, donor or non-primary node gets no new connections.
state=$(mariadb --no-defaults -h "$3" -P "$4" -u haproxy_check --connect-timeout=2 -N -B \
  -e "SHOW STATUS LIKE 'wsrep_local_state'" 2>/dev/null | cut -f2)
[ "$state" = 4 ]
EOF
  chmod +x "$DIR/galera-check.sh"
  # One writer at a time (node1, else node2, else node3): no certification conflicts between
  # app instances in normal operation. When the active node fails its check, its connections
  # are cut so that clients reconnect to the next one at once.
  haproxy_start "listen galera
  bind 127.0.0.1:$HAPROXY_PORT
  option external-check
  external-check path \"/usr/bin:/bin\"
  external-check command $DIR/galera-check.sh
  default-server inter 1s fall 2 rise 2 on-marked-down shutdown-sessions
  server node1 127.0.0.1:3311 check
  server node2 127.0.0.1:3312 check backup
  server node3 127.0.0.1:3313 check backup"
  echo "haproxy: 127.0.0.1:$HAPROXY_PORT"
}

cmd_start() {
  local n any_running=false
  # What .ci/run installs for this cluster, and the MariaDB server and client it runs.
  require_packages galera-4=/usr/lib/galera/libgalera_smm.so haproxy=haproxy rsync=rsync \
    mariadb-server=mariadbd mariadb-server=mariadb-install-db mariadb-client=mariadb
  mkdir -p "$DIR"
  for n in "${NODES[@]}"; do
    write_config "$n"
    if running "$n"; then any_running=true; fi
  done
  if ! $any_running; then
    if [[ -f "$(node_dir 1)/data/grastate.dat" || -f "$(node_dir 2)/data/grastate.dat" ||
      -f "$(node_dir 3)/data/grastate.dat" ]]; then
      bootstrap_from_disk
    else
      bootstrap_fresh
    fi
  fi
  # Joiners one at a time: each needs a donor, and two SSTs at once crowd a small machine.
  for n in "${NODES[@]}"; do
    if running "$n"; then continue; fi
    start_joiner "$n"
    wait_synced "$n"
  done
  start_haproxy
  haproxy_wait
  cmd_status
}

stop_node() {
  local n="$1" pid
  pid="$(pid_of "$n")"
  running "$n" || return 0
  kill -TERM "$pid"
  if ! wait_gone "$pid" "$STOP_WAIT"; then
    echo "node$n did not stop within ${STOP_WAIT}s: SIGKILL" >&2
    kill_node "$n"
  fi
  echo "node$n: stopped"
}

kill_node() { kill_pid "$(pid_of "$1")"; }

cmd_stop() {
  local n
  haproxy_stop
  # Reverse order: node1, HAProxy's first choice, leaves last and can bootstrap next time.
  for n in 3 2 1; do stop_node "$n"; done
}

cmd_status() {
  local n ok=0 state size
  for n in "${NODES[@]}"; do
    if running "$n"; then
      state="$(wsrep_status "$n" wsrep_local_state_comment)"
      size="$(wsrep_status "$n" wsrep_cluster_size)"
      echo "node$n: 127.0.0.1:331$n pid $(pid_of "$n") state ${state:-?} cluster_size ${size:-?}"
      [[ "$state" == "Synced" && "$size" == "3" ]] || ok=1
    else
      echo "node$n: 127.0.0.1:331$n not running"
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
  if running "$2"; then kill_node "$2" && echo "node$2: killed"; fi
  ;;
start-node)
  node_arg "${2:-}"
  write_config "$2"
  if ! running "$2"; then start_joiner "$2"; fi
  wait_synced "$2"
  ;;
destroy)
  cmd_stop
  rm -rf "$DIR"
  ;;
*)
  echo "usage: $0 start|stop|status|kill N|start-node N|destroy" >&2
  exit 2
  ;;
esac
