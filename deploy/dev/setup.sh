#!/usr/bin/env bash
# Brings a fresh Debian/Ubuntu machine (with Go and gcc) to the state the test suite expects:
# the Debian packages the tests use, Mosquitto listening on 127.0.0.1:1883 and PostgreSQL on
# 127.0.0.1:5432 (user postgres, trust on loopback).
# Safe to run again: it installs only what is missing and starts only what is stopped.
set -euo pipefail

need=()
here=$(cd "$(dirname "$0")" && pwd)
while read -r pkg; do
  case "$pkg" in ""|\#*) continue ;; esac
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done < "$here/apt-packages.txt"

if [ ${#need[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "setup: installing ${need[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi

# Mosquitto on 127.0.0.1:1883 is the external broker of the integration tests.
if ! (exec 3<>/dev/tcp/127.0.0.1/1883) 2>/dev/null; then
  echo "setup: starting mosquitto on 127.0.0.1:1883"
  if [ -f /etc/mosquitto/mosquitto.conf ]; then
    mosquitto -d -c /etc/mosquitto/mosquitto.conf
  else
    mosquitto -d -p 1883
  fi
  for _ in $(seq 1 50); do
    (exec 3<>/dev/tcp/127.0.0.1/1883) 2>/dev/null && break
    sleep 0.1
  done
  (exec 3<>/dev/tcp/127.0.0.1/1883) 2>/dev/null || { echo "setup: mosquitto did not start on 127.0.0.1:1883" >&2; exit 1; }
fi
# PostgreSQL on 127.0.0.1:5432 holds the test databases of CUSTODY_TEST_STORE=postgres (each test
# makes its own and drops it; internal/store/storetest). Started if it is not running; a machine
# where it cannot be is a failed setup, not a skipped suite.
if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  echo "setup: starting PostgreSQL on 127.0.0.1:5432"
  if command -v pg_lsclusters >/dev/null && [ -z "$(pg_lsclusters -h 2>/dev/null)" ]; then
    v=$(ls /usr/lib/postgresql | sort -n | tail -1)
    pg_createcluster "$v" main >/dev/null
  fi
  service postgresql start >/dev/null 2>&1 || true
  if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
    pg_lsclusters -h 2>/dev/null | while read -r v c _; do pg_ctlcluster "$v" "$c" start || true; done
  fi
  for _ in $(seq 1 100); do
    pg_isready -q -h 127.0.0.1 -p 5432 && break
    sleep 0.1
  done
  pg_isready -h 127.0.0.1 -p 5432 || { echo "setup: PostgreSQL did not start on 127.0.0.1:5432 (pg_lsclusters; /var/log/postgresql)" >&2; exit 1; }
fi
# The tests sign in as postgres without a password over 127.0.0.1: allow it where the cluster
# still asks (a fresh Debian cluster wants scram there).
if ! psql -h 127.0.0.1 -U postgres -w -Atc 'SELECT 1' >/dev/null 2>&1; then
  hba=$(su postgres -c "psql -Atc 'SHOW hba_file'")
  echo "setup: trusting user postgres on 127.0.0.1 in $hba"
  sed -i '1i host all postgres 127.0.0.1/32 trust' "$hba"
  su postgres -c "psql -Atc 'SELECT pg_reload_conf()'" >/dev/null
  sleep 0.5
  psql -h 127.0.0.1 -U postgres -w -Atc 'SELECT 1' >/dev/null || { echo "setup: cannot sign in to PostgreSQL as postgres on 127.0.0.1" >&2; exit 1; }
fi
echo "setup: ok"
