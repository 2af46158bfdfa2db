#!/usr/bin/env bash
# Makes sure a second MariaDB, of our own and TLS-only, answers on 127.0.0.1:3308 with a
# database `test`, starting it when it does not. It is Debian's MariaDB 10.11 (/usr/sbin/mariadbd,
# the binary the main server on 3306 runs, which this script never touches) with its own data
# directory, socket, pid file and log, started with --require-secure-transport=ON and
# certificates this script makes with openssl.
#
#   scripts/ensure-mariadb-tls.sh          make what is missing, start the server, wait for it
#   scripts/ensure-mariadb-tls.sh stop     stop the server this script started
#   scripts/ensure-mariadb-tls.sh dir      print the certificate directory
#
# Settings (environment): KMS_TLS_PORT (default 3308); KMS_TLS_DIR, the certificates (default
# /var/cache/kms-tls); KMS_TLS_BASE, data directory, socket, pid file and log (default
# /var/cache/kms-mariadb-tls).
#
# Certificates, in KMS_TLS_DIR (only the keys are secret; nothing secret is printed):
#   ca.pem, ca-key.pem                 a test CA (10 years)
#   server-cert.pem, server-key.pem    signed by it; subjectAltName DNS:localhost, IP:127.0.0.1
#   expired-cert.pem, expired-key.pem  signed by it, same names, valid only in 2020
#   client-cert.pem, client-key.pem    signed by it, for client-certificate logins
#   other-ca.pem                       an unrelated CA that signed nothing of ours
#   active-cert.pem, active-key.pem    what the server serves: copies of server-*.pem that a test
#                                      may overwrite (then FLUSH SSL) and must put back; each
#                                      start of the server puts them back, and so does a rerun
#                                      once the process that swapped them (.swap.lock) is gone
#
# Accounts: root@localhost and root@127.0.0.1 without a password; the server takes them over TCP
# only with TLS (the unix socket, which this script uses, counts as secure). mariadbd runs as root.
# Idempotent: each step is skipped when its result is already there. Every wait is bounded.
set -euo pipefail

PORT="${KMS_TLS_PORT:-3308}"
CERTS="${KMS_TLS_DIR:-/var/cache/kms-tls}"
BASE="${KMS_TLS_BASE:-/var/cache/kms-mariadb-tls}"
DATADIR="$BASE/data"
SOCKET="$BASE/mariadbd.sock"
PIDFILE="$BASE/mariadbd.pid"
LOG="$BASE/mariadbd.log"
START_WAIT=60 # seconds for mariadbd to answer
STOP_WAIT=60  # seconds for it to exit
RENEW_DAYS=30 # certificates expiring sooner than this are made again

say() { printf 'ensure-mariadb-tls: %s\n' "$*"; }
fail() {
  printf 'ensure-mariadb-tls: %s\n' "$*" >&2
  exit 1
}
sql() { # statements as root over this instance's unix socket (no TLS needed there)
  mariadb --no-defaults --protocol=socket --socket="$SOCKET" -uroot -N -B -e "$1"
}
answers() { sql "SELECT VERSION()" 2>/dev/null; }
tls_answers() { # over TCP with TLS, verifying the server's certificate against our CA
  mariadb --no-defaults --protocol=tcp -h127.0.0.1 -P"$PORT" -uroot --ssl \
    --ssl-ca="$CERTS/ca.pem" --ssl-verify-server-cert -N -B \
    -e "SELECT CONCAT(CURRENT_USER(), ' ', VARIABLE_VALUE) FROM information_schema.SESSION_STATUS
        WHERE VARIABLE_NAME = 'Ssl_version'"
}
# The pid of our mariadbd, if it runs: the pid file's process, when it is mariadbd on our datadir.
server_pid() {
  local pid
  pid="$(cat "$PIDFILE" 2>/dev/null || true)"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 0
  if tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "mariadbd.*--datadir=$DATADIR "; then
    echo "$pid"
  fi
}

if [[ "${1:-}" == "dir" ]]; then
  echo "$CERTS"
  exit 0
fi

if [[ "${1:-}" == "stop" ]]; then
  pid="$(server_pid)"
  if [[ -z "$pid" ]]; then say "the TLS MariaDB is not running (port $PORT)"; exit 0; fi
  sql "SHUTDOWN" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 $((STOP_WAIT * 2))); do
    if ! kill -0 "$pid" 2>/dev/null; then say "the TLS MariaDB stopped"; exit 0; fi
    sleep 0.5
  done
  fail "mariadbd (pid $pid) did not stop within $STOP_WAIT s (log: $LOG)"
fi

[[ -z "${1:-}" ]] || fail "unknown argument '$1' (none, stop or dir)"
if (($(id -u) != 0)); then fail "this script runs as root (it writes to $CERTS and $BASE)"; fi
command -v openssl >/dev/null || fail "openssl is missing (Debian package openssl)"
[[ -x /usr/sbin/mariadbd ]] || fail "/usr/sbin/mariadbd is missing (Debian package mariadb-server)"

# ---------------------------------------------------------------------------------- certificates
# Each file is made in a scratch directory and moved into place only when complete, so an
# interrupted run leaves either the old file or none, never a half-written one.
mkdir -p "$CERTS"
chmod 755 "$CERTS"
WORK="$(mktemp -d "$CERTS/.make.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
cat >"$WORK/openssl.cnf" <<'EOF'
[req]
distinguished_name = dn
prompt = no
[dn]
[ca]
default_ca = kms
[kms]
database = index.txt
new_certs_dir = .
rand_serial = yes
default_md = sha256
policy = any
copy_extensions = none
unique_subject = no
[any]
commonName = supplied
[ca_ext]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[server_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[client_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
: >"$WORK/index.txt"
ossl() { # openssl, quiet unless it fails
  if ! (cd "$WORK" && openssl "$@") >"$WORK/openssl.log" 2>&1; then
    cat "$WORK/openssl.log" >&2
    fail "openssl $1 failed"
  fi
}
put() { # put FILE...: moves each WORK/FILE into CERTS (keys 600, certificates 644)
  local f
  for f in "$@"; do
    if [[ "$f" == *key.pem ]]; then chmod 600 "$WORK/$f"; else chmod 644 "$WORK/$f"; fi
    mv -f "$WORK/$f" "$CERTS/$f"
  done
}
new_ca() { # new_ca NAME CN: NAME.pem and NAME-key.pem, a self-signed CA valid 10 years
  ossl req -x509 -config openssl.cnf -extensions ca_ext -newkey rsa:2048 -nodes -sha256 \
    -days 3650 -subj "/CN=$2" -keyout "$1-key.pem" -out "$1.pem"
}
new_leaf() { # new_leaf NAME CN EXTENSIONS DATES...: NAME-cert.pem and NAME-key.pem, signed by ca
  ossl req -new -config openssl.cnf -newkey rsa:2048 -nodes -subj "/CN=$2" \
    -keyout "$1-key.pem" -out "$1.csr"
  ossl ca -batch -config openssl.cnf -cert "$CERTS/ca.pem" -keyfile "$CERTS/ca-key.pem" \
    -extensions "$3" -notext -in "$1.csr" -out "$1-cert.pem" "${@:4}"
}
signed_by_ca() { # signed_by_ca CERT [-no_check_time]
  openssl verify -CAfile "$CERTS/ca.pem" "${@:2}" "$1" >/dev/null 2>&1
}
lasts() { openssl x509 -in "$1" -noout -checkend $((RENEW_DAYS * 86400)) >/dev/null 2>&1; }
made=()

if [[ ! -s "$CERTS/ca.pem" || ! -s "$CERTS/ca-key.pem" ]] || ! lasts "$CERTS/ca.pem"; then
  new_ca ca "kms-mysql-session test CA"
  put ca-key.pem ca.pem
  made+=(ca.pem)
  rm -f "$CERTS"/{server,expired,client}-{cert,key}.pem # signed by the old CA
fi
leaf() { # leaf NAME CN EXTENSIONS: makes NAME-cert.pem/NAME-key.pem unless good ones are there
  if [[ -s "$CERTS/$1-cert.pem" && -s "$CERTS/$1-key.pem" ]] && signed_by_ca "$CERTS/$1-cert.pem" &&
    lasts "$CERTS/$1-cert.pem"; then
    return 0
  fi
  new_leaf "$1" "$2" "$3" -days 3650
  put "$1-key.pem" "$1-cert.pem"
  made+=("$1-cert.pem")
}
leaf server localhost server_ext
leaf client "kms-mysql-session test client" client_ext
# Expired: the CA signs it for 2020 only (openssl ca takes explicit dates; OpenSSL 3.0's x509
# has no -not_after). Same names as the server certificate, so expiry is its only fault.
if [[ -s "$CERTS/expired-cert.pem" && -s "$CERTS/expired-key.pem" ]] &&
  signed_by_ca "$CERTS/expired-cert.pem" -no_check_time &&
  ! openssl x509 -in "$CERTS/expired-cert.pem" -noout -checkend 0 >/dev/null 2>&1; then
  :
else
  new_leaf expired localhost server_ext -startdate 20200101000000Z -enddate 20210101000000Z
  put expired-key.pem expired-cert.pem
  made+=(expired-cert.pem)
fi
if [[ ! -s "$CERTS/other-ca.pem" ]] || ! lasts "$CERTS/other-ca.pem"; then
  new_ca other-ca "kms-mysql-session unrelated CA"
  rm -f "$WORK/other-ca-key.pem" # nobody signs with it
  put other-ca.pem
  made+=(other-ca.pem)
fi
if ((${#made[@]})); then say "made in $CERTS: ${made[*]}"; fi

serve_valid() { # what the server serves: the valid server certificate
  cp "$CERTS/server-key.pem" "$WORK/active-key.pem"
  cp "$CERTS/server-cert.pem" "$WORK/active-cert.pem"
  put active-key.pem active-cert.pem
}

# ------------------------------------------------------------------------------------ the server
pid="$(server_pid)"
if [[ -n "$pid" ]] && version="$(answers)"; then
  if [[ " ${made[*]} " == *" server-cert.pem "* || ! -s "$CERTS/active-cert.pem" ||
    ! -s "$CERTS/active-key.pem" ]]; then
    serve_valid
    sql "FLUSH SSL"
    say "the server now serves the new server-cert.pem (FLUSH SSL)"
  elif ! cmp -s "$CERTS/active-cert.pem" "$CERTS/server-cert.pem"; then
    # A test swapped it (tests/helpers/tls.ts): left alone while that test's process lives.
    owner="$(cat "$CERTS/.swap.lock" 2>/dev/null || true)"
    if [[ "$owner" =~ ^[0-9]+$ ]] && kill -0 "$owner" 2>/dev/null; then
      say "note: process $owner has it serve another certificate for a test; left as it is"
    else
      serve_valid
      sql "FLUSH SSL"
      rm -f "$CERTS/.swap.lock"
      say "it served another certificate, left by a test that ended: it serves server-cert.pem again"
    fi
  fi
  sql "CREATE DATABASE IF NOT EXISTS test"
  say "MariaDB $version (TLS only) is up on 127.0.0.1:$PORT, database test, certificates in $CERTS"
  exit 0
fi

mkdir -p "$BASE"
if [[ ! -d "$DATADIR/mysql" ]]; then
  # Made beside its final place and moved there whole, so an interrupted run never leaves a
  # half-made data directory that a later run would take for a finished one.
  say "initialising the data directory $DATADIR"
  rm -rf "$DATADIR.partial"
  mkdir -p "$DATADIR.partial"
  if ! mariadb-install-db --no-defaults --user=root --datadir="$DATADIR.partial" \
    --auth-root-authentication-method=normal --skip-test-db --skip-name-resolve \
    >"$BASE/install-db.log" 2>&1; then
    tail -n 20 "$BASE/install-db.log" >&2 || true
    fail "mariadb-install-db failed (log: $BASE/install-db.log)"
  fi
  rm -rf "$DATADIR"
  mv "$DATADIR.partial" "$DATADIR"
fi

if [[ -n "$pid" ]]; then
  say "mariadbd (pid $pid) is running but does not answer yet: waiting for it"
else
  if ss -Hltn "sport = :$PORT" 2>/dev/null | grep -q .; then
    fail "port $PORT is taken by another program: stop it or set KMS_TLS_PORT"
  fi
  serve_valid
  say "starting mariadbd on 127.0.0.1:$PORT (log: $LOG)"
  # setsid: the server outlives this shell and CI's step. Character set and collation as in
  # Debian's configuration of the main server.
  setsid /usr/sbin/mariadbd --no-defaults --user=root --datadir="$DATADIR" \
    --bind-address=127.0.0.1 --port="$PORT" --socket="$SOCKET" --pid-file="$PIDFILE" \
    --log-error="$LOG" --skip-name-resolve \
    --character-set-server=utf8mb4 --collation-server=utf8mb4_general_ci \
    --require-secure-transport=ON --ssl-ca="$CERTS/ca.pem" \
    --ssl-cert="$CERTS/active-cert.pem" --ssl-key="$CERTS/active-key.pem" \
    </dev/null >/dev/null 2>&1 &
fi
for _ in $(seq 1 $((START_WAIT * 2))); do
  if version="$(answers)"; then break; fi
  version=""
  sleep 0.5
done
if [[ -z "$version" ]]; then
  tail -n 20 "$LOG" >&2 || true
  fail "mariadbd did not answer on $SOCKET within $START_WAIT s (log: $LOG)"
fi

# Accounts and database, each made only when missing.
for host in localhost 127.0.0.1; do
  if [[ "$(sql "SELECT COUNT(*) FROM mysql.global_priv WHERE User = 'root' AND Host = '$host'")" == 0 ]]; then
    sql "CREATE USER 'root'@'$host'; GRANT ALL PRIVILEGES ON *.* TO 'root'@'$host' WITH GRANT OPTION"
    say "created root@$host (no password)"
  fi
done
sql "CREATE DATABASE IF NOT EXISTS test"
if ! check="$(tls_answers 2>&1)"; then
  fail "it answers on its socket, but not over TCP with TLS on 127.0.0.1:$PORT: $check"
fi
say "MariaDB $version (TLS only) is up on 127.0.0.1:$PORT as $check, database test, certificates in $CERTS"
