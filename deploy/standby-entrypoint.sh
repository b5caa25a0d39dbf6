#!/bin/sh
# The standby container: on first start, a base backup of the primary configured as its
# standby (-R: standby.signal and primary_conninfo), then PostgreSQL in hot-standby mode.
# Untested (docs/scale.md); the same steps are what db/standby.py runs natively.
set -eu
: "${PRIMARY_HOST:=db}" "${PGDATA:=/var/lib/postgresql/data}"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
    until pg_isready -h "$PRIMARY_HOST" -U "$POSTGRES_USER"; do sleep 1; done
    mkdir -p "$PGDATA" && chown postgres:postgres "$PGDATA" && chmod 700 "$PGDATA"
    gosu postgres env PGPASSWORD="$POSTGRES_PASSWORD" pg_basebackup -h "$PRIMARY_HOST" \
        -U "$POSTGRES_USER" -D "$PGDATA" -R -X stream -c fast
fi
exec gosu postgres postgres -D "$PGDATA" -c hot_standby=on -c hot_standby_feedback=on \
    -c shared_buffers=1GB -c max_wal_size=4GB
