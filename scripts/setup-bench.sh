#!/usr/bin/env bash
# Baselines for the benchmarks: Patroni 3 and etcd from Debian (quiet when present).
set -euo pipefail
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
missing=()
for pkg in patroni etcd-server python3-etcd; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup-bench: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # Debian starts a system etcd on the default ports; the benchmark runs its own.
  $SUDO service etcd stop >/dev/null 2>&1 || pkill -x etcd || true
fi
