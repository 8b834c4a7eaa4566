#!/usr/bin/env bash
# Installs whatever is missing for pgop to run and be tested; quiet and quick when everything is present.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { echo "setup: $*"; }
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

# Debian packages: PostgreSQL server + tools, Redis for the store/queues/leases, pgBackRest and PgBouncer.
missing=()
for pkg in postgresql postgresql-contrib redis-server pgbackrest pgbouncer openssl; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm packages, reinstalled when the lockfile changed.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm packages"
  # npm install, not npm ci: the registry here lacks some optional platform packages that npm ci insists on.
  npm install --no-audit --no-fund --loglevel=error
fi
