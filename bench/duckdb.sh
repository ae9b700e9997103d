#!/usr/bin/env bash
# DuckDB benchmark: the 10M-row lineitem Parquet file into a DuckDB table through
# `hygge go`, against DuckDB's own import (CREATE TABLE … AS SELECT * FROM read_parquet(…),
# Python's duckdb of the same version as the libduckdb hygge loads) and dlt's duckdb
# destination, in one session. Not part of CI.
#   bash bench/duckdb.sh [RUNS] [--skip-hygge]
set -euo pipefail
cd "$(dirname "$0")"
RUNS="${1:-5}"
source ./env.sh
[ -x /usr/bin/time ] || { echo "install Debian's time (/usr/bin/time)" >&2; exit 1; }
[ -f data/lineitem/lineitem.parquet ] || { echo "make the lineitem file first: bash bench/run.sh (it generates bench/data/lineitem)" >&2; exit 1; }
tools="$HOME/.cache/hygge/tools"
lib="${HYGGE_DUCKDB_LIBRARY:-$tools/node_modules/@duckdb/node-bindings-linux-x64/libduckdb.so}"
if [ ! -f "$lib" ]; then
  npm install --prefix "$tools" --no-audit --no-fund --loglevel=error --save-exact @duckdb/node-bindings-linux-x64@1.5.6-r.1
fi
# A venv of its own: DuckDB 1.5.6 (the library hygge loads), and dlt with its duckdb
# destination on that same DuckDB.
[ -x .venv-duckdb/bin/python ] || python3 -m venv .venv-duckdb
.venv-duckdb/bin/python -P -c "import duckdb, dlt, pyarrow; assert duckdb.__version__ == '1.5.6'" 2>/dev/null \
  || .venv-duckdb/bin/pip install --quiet "duckdb==1.5.6" "dlt[duckdb,parquet]" pyarrow
[ "${2:-}" = "--skip-hygge" ] || (cd .. && cargo build --release --locked --quiet -p hygge)
.venv-duckdb/bin/python -P duckdb.py "$CARGO_TARGET_DIR/release" "$lib" "$RUNS"
