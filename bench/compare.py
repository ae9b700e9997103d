"""Times hygge, DuckDB and Polars copying the same Parquet file; prints a Markdown table."""
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import time

hygge, rows, runs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
here = os.path.dirname(os.path.abspath(__file__))
src = os.path.join(here, "data/lineitem/lineitem.parquet")
out = os.path.join(here, "out")
project = os.path.join(here, "project")
os.makedirs(os.path.join(project, "flows/bench"), exist_ok=True)
with open(os.path.join(project, "hygge.yml"), "w") as f:
    f.write("name: bench\n")
with open(os.path.join(project, "flows/bench/flow.yml"), "w") as f:
    f.write(f"home: {os.path.join(here, 'data')}\nstore:\n  path: {os.path.join(out, 'hygge')}\n  compression: snappy\nentities: [lineitem]\n")

PY = os.path.join(here, ".venv/bin/python")
commands = {
    "hygge": [hygge, "-q", "--project", project, "go"],
    "duckdb": [PY, "-c", f"import duckdb; duckdb.sql(\"COPY (SELECT * FROM read_parquet('{src}')) TO '{out}/duckdb.parquet' (FORMAT parquet, COMPRESSION snappy)\")"],
    "polars": [PY, "-c", f"import polars as pl; pl.scan_parquet('{src}').sink_parquet('{out}/polars.parquet', compression='snappy')"],
}


def timed(cmd):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - start
    return seconds


def peak_rss_mib(cmd):
    res = subprocess.run(["/usr/bin/time", "-f", "%M", *cmd], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    return int(res.stderr.strip().splitlines()[-1]) / 1024


def fresh_out():
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out, exist_ok=True)


# One warm-up each, then the tools take turns, so a slow stretch of this shared machine
# falls on all of them alike.
times = {name: [] for name in commands}
for cmd in commands.values():
    fresh_out()
    timed(cmd)
for _ in range(runs):
    for name, cmd in commands.items():
        fresh_out()
        times[name].append(timed(cmd))
results = {}
for name, cmd in commands.items():
    fresh_out()
    results[name] = (statistics.median(times[name]), peak_rss_mib(cmd))

import duckdb, polars  # noqa: E402  (versions for the report)
print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, duckdb {duckdb.__version__}, polars {polars.__version__}")
print(f"rows: {rows:,}; median of {runs} runs, interleaved\n")
print("| tool | median s | rows/s | peak RSS MiB | hygge time / tool time |")
print("| --- | ---: | ---: | ---: | ---: |")
h = results["hygge"][0]
for name, (secs, rss) in results.items():
    print(f"| {name} | {secs:.2f} | {rows / secs:,.0f} | {rss:.0f} | {h / secs:.2f} |")
