#!/usr/bin/env bash
# Brings a fresh Debian/Ubuntu machine (with Go and gcc) to the state the test suite expects:
# the Debian packages the tests use, and Mosquitto listening on 127.0.0.1:1883.
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
echo "setup: ok"
