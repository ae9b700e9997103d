"""Parquet → Parquet through the Wasm component against native, on bench/data.

Prints the medians, the ratio, the component's load time cold and cached, and its size.
  .venv/bin/python wasm.py HYGGE ROWS RUNS
"""
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

hygge, rows, runs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
here = os.path.dirname(os.path.abspath(__file__))
project = os.path.join(here, "project")
os.makedirs(os.path.join(project, "flows/bench"), exist_ok=True)
with open(os.path.join(project, "hygge.yml"), "w") as f:
    f.write("name: bench\n")
with open(os.path.join(project, "flows/bench/flow.yml"), "w") as f:
    f.write(f"home: {os.path.join(here, 'data')}\nstore:\n  path: {os.path.join(here, 'out', 'hygge')}\n  compression: snappy\nentities: [lineitem]\n")
cache = tempfile.mkdtemp()
env = dict(os.environ, HYGGE_CACHE_DIR=cache)
WASM = ["--var", "flow.bench.home.runtime=wasm", "--var", "flow.bench.store.runtime=wasm"]


def go(extra, capture=False):
    start = time.perf_counter()
    res = subprocess.run([hygge, "--project", project, "go", *extra], check=True, env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    return time.perf_counter() - start, res.stderr


def load_millis(log):
    found = re.findall(r"component loaded .*cache=(\w+) millis=(\d+)", log)
    return found


# Cold: empty compile cache; then cached.
shutil.rmtree(cache, ignore_errors=True)
os.makedirs(cache)
_, cold_log = go(WASM)
_, warm_log = go(WASM)
native = statistics.median(go([])[0] for _ in range(runs))
wasm = statistics.median(go(WASM)[0] for _ in range(runs))
size = os.path.getsize(os.path.join(os.path.dirname(hygge), "..", "hygge-components/wasm32-wasip2/release/hygge_parquet_component.wasm"))
print(f"rows: {rows:,}; median of {runs} runs")
print("| runtime | median s | rows/s | wasm time / native time |")
print("| --- | ---: | ---: | ---: |")
print(f"| native | {native:.2f} | {rows / native:,.0f} | 1.00 |")
print(f"| wasm | {wasm:.2f} | {rows / wasm:,.0f} | {wasm / native:.2f} |")
print(f"component load (compile) cold: {load_millis(cold_log)}; cached: {load_millis(warm_log)}")
print(f"component size: {size / 1024 / 1024:.1f} MiB")
