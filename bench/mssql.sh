#!/usr/bin/env bash
# MSSQL benchmark: Parquet → mssql (TDS bulk load) and mssql → Parquet through `hygge go`,
# against hygge's TDS test server, with FreeTDS's freebcp (the bcp route Sling takes) and
# connectorx (a Rust TDS reader) as peers in the same run. Not part of CI.
#   bash bench/mssql.sh [NARROW_ROWS] [WIDE_ROWS] [RUNS]
set -euo pipefail
cd "$(dirname "$0")"
NARROW="${1:-10000000}"
WIDE="${2:-1000000}"
RUNS="${3:-3}"
source ./env.sh
bench_venv duckdb polars pyarrow numpy connectorx
command -v freebcp >/dev/null || { echo "install Debian's freetds-bin for the freebcp peer" >&2; exit 1; }
(cd .. && cargo build --release --locked --quiet -p hygge -p hygge-tds-test-server)

.venv/bin/python mssql.py "$CARGO_TARGET_DIR/release" "$NARROW" "$WIDE" "$RUNS"
