#!/usr/bin/env bash
# Start PostgreSQL on localhost for the `postgres`-marked tests (root, Debian 12) and print the
# URL the tests use (export it as MLRC_TEST_POSTGRES_URL; the tests also probe it by default).
#
#   tests/services/start_postgres.sh      # -> postgresql://mlrc:mlrc@127.0.0.1:5432/mlrc_test
#
# Idempotent: installs Debian's postgresql if missing, starts its cluster if it is down, and
# creates the role `mlrc` (allowed to create databases: each test makes its own) and the
# database `mlrc_test`. Stop it with tests/services/stop_postgres.sh.
set -euo pipefail

role=mlrc password=mlrc database=mlrc_test

if ! command -v pg_ctlcluster >/dev/null; then
    echo "installing postgresql ..."
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi

version=$(ls /usr/lib/postgresql | sort -V | tail -1)
if ! pg_lsclusters -h | awk '{print $1, $2}' | grep -qx "$version main"; then
    pg_createcluster "$version" main >/dev/null
fi
if ! pg_lsclusters -h | awk -v v="$version" '$1 == v && $2 == "main" {print $4}' | grep -q online; then
    pg_ctlcluster "$version" main start
fi
port=$(pg_lsclusters -h | awk -v v="$version" '$1 == v && $2 == "main" {print $3}')
for _ in $(seq 100); do pg_isready -q -h 127.0.0.1 -p "$port" && break; sleep 0.1; done

as_postgres() { runuser -u postgres -- psql -p "$port" -v ON_ERROR_STOP=1 -qtAc "$1"; }
if [[ -z "$(as_postgres "SELECT 1 FROM pg_roles WHERE rolname = '$role'")" ]]; then
    as_postgres "CREATE ROLE $role LOGIN CREATEDB PASSWORD '$password'"
fi
if [[ -z "$(as_postgres "SELECT 1 FROM pg_database WHERE datname = '$database'")" ]]; then
    as_postgres "CREATE DATABASE $database OWNER $role"
fi
echo "postgresql://$role:$password@127.0.0.1:$port/$database"
