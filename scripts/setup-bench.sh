#!/usr/bin/env bash
# Baselines for the benchmarks: Patroni 3 and etcd from Debian (quiet when present).
set -euo pipefail
cd "$(dirname "$0")/.."
rc=0
bash scripts/apt-ensure.sh patroni etcd-server python3-etcd || rc=$?
if [ "$rc" -eq 10 ]; then
  # Debian starts a system etcd on the default ports; the benchmark runs its own.
  service etcd stop >/dev/null 2>&1 || pkill -x etcd || true
elif [ "$rc" -ne 0 ]; then
  exit "$rc"
fi
