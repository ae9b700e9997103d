#!/usr/bin/env bash
# Peak memory of Parquet → Parquet as the input grows: one 10M-row file, then FILES of them
# (50M rows) and twice as many (100M rows), each read as one entity. Memory must stay bounded
# by the queue, the read-ahead and the row group being encoded, whatever the input size.
# Not part of CI.
#   bash bench/memory.sh [ROWS_PER_FILE] [FILES] [RUNS]
set -euo pipefail
cd "$(dirname "$0")"
ROWS="${1:-10000000}"
FILES="${2:-5}"
RUNS="${3:-3}"
source ./env.sh
bench_venv pyarrow numpy
(cd .. && cargo build --release --locked --quiet)
HYGGE="$CARGO_TARGET_DIR/release/hygge"

.venv/bin/python generate.py "$ROWS" data/lineitem/lineitem.parquet
work=data/memory
rm -rf "$work/out"
rm -rf "$work/one" "$work/many" "$work/more"
mkdir -p "$work/one/lineitem" "$work/many/lineitem" "$work/more/lineitem" "$work/project/flows"
# Hard links: the same bytes, no extra disk.
ln -f data/lineitem/lineitem.parquet "$work/one/lineitem/part-0.parquet"
for i in $(seq 0 $((FILES - 1))); do
  ln -f data/lineitem/lineitem.parquet "$work/many/lineitem/part-$i.parquet"
done
for i in $(seq 0 $((2 * FILES - 1))); do
  ln -f data/lineitem/lineitem.parquet "$work/more/lineitem/part-$i.parquet"
done
echo "name: memory" > "$work/project/hygge.yml"
for input in one many more; do
  mkdir -p "$work/project/flows/$input"
  printf 'home: ../%s\nstore: ../out/%s\nentities: [lineitem]\n' "$input" "$input" \
    > "$work/project/flows/$input/flow.yml"
done

echo "input  rows  peak_RSS_MiB  seconds   (median of $RUNS; runs interleaved)"
declare -A rss secs
for run in $(seq 1 "$RUNS"); do
  for input in one many more; do
    rm -rf "$work/out"
    /usr/bin/time -f "%M %e" -o "$work/time.txt" \
      "$HYGGE" --quiet --project "$work/project" go --flow "$input" > /dev/null
    read -r kib seconds < "$work/time.txt"
    rss[$input]+="$((kib / 1024)) "
    secs[$input]+="$seconds "
  done
done
median() { tr ' ' '\n' | sed '/^$/d' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
for input in one many more; do
  case $input in one) files=1 ;; many) files=$FILES ;; more) files=$((2 * FILES)) ;; esac
  echo "$input  $((ROWS * files))  $(echo "${rss[$input]}" | median)  $(echo "${secs[$input]}" | median)"
done
