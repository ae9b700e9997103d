#!/usr/bin/env bash
# Object-storage benchmark: the 10M-row lineitem Parquet file to S3 and back through
# `hygge go`, against DuckDB's httpfs and pyarrow's S3 filesystem, all on one moto server
# started here (stopped at the end). Not part of CI.
#   bash bench/object_store.sh [RUNS] [--skip-hygge]
# The peers live in their own venv (.venv-objects): the httpfs extension's wheel pins its
# DuckDB version (1.5.5), which the other benchmarks' venv does not hold.
set -euo pipefail
cd "$(dirname "$0")"
RUNS="${1:-5}"
source ./env.sh
[ -x /usr/bin/time ] || { echo "install Debian's time (/usr/bin/time)" >&2; exit 1; }
[ -x .venv-objects/bin/python ] || python3 -m venv .venv-objects
.venv-objects/bin/python -c "import duckdb, duckdb_extension_httpfs, pyarrow, moto.server" 2>/dev/null \
  || .venv-objects/bin/pip install --quiet "duckdb==1.5.5" "duckdb-extension-httpfs==1.5.5" pyarrow "moto[server]==5.2.5"
if [ ! -f data/lineitem/lineitem.parquet ]; then
  bench_venv duckdb polars pyarrow numpy
  .venv/bin/python generate.py 10000000 data/lineitem/lineitem.parquet
fi
[ "${2:-}" = "--skip-hygge" ] || (cd .. && cargo build --release --locked --quiet -p hygge)
.venv-objects/bin/python object_store.py "$CARGO_TARGET_DIR/release" "$PWD/data/lineitem/lineitem.parquet" \
  "$PWD/.venv-objects/bin/moto_server" "$RUNS"
