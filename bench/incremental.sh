#!/usr/bin/env bash
# An incremental run that finds 0.2 M new rows in a 10 M-row Parquet file, against the full
# load of the same file, interleaved, 5 rounds: wall time and peak memory of `hygge go`.
# The watermark is set back before each incremental run, so each reads the same rows.
set -euo pipefail
cd "$(dirname "$0")"
source env.sh
bench_venv numpy pyarrow
.venv/bin/python generate.py 10000000 data/lineitem/lineitem.parquet
cargo build --release --quiet
hygge="$CARGO_TARGET_DIR/release/hygge"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/flows/li"
echo "name: incremental_bench" > "$work/hygge.yml"
cat > "$work/flows/li/flow.yml" <<YML
home: $PWD/data
store: $work/lake
run_type: incremental
watermark: {column: l_orderkey}
entities: [lineitem]
YML
state="$work/lake/lineitem/.hygge-state.json"
for round in 1 2 3 4 5; do
  /usr/bin/time -f "full        %e s  %M KiB" "$hygge" -q --project "$work" go --full-drop
  # l_orderkey runs to 2,499,999: the rows past 2,450,000 are the last 2 %.
  sed -i 's/"watermark": "[0-9]*"/"watermark": "2450000"/; s/"run_id": "[^"]*"/"run_id": "bench"/' "$state"
  /usr/bin/time -f "incremental %e s  %M KiB" "$hygge" -q --project "$work" go
done
