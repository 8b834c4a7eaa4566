#!/usr/bin/env bash
# Installs whatever is missing for pgop to run and be tested; quiet and quick when everything is present.
set -euo pipefail
cd "$(dirname "$0")/.."

# PostgreSQL server + tools, Redis for the store/queues/leases, pgBackRest and PgBouncer, openssl for certificates,
# prometheus for promtool (the chart's alert rules are unit-tested with `promtool test rules`).
bash scripts/apt-ensure.sh postgresql postgresql-contrib redis-server pgbackrest pgbouncer openssl prometheus || [ $? -eq 10 ]

# npm packages, reinstalled when the lockfile changed.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm packages"
  # npm install, not npm ci: the registry here lacks some optional platform packages that npm ci insists on.
  npm install --no-audit --no-fund --loglevel=error
fi

# The test control plane (tests only: `--with-k8s`): kube-apiserver and etcd built from the Go module proxy,
# cached outside the repo, so only the first run pays for the build.
if [ "${1:-}" = "--with-k8s" ]; then
  bash tests/k8s/bins/build.sh >/dev/null
  bash tests/k8s/bins/build-helm.sh >/dev/null
  # Python drivers the router's client tests run through it (psycopg 3, asyncpg), in a private venv.
  bash scripts/python-drivers.sh
  # The S3 server the backup tests run (versitygw), same cache.
  bash tests/s3/build-versitygw.sh >/dev/null
fi
