# Shared by scripts/cluster.sh (Galera) and scripts/gr-cluster.sh (Group Replication), which
# source it after setting DIR (where HAProxy's files go) and HAPROXY_PORT: the programs they need,
# process waits, and HAProxy in front of the three nodes.

# require_packages NEED...: each NEED is PACKAGE=COMMAND (a program on the PATH) or
# PACKAGE=/path (a file), checked as .ci/run checks them. What is missing is installed with
# apt-get when running as root, as .ci/run installs it; otherwise the script stops at once,
# saying what to install.
require_packages() {
  local need package what missing=()
  # haproxy and mariadbd live in /usr/sbin, which an ordinary user's PATH may lack.
  [[ ":$PATH:" == *:/usr/sbin:* ]] || PATH="$PATH:/usr/sbin"
  for need in "$@"; do
    package="${need%%=*}"
    what="${need#*=}"
    if [[ "$what" == /* ]]; then
      [[ -e "$what" ]] && continue
    else
      command -v "$what" >/dev/null 2>&1 && continue
    fi
    [[ " ${missing[*]} " == *" $package "* ]] || missing+=("$package")
  done
  ((${#missing[@]} == 0)) && return 0
  if ((EUID == 0)) && command -v apt-get >/dev/null 2>&1; then
    echo "$0: installing what it needs: ${missing[*]}"
    apt-get update -qq || exit 1
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" || exit 1
    return 0
  fi
  echo "$0: not installed: ${missing[*]}. Install as root with:" >&2
  echo "  apt-get update && apt-get install -y ${missing[*]}" >&2
  exit 1
}

alive() { # a process that exists and is not a zombie waiting to be reaped
  local state
  state="$(ps -o stat= -p "$1" 2>/dev/null || true)"
  [[ -n "$state" && "$state" != Z* ]]
}
wait_gone() { # wait_gone PID SECONDS: true once the process has exited
  local deadline=$((SECONDS + $2))
  while alive "$1" && ((SECONDS < deadline)); do sleep 0.2; done
  ! alive "$1"
}
kill_pid() { # kill -9, as in a crash; returns once the process is gone
  kill -KILL "$1" 2>/dev/null || true
  wait_gone "$1" 10
}

node_arg() {
  [[ "${1:-}" =~ ^[123]$ ]] || {
    echo "expected a node number 1, 2 or 3, got '${1:-}'" >&2
    exit 2
  }
}

haproxy_pid() { cat "$DIR/haproxy.pid" 2>/dev/null || true; }
haproxy_running() {
  local pid
  pid="$(haproxy_pid)"
  [[ -n "$pid" ]] && alive "$pid"
}

# haproxy_start LISTEN_SECTION: unless HAProxy runs, writes its configuration (the shared
# global and defaults sections, then LISTEN_SECTION) and starts it.
haproxy_start() {
  if haproxy_running; then return 0; fi
  {
    cat <<CONFIG
global
  maxconn 4000
  external-check
  insecure-fork-wanted
  pidfile $DIR/haproxy.pid
  stats socket $DIR/haproxy.sock mode 600 level admin

defaults
  mode tcp
  timeout connect 3s
  timeout client 1h
  timeout server 1h
  timeout check 3s
  # A connection refused by a dead node goes to the next server at once.
  retries 2
  option redispatch

CONFIG
    printf '%s\n' "$1"
  } >"$DIR/haproxy.cfg"
  haproxy -D -f "$DIR/haproxy.cfg"
}

haproxy_wait() { # until a login through HAProxy works (15 s at most)
  local deadline=$((SECONDS + 15))
  while ((SECONDS < deadline)); do
    mariadb --no-defaults --protocol=tcp -h127.0.0.1 -P"$HAPROXY_PORT" -uroot -N -B \
      -e "SELECT 1" >/dev/null 2>&1 && return 0
    sleep 0.5
  done
  echo "HAProxy on port $HAPROXY_PORT does not reach a node within 15s" >&2
  return 1
}

haproxy_stop() {
  local pid
  pid="$(haproxy_pid)"
  if [[ -n "$pid" ]] && alive "$pid"; then
    kill "$pid"
    wait_gone "$pid" 10 || true
    echo "haproxy: stopped"
  fi
}

haproxy_status() { # prints HAProxy's line; false when it is not running
  if haproxy_running; then
    echo "haproxy: 127.0.0.1:$HAPROXY_PORT pid $(haproxy_pid)"
  else
    echo "haproxy: not running"
    return 1
  fi
}
