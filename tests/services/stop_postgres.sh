#!/usr/bin/env bash
# Stop the PostgreSQL cluster started by tests/services/start_postgres.sh (its data is kept).
set -euo pipefail
version=$(ls /usr/lib/postgresql | sort -V | tail -1)
pg_ctlcluster "$version" main stop && echo "stopped PostgreSQL $version/main"
