#!/usr/bin/env bash
# Makes sure the local MariaDB answers on 127.0.0.1:3306, starting it when it does not.
# Waits at most 60 s.
set -euo pipefail
ping() { mariadb-admin --protocol=tcp -h127.0.0.1 -P3306 -uroot ping >/dev/null 2>&1; }
if ping; then echo "MariaDB is up"; exit 0; fi
echo "MariaDB is down: starting it"
mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld
# A pid file of its own: matched by executable alone, start-stop-daemon would take our TLS-only
# MariaDB on 3308 (scripts/ensure-mariadb-tls.sh) for this one and start nothing.
start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd \
  --pidfile /run/mysqld/kms-mariadb-3306.pid --make-pidfile
for _ in $(seq 1 120); do
  if ping; then echo "MariaDB is up"; exit 0; fi
  sleep 0.5
done
echo "MariaDB did not start within 60 s" >&2
exit 1
