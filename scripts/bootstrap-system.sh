#!/usr/bin/env bash
# Installs what the project needs from Debian when it is missing: Python 3.11+ with venv, and
# (for the embedded default, i.e. DATABASE_URL unset) PostgreSQL 15 with PostGIS 3.
# As root on Debian it runs apt-get; otherwise it prints the command to run and fails.
set -euo pipefail

need=()
python_ok() {
  command -v python3 >/dev/null 2>&1 &&
    python3 -c 'import sys, venv, ensurepip; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null
}
python_ok || need+=(python3 python3-venv python3-dev)

if [ -z "${DATABASE_URL:-}" ]; then
  bindir=/usr/lib/postgresql/15/bin
  [ -x "$bindir/initdb" ] && [ -x "$bindir/pg_ctl" ] || need+=(postgresql-15)
  share=/usr/share/postgresql/15/extension
  [ -f "$share/postgis.control" ] || need+=(postgresql-15-postgis-3)
  [ -f "$share/unaccent.control" ] && [ -f "$share/btree_gist.control" ] || need+=(postgresql-contrib)
fi

[ ${#need[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "bootstrap: installing ${need[*]} with apt-get" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  # Debian starts a system cluster on install; the project runs its own, so leave that one be.
  exit 0
fi

echo "bootstrap: missing ${need[*]}. Install them with: sudo apt-get install -y ${need[*]}" >&2
exit 1
