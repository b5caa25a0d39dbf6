#!/bin/sh
# Run once by the postgis image when it initialises the primary (docker-entrypoint-initdb.d):
# lets the standby connect for replication (the image's own pg_hba line `host all all all`
# does not cover replication connections). Untested (docs/scale.md).
set -eu
echo "host replication all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
