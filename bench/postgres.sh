#!/usr/bin/env bash
# PostgreSQL benchmark: postgres → Parquet and Parquet → postgres through `hygge go`, against
# one local PostgreSQL server (Debian's binaries, started here, stopped at the end), with
# connectorx, dlt, Sling and psql's \copy as peers in the same session. Not part of CI.
#   bash bench/postgres.sh [ROWS] [RUNS] [--skip-hygge] [--skip TOOL,…]
# ROWS other than 10,000,000 are generated into bench/data/postgres/rows-ROWS/, so the
# shared 10M-row file is never overwritten. --skip-hygge measures the peers only (no build).
set -euo pipefail
cd "$(dirname "$0")"
args=()
flags=()
skip_hygge=
while [ $# -gt 0 ]; do
  case "$1" in
    --skip-hygge) skip_hygge=1; flags+=("$1") ;;
    --skip) flags+=("$1" "$2"); shift ;;
    --skip=*) flags+=("$1") ;;
    *) args+=("$1") ;;
  esac
  shift
done
ROWS="${args[0]:-10000000}"
RUNS="${args[1]:-5}"
source ./env.sh
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 \
  || { echo "install Debian's postgresql (server binaries and psql): apt-get install -y postgresql" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "install Debian's time (/usr/bin/time)" >&2; exit 1; }
bench_venv pyarrow numpy connectorx
# Installed by package name (their import names differ): dlt with its SQL source and postgres
# destination (psycopg2, and the ADBC driver for its Parquet route); Sling's binary from its
# PyPI wheel (the `sling` package would download it at first use); and the DuckDB CLI, which
# Sling reads Parquet through and would also download: the duckdb-cli wheel ships it (1.4.4,
# the oldest version there, nearest Sling's own 1.3.1).
.venv/bin/python -c "import dlt.sources.sql_database, dlt.destinations.impl.postgres.postgres, psycopg2, sqlalchemy, adbc_driver_postgresql, sling_linux_amd64" 2>/dev/null \
  && [ -f .venv/bin/duckdb ] \
  || .venv/bin/pip install --quiet "dlt[sql-database,postgres,parquet,filesystem]" psycopg2-binary \
       adbc-driver-postgresql "sling-linux-amd64==1.4.11" "duckdb-cli==1.4.4"
chmod +x .venv/bin/duckdb .venv/lib/python3*/site-packages/sling_linux_amd64/bin/sling-linux-amd64
[ -n "$skip_hygge" ] || (cd .. && cargo build --release --locked --quiet -p hygge)

# The server's folder: the script stops the server itself; this trap is the backstop for a
# run that dies before it can.
SERVER_DIR="$(mktemp -d /tmp/hygge-bench-pg-XXXXXX)"
stop_server() {
  if [ -f "$SERVER_DIR/data/postmaster.pid" ]; then
    pg_ctl="$(ls /usr/lib/postgresql/*/bin/pg_ctl | sort -V | tail -1)"
    if [ "$(id -u)" = 0 ]; then
      runuser -u postgres -- "$pg_ctl" -D "$SERVER_DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
    else
      "$pg_ctl" -D "$SERVER_DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
  fi
  rm -rf "$SERVER_DIR"
}
trap stop_server EXIT

.venv/bin/python postgres.py "$CARGO_TARGET_DIR/release" "$ROWS" "$RUNS" --server-dir "$SERVER_DIR" "${flags[@]}"
