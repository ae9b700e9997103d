#!/usr/bin/env bash
# REST benchmark: hygge's REST component → Parquet against dlt's `rest_api` source →
# Parquet (filesystem destination), both reading one local sample API (hygge-sample-api,
# started here, stopped at the end) in pages of 1,000. Not part of CI.
#   bash bench/rest.sh [RECORDS] [RUNS] [--skip-hygge]
set -euo pipefail
cd "$(dirname "$0")"
RECORDS="${1:-1000000}"
RUNS="${2:-5}"
source ./env.sh
[ -x /usr/bin/time ] || { echo "install Debian's time (/usr/bin/time)" >&2; exit 1; }
bench_venv pyarrow
.venv/bin/python -c "import dlt.sources.rest_api, dlt.destinations.impl.filesystem.filesystem" 2>/dev/null \
  || .venv/bin/pip install --quiet "dlt[parquet,filesystem]"
if [ "${3:-}" != "--skip-hygge" ]; then
  (cd .. && cargo build --release --locked --quiet -p hygge -p hygge-http-test-server)
fi
.venv/bin/python rest.py "$CARGO_TARGET_DIR/release" "$RECORDS" "$RUNS"
