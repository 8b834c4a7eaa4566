#!/usr/bin/env bash
# A private Python venv with the drivers the router's client tests use; quiet when already present.
set -euo pipefail
VENV="${PGOP_CACHE:-$HOME/.cache/pgop}/py"
if "$VENV/bin/python3" -c 'import psycopg, asyncpg' 2>/dev/null; then exit 0; fi
python3 -m venv "$VENV" 2>/dev/null || { bash "$(dirname "$0")/apt-ensure.sh" python3-venv || [ $? -eq 10 ]; python3 -m venv "$VENV"; }
echo "setup: installing Python drivers (psycopg, asyncpg) into $VENV"
"$VENV/bin/pip" install --quiet --disable-pip-version-check "psycopg[binary]" asyncpg
