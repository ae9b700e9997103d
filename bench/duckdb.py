"""Times hygge loading the lineitem Parquet file into a DuckDB table, against its peers, in
one session.

- hygge: `hygge go`, a `parquet` home and a `duckdb` store (`if_exists: replace`), DuckDB
  loaded from the libduckdb given (1.5.6). The store reads the home's file itself
  (`read_parquet`, its default for local Parquet files).
- hygge streamed: the same with `read_parquet: false`: hygge decodes the file and DuckDB
  ingests the Arrow batches.
- DuckDB itself: `CREATE TABLE lineitem AS SELECT * FROM read_parquet(…)` in Python's duckdb
  1.5.6, the same engine hygge loads.
- DuckDB from an Arrow stream: the file's row groups decoded by pyarrow and handed to
  DuckDB as a RecordBatchReader (`CREATE TABLE … AS SELECT * FROM stream`), with
  `preserve_insertion_order = false` as hygge opens it: the floor of any loader that feeds
  DuckDB Arrow, as hygge's store does.
- dlt: a pipeline with the duckdb destination, fed the file's row groups as Arrow tables
  (dlt's fast route: Arrow to Parquet, then DuckDB's own Parquet reader).

Every run writes a new database file and goes through `/usr/bin/time` (wall, user + system
CPU, peak RSS; for the Python peers that includes the interpreter). Rows are counted after
each run with Python's duckdb: a run that loaded other than the file's rows fails loudly.
One warm-up each, then RUNS rounds with the tools taking turns; medians. Prints Markdown
for BENCHMARKS.md.

    python -P duckdb.py RELEASE_DIR LIBDUCKDB [RUNS]

(`-P`: this file's folder must not come first on the module path, or `import duckdb` would
import this file.)
"""
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap

import duckdb
import pyarrow.parquet as pq

HERE = os.path.dirname(os.path.abspath(__file__))
PY = os.path.join(HERE, ".venv-duckdb", "bin", "python")
SOURCE = os.path.join(HERE, "data", "lineitem", "lineitem.parquet")

DUCKDB_IMPORT = textwrap.dedent("""\
    import sys, duckdb
    con = duckdb.connect(sys.argv[1])
    con.execute("CREATE TABLE lineitem AS SELECT * FROM read_parquet(?)", [sys.argv[2]])
    con.close()
""")

# The floor of any loader that hands DuckDB Arrow: DuckDB's own import of the file's row
# groups as an Arrow stream (pyarrow decodes them), with the setting hygge opens DuckDB with.
DUCKDB_ARROW = textwrap.dedent("""\
    import sys, duckdb, pyarrow as pa, pyarrow.parquet as pq
    con = duckdb.connect(sys.argv[1], config={"preserve_insertion_order": False})
    parquet = pq.ParquetFile(sys.argv[2])
    stream = pa.RecordBatchReader.from_batches(
        parquet.schema_arrow,
        (b for g in range(parquet.num_row_groups) for b in parquet.read_row_group(g).to_batches()))
    con.execute("CREATE TABLE lineitem AS SELECT * FROM stream")
    con.close()
""")

DLT_LOAD = textwrap.dedent("""\
    import sys, dlt, pyarrow.parquet as pq
    db, path, pipelines = sys.argv[1:4]

    @dlt.resource(name="lineitem", write_disposition="replace")
    def lineitem():
        parquet = pq.ParquetFile(path)
        for group in range(parquet.num_row_groups):
            yield parquet.read_row_group(group)

    pipeline = dlt.pipeline(pipeline_name="parquet_to_duckdb", pipelines_dir=pipelines,
                            destination=dlt.destinations.duckdb(db), dataset_name="dlt_bench")
    pipeline.run(lineitem(), loader_file_format="parquet").raise_on_failed_jobs()
""")


class Tool:
    def __init__(self, name, cmd, db, table, env=None, before=None):
        self.name, self.cmd, self.db, self.table, self.env, self.before = name, cmd, db, table, env, before
        self.runs = []


def fresh(path):
    for p in (path, path + ".wal", path + ".hygge-lock"):
        if os.path.exists(p):
            os.remove(p)


def count(db, table):
    con = duckdb.connect(db, read_only=True)
    try:
        return con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    finally:
        con.close()


def timed(tool, rows, work):
    fresh(tool.db)
    if tool.before:
        tool.before()
    out = os.path.join(work, "time.txt")
    res = subprocess.run(["/usr/bin/time", "-o", out, "-f", "%e %U %S %M", *tool.cmd],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=tool.env)
    if res.returncode != 0:
        sys.exit(f"{tool.name} failed:\n" + "\n".join(res.stderr.splitlines()[-20:]))
    with open(out) as f:
        wall, user, system, kib = f.read().split("\n")[-2].split()
    loaded = count(tool.db, tool.table)
    if loaded != rows:
        sys.exit(f"{tool.name} loaded {loaded:,} rows, not {rows:,}")
    return float(wall), float(user) + float(system), int(kib) / 1024


def hygge_project(work, name, lib, db, store_keys):
    """A project loading the source into main.lineitem of `db` (in `work`)."""
    project = os.path.join(work, name)
    os.makedirs(os.path.join(project, "flows", "load"))
    with open(os.path.join(project, "hygge.yml"), "w") as f:
        f.write(f"name: bench\nconnections:\n  wh:\n    type: duckdb\n    path: {work}/{db}\n"
                f"    library: {lib}\n")
    with open(os.path.join(project, "flows", "load", "flow.yml"), "w") as f:
        f.write(f"home: {{type: parquet, path: {os.path.dirname(SOURCE)}}}\n"
                "store: {type: duckdb, connection: wh, table: main.lineitem, if_exists: replace"
                f"{store_keys}}}\n")
    return project


def main():
    release, lib = sys.argv[1], sys.argv[2]
    runs = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    rows = pq.ParquetFile(SOURCE).metadata.num_rows
    work = tempfile.mkdtemp(prefix="hygge-bench-duckdb-")
    try:
        project = hygge_project(work, "project", lib, "hygge.duckdb", "")
        streamed = hygge_project(work, "streamed", lib, "streamed.duckdb", ", read_parquet: false")
        pipelines = os.path.join(work, "dlt")
        tools = [
            Tool("hygge", [os.path.join(release, "hygge"), "--project", project, "go", "--quiet"],
                 f"{work}/hygge.duckdb", "main.lineitem"),
            Tool("hygge streamed (read_parquet: false)",
                 [os.path.join(release, "hygge"), "--project", streamed, "go", "--quiet"],
                 f"{work}/streamed.duckdb", "main.lineitem"),
            Tool("DuckDB (CREATE TABLE AS read_parquet)", [PY, "-P", "-c", DUCKDB_IMPORT, f"{work}/duckdb.duckdb", SOURCE],
                 f"{work}/duckdb.duckdb", "lineitem"),
            Tool("DuckDB from an Arrow stream (pyarrow row groups)", [PY, "-P", "-c", DUCKDB_ARROW, f"{work}/arrow.duckdb", SOURCE],
                 f"{work}/arrow.duckdb", "lineitem"),
            Tool("dlt (duckdb destination, Arrow row groups)", [PY, "-P", "-c", DLT_LOAD, f"{work}/dlt.duckdb", SOURCE, pipelines],
                 f"{work}/dlt.duckdb", "dlt_bench.lineitem",
                 env={**os.environ, "RUNTIME__LOG_LEVEL": "WARNING"},
                 before=lambda: shutil.rmtree(pipelines, ignore_errors=True)),
        ]
        for tool in tools:
            timed(tool, rows, work)
            print(f"{tool.name} warmed up", file=sys.stderr, flush=True)
        for round_ in range(runs):
            for tool in tools:
                result = timed(tool, rows, work)
                tool.runs.append(result)
                print(f"{tool.name} round {round_ + 1}: {result[0]:.2f} s", file=sys.stderr, flush=True)
        import dlt
        print(f"## Parquet → DuckDB ({rows:,} rows of lineitem, {runs} rounds, medians)\n")
        print(f"{platform.node()}, {os.cpu_count()} cores; libduckdb {lib}; Python duckdb {duckdb.__version__}, "
              f"dlt {dlt.__version__}\n")
        print("| tool | median s | rows/s | CPU s | peak RSS MiB | tool time / hygge time |")
        print("| --- | ---: | ---: | ---: | ---: | ---: |")
        base = statistics.median(r[0] for r in tools[0].runs)
        for t in tools:
            secs = statistics.median(r[0] for r in t.runs)
            cpu = statistics.median(r[1] for r in t.runs)
            rss = max(r[2] for r in t.runs)
            print(f"| {t.name} | {secs:.2f} | {rows / secs:,.0f} | {cpu:.2f} | {rss:.0f} | {secs / base:.2f} |")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
