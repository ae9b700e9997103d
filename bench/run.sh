#!/usr/bin/env bash
# Parquet → Parquet benchmark: hygge against DuckDB and Polars on the same generated
# 10M-row lineitem-like dataset, in one run. Not part of CI.
#   bash bench/run.sh [ROWS] [RUNS]
set -euo pipefail
cd "$(dirname "$0")"
ROWS="${1:-10000000}"
RUNS="${2:-5}"
source ./env.sh
bench_venv duckdb polars pyarrow numpy
(cd .. && cargo build --release --locked --quiet)
HYGGE="$CARGO_TARGET_DIR/release/hygge"

.venv/bin/python generate.py "$ROWS" data/lineitem/lineitem.parquet
.venv/bin/python compare.py "$HYGGE" "$ROWS" "$RUNS"
