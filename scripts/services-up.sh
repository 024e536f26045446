#!/usr/bin/env bash
# Installs (where missing) and starts the real services the tests talk to, all on loopback, and
# unpacks the oracle tests' Debian-shipped dumps (scripts/dumps-from-debian.sh):
#   MariaDB 127.0.0.1:3306 (root, no password, database `test`)
#   PostgreSQL 127.0.0.1:5432 (database `test`)
#   ClickHouse 127.0.0.1:8123 (HTTP; Debian's 18.16 release)
#   the OpenSSH server binary (tests start their own throwaway sshd instances)
# Services already running are left alone; running this twice is harmless.
set -euo pipefail

log() { printf '[services:up] %s\n' "$*" >&2; }
die() { printf '[services:up] ERROR: %s\n' "$*" >&2; exit 1; }

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || die "needs root (or sudo) to install and start services"
  SUDO="sudo"
fi

apt_updated=0
apt_install() {
  export DEBIAN_FRONTEND=noninteractive
  if [ "$apt_updated" -eq 0 ]; then
    log "apt-get update"
    $SUDO apt-get update -qq >/dev/null
    apt_updated=1
  fi
  log "installing: $*"
  # policy-rc.d keeps the packages' own init scripts from starting daemons we start ourselves.
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
  $SUDO chmod +x /usr/sbin/policy-rc.d
  $SUDO apt-get install -y -qq --no-install-recommends "$@" >/dev/null
  $SUDO rm -f /usr/sbin/policy-rc.d
}

port_open() { # host port
  (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null && return 0 || return 1
}

wait_port() { # name host port seconds
  local i
  for ((i = 0; i < $4 * 5; i++)); do
    port_open "$2" "$3" && return 0
    sleep 0.2
  done
  die "$1 did not start listening on $2:$3 within $4 s"
}

# ---------------------------------------------------------------- MariaDB
mariadb_up() {
  if ! command -v mariadbd >/dev/null && [ ! -x /usr/sbin/mariadbd ]; then
    apt_install mariadb-server mariadb-client
  fi
  if ! port_open 127.0.0.1 3306; then
    log "starting MariaDB"
    $SUDO mkdir -p /run/mysqld && $SUDO chown mysql:mysql /run/mysqld 2>/dev/null || true
    $SUDO start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd -- --bind-address=127.0.0.1
    wait_port MariaDB 127.0.0.1 3306 60
  fi
  # Root over TCP without a password, as the tests expect; idempotent.
  if ! mariadb -h127.0.0.1 -uroot -e 'SELECT 1' >/dev/null 2>&1; then
    $SUDO mariadb -uroot -e "ALTER USER root@localhost IDENTIFIED VIA mysql_native_password USING PASSWORD('') OR unix_socket; FLUSH PRIVILEGES;"
  fi
  mariadb -h127.0.0.1 -uroot -e 'CREATE DATABASE IF NOT EXISTS test' >/dev/null
  log "MariaDB ready on 127.0.0.1:3306"
}

# ------------------------------------------------------------- PostgreSQL
postgres_up() {
  if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
    apt_install postgresql postgresql-client
  fi
  if ! port_open 127.0.0.1 5432; then
    log "starting PostgreSQL"
    local v
    v=$(ls /etc/postgresql | sort -V | tail -n1)
    $SUDO pg_ctlcluster --skip-systemctl-redirect "$v" main start
    wait_port PostgreSQL 127.0.0.1 5432 60
  fi
  # Trust on loopback for the test bed (the machine image ships it so; a fresh install does not).
  if ! psql -h 127.0.0.1 -U postgres -d postgres -Atc 'SELECT 1' >/dev/null 2>&1; then
    local hba
    hba=$($SUDO -u postgres psql -Atc 'SHOW hba_file')
    $SUDO sed -i -E 's/^(host\s+all\s+all\s+127\.0\.0\.1\/32\s+)\S+/\1trust/' "$hba"
    $SUDO -u postgres psql -qc 'SELECT pg_reload_conf()' >/dev/null
  fi
  if ! psql -h 127.0.0.1 -U postgres -d postgres -Atc "SELECT 1 FROM pg_database WHERE datname='test'" | grep -q 1; then
    psql -h 127.0.0.1 -U postgres -d postgres -qc 'CREATE DATABASE test'
  fi
  log "PostgreSQL ready on 127.0.0.1:5432"
}

# ------------------------------------------------------------- ClickHouse
clickhouse_up() {
  if ! command -v clickhouse-server >/dev/null; then
    apt_install clickhouse-server clickhouse-client
  fi
  if ! port_open 127.0.0.1 8123; then
    log "starting ClickHouse"
    id clickhouse >/dev/null 2>&1 || $SUDO useradd --system --no-create-home --shell /usr/sbin/nologin clickhouse
    $SUDO mkdir -p /var/lib/clickhouse /var/log/clickhouse-server /run/clickhouse-server
    $SUDO chown -R clickhouse:clickhouse /var/lib/clickhouse /var/log/clickhouse-server /run/clickhouse-server
    # Run as the clickhouse user from its data directory; --daemon detaches.
    (cd /var/lib/clickhouse && $SUDO runuser -u clickhouse -- clickhouse-server \
      --config-file=/etc/clickhouse-server/config.xml --daemon \
      --pid-file=/run/clickhouse-server/clickhouse-server.pid)
    wait_port ClickHouse 127.0.0.1 8123 90
  fi
  log "ClickHouse ready on 127.0.0.1:8123"
}

# ---------------------------------------------------------------- OpenSSH
sshd_up() {
  if [ ! -x /usr/sbin/sshd ]; then
    apt_install openssh-server openssh-client
  fi
  command -v ssh-keygen >/dev/null || apt_install openssh-client
  command -v sha256sum >/dev/null || die "sha256sum (coreutils) is missing"
  # sshd refuses to start without its privilege-separation directory.
  $SUDO mkdir -p /run/sshd && $SUDO chmod 0755 /run/sshd
  log "OpenSSH server binary ready ($(/usr/sbin/sshd -V 2>&1 | head -n1))"
}

mariadb_up
postgres_up
clickhouse_up
sshd_up
# The oracle tests' Debian-shipped SQL dumps (unpacked, not installed).
bash "$(dirname "$0")/dumps-from-debian.sh"
log "all services up"
