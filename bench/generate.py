"""Writes a lineitem-like Parquet file: integers, decimals, dates, strings."""
import os
import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

rows, path = int(sys.argv[1]), sys.argv[2]
if os.path.exists(path) and pq.ParquetFile(path).metadata.num_rows == rows:
    sys.exit(0)
os.makedirs(os.path.dirname(path), exist_ok=True)
rng = np.random.default_rng(42)
chunk = 1_000_000
flags = np.array(["A", "N", "R"])
modes = np.array(["AIR", "FOB", "MAIL", "RAIL", "REG AIR", "SHIP", "TRUCK"])
writer = None


def dec(cents):
    """Integer cents as decimal128(15, 2)."""
    return pa.array(cents / 100.0).cast(pa.decimal128(15, 2), safe=False)


for start in range(0, rows, chunk):
    n = min(chunk, rows - start)
    key = np.arange(start, start + n, dtype=np.int64)
    table = pa.table({
        "l_orderkey": pa.array(key // 4),
        "l_partkey": pa.array(rng.integers(1, 200_000, n, dtype=np.int64)),
        "l_suppkey": pa.array(rng.integers(1, 10_000, n, dtype=np.int64)),
        "l_linenumber": pa.array((key % 4 + 1).astype(np.int32)),
        "l_quantity": dec(rng.integers(100, 5_000, n)),
        "l_extendedprice": dec(rng.integers(90_000, 10_000_000, n)),
        "l_discount": dec(rng.integers(0, 10, n)),
        "l_returnflag": pa.array(flags[rng.integers(0, 3, n)]),
        "l_shipdate": pa.array(rng.integers(8_000, 10_500, n).astype("datetime64[D]")),
        "l_shipmode": pa.array(modes[rng.integers(0, 7, n)]),
        "l_comment": pa.array([f"carefully regular packages {i % 9973}" for i in key]),
    })
    if writer is None:
        writer = pq.ParquetWriter(path, table.schema, compression="snappy")
    writer.write_table(table)
writer.close()
