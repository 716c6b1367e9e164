#!/usr/bin/env bash
# Installs Debian's Prometheus (2.42) for the end-to-end tests, unless a
# `prometheus` binary is already on PATH. The tests start their own Prometheus
# processes (cmd/train-prometheus/promserver_test.go); the packaged service is
# kept from starting, and stopped if it started anyway.
set -euo pipefail

print_version() {
  local v
  v="$(prometheus --version 2>&1)"
  echo "${v%%$'\n'*}"
}

if command -v prometheus >/dev/null 2>&1; then
  print_version
  exit 0
fi

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  SUDO=(sudo)
fi

# PIDs of processes running /usr/bin/prometheus (no procps on bare Debian).
prometheus_pids() {
  local p
  for p in /proc/[0-9]*; do
    if [ "$(readlink "$p/exe" 2>/dev/null || true)" = /usr/bin/prometheus ]; then
      echo "${p#/proc/}"
    fi
  done
}
before="$(prometheus_pids | sort)"

# Keep the package's maintainer scripts from starting the service
# (honoured by invoke-rc.d and deb-systemd-invoke).
policy_added=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | "${SUDO[@]}" tee /usr/sbin/policy-rc.d >/dev/null
  "${SUDO[@]}" chmod 755 /usr/sbin/policy-rc.d
  policy_added=1
fi
cleanup() {
  if [ -n "$policy_added" ]; then
    "${SUDO[@]}" rm -f /usr/sbin/policy-rc.d
  fi
}
trap cleanup EXIT

echo "install-prometheus: installing Debian package prometheus" >&2
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends prometheus >/dev/null

# Belt and braces: stop the service if something started it anyway.
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
  "${SUDO[@]}" systemctl disable --now prometheus.service >/dev/null 2>&1 || true
elif [ -x /etc/init.d/prometheus ]; then
  "${SUDO[@]}" /etc/init.d/prometheus stop >/dev/null 2>&1 || true
fi
for pid in $(prometheus_pids | sort); do
  if ! grep -qx "$pid" <<<"$before"; then
    echo "install-prometheus: stopping prometheus pid $pid started by the package" >&2
    "${SUDO[@]}" kill "$pid" 2>/dev/null || true
  fi
done

print_version
