#!/usr/bin/env bash
# Makes sure Oracle MySQL answers on 127.0.0.1:3307 with a database `test`, starting it when it
# does not. Debian 12 ships only MariaDB, so MySQL comes from Debian's unstable suite (sid),
# whose binaries need a newer glibc: they run inside a sid chroot made with debootstrap
# (about 4 minutes and 650 MB the first time; reused after that).
#
#   scripts/ensure-mysql.sh          set up what is missing, start the server, wait for it
#   scripts/ensure-mysql.sh stop     stop the server this script started
#
# Settings (environment): KMS_MYSQL_ROOT, the chroot (default /var/cache/mysql-sid);
# KMS_MYSQL_PORT (default 3307). Root@localhost has no password, as on the MariaDB beside it.
# Idempotent: each step is skipped when its result is already there. Every wait is bounded.
set -euo pipefail

ROOT="${KMS_MYSQL_ROOT:-/var/cache/mysql-sid}"
PORT="${KMS_MYSQL_PORT:-3307}"
DATADIR=/var/lib/mysql-test # inside the chroot
LOG=/var/log/mysqld-test.log # inside the chroot
PIDFILE=/run/mysqld/mysqld-test.pid # inside the chroot
START_WAIT=90 # seconds for mysqld to answer

say() { printf 'ensure-mysql: %s\n' "$*"; }
fail() {
  printf 'ensure-mysql: %s\n' "$*" >&2
  exit 1
}
sql() { # one statement as root over TCP, with Debian's (MariaDB's) client
  mariadb --no-defaults --protocol=tcp -h127.0.0.1 -P"$PORT" -uroot -N -B -e "$1"
}
answers() { sql "SELECT VERSION()" 2>/dev/null; }
pid() { cat "$ROOT$PIDFILE" 2>/dev/null || true; }

if [[ "${1:-}" == "stop" ]]; then
  if ! answers >/dev/null; then say "MySQL is not running on port $PORT"; exit 0; fi
  server_pid="$(pid)"
  # Debian's mysqladmin is MariaDB's, which MySQL 8.0+ no longer obeys: the SQL statement does.
  sql "SHUTDOWN" || true
  for _ in $(seq 1 120); do
    if [[ -z "$server_pid" ]] || ! kill -0 "$server_pid" 2>/dev/null; then
      say "MySQL stopped"
      exit 0
    fi
    sleep 0.5
  done
  fail "MySQL (pid $server_pid) did not stop within 60 s"
fi

if version="$(answers)"; then
  case "$version" in
    *MariaDB*) fail "port $PORT answers, but it is MariaDB $version, not Oracle MySQL: stop it or set KMS_MYSQL_PORT" ;;
  esac
  say "MySQL $version is up on 127.0.0.1:$PORT"
  sql "CREATE DATABASE IF NOT EXISTS test"
  exit 0
fi

if (($(id -u) != 0)); then
  fail "MySQL is not running on 127.0.0.1:$PORT, and starting it (chroot, debootstrap) needs root"
fi

if [[ ! -x "$ROOT/usr/sbin/mysqld" ]]; then
  if ! command -v debootstrap >/dev/null; then
    say "installing debootstrap (Debian package)"
    apt-get update -qq || fail "apt-get update failed: are Debian's package mirrors reachable?"
    apt-get install -y -qq debootstrap >/dev/null || fail "could not install debootstrap"
  fi
  # Built beside its final place and moved there whole, so an interrupted run never leaves a
  # half-made chroot that a later run would take for a finished one.
  partial="$ROOT.partial"
  rm -rf "$partial"
  mkdir -p "$(dirname "$ROOT")"
  say "creating a Debian sid chroot with mysql-server-core in $ROOT (about 4 minutes, once)"
  if ! debootstrap --variant=minbase --include=mysql-server-core,mysql-client-core \
    sid "$partial" >"$partial.log" 2>&1; then
    tail -n 20 "$partial.log" >&2 || true
    fail "debootstrap failed (log: $partial.log): Debian's sid mirror must be reachable"
  fi
  rm -rf "$ROOT"
  mv "$partial" "$ROOT"
  mv "$partial.log" "$ROOT.debootstrap.log"
fi
say "$(chroot "$ROOT" /usr/sbin/mysqld --version)"

mkdir -p "$ROOT/run/mysqld" "$ROOT/var/log"
if [[ ! -d "$ROOT$DATADIR/mysql" ]]; then
  say "initialising the data directory $ROOT$DATADIR (root@localhost without a password)"
  rm -rf "${ROOT:?}$DATADIR"
  mkdir -p "$ROOT$DATADIR"
  if ! chroot "$ROOT" /usr/sbin/mysqld --no-defaults --initialize-insecure --user=root \
    --datadir="$DATADIR" --log-error="$LOG" >/dev/null 2>&1; then
    tail -n 20 "$ROOT$LOG" >&2 || true
    rm -rf "${ROOT:?}$DATADIR"
    fail "mysqld --initialize-insecure failed (log: $ROOT$LOG)"
  fi
fi

stale="$(pid)"
if [[ -n "$stale" ]] && kill -0 "$stale" 2>/dev/null; then
  say "mysqld (pid $stale) is running but does not answer yet: waiting for it"
else
  say "starting mysqld on 127.0.0.1:$PORT (log: $ROOT$LOG)"
  # --secure-file-priv= : without it mysqld aborts, as /var/lib/mysql-files does not exist in a
  # minimal root. setsid: the server outlives this shell and CI's step.
  setsid chroot "$ROOT" /usr/sbin/mysqld --no-defaults --user=root --datadir="$DATADIR" \
    --bind-address=127.0.0.1 --port="$PORT" --socket=/run/mysqld/mysqld-test.sock \
    --pid-file="$PIDFILE" --log-error="$LOG" --mysqlx=OFF --secure-file-priv= \
    </dev/null >/dev/null 2>&1 &
fi
for _ in $(seq 1 $((START_WAIT * 2))); do
  if version="$(answers)"; then
    sql "CREATE DATABASE IF NOT EXISTS test"
    say "MySQL $version is up on 127.0.0.1:$PORT, database test"
    exit 0
  fi
  sleep 0.5
done
tail -n 20 "$ROOT$LOG" >&2 || true
fail "mysqld did not answer on 127.0.0.1:$PORT within $START_WAIT s (log: $ROOT$LOG)"
