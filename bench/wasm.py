"""Parquet → Parquet through the Wasm component against native, on bench/data.

Runs the flow four ways (all native; the component as home; as store; as both), and prints
the medians of wall and CPU time (user + system, of hygge's process), their ratios to native,
the component's load time cold and cached, and its size.
  .venv/bin/python wasm.py HYGGE ROWS RUNS
"""
import os
import re
import resource
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
HOME = ["--var", "flow.bench.home.runtime=wasm"]
STORE = ["--var", "flow.bench.store.runtime=wasm"]
WASM = HOME + STORE


def children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def go(extra):
    """Wall seconds, CPU seconds (user + system) and stderr of one run."""
    cpu = children_cpu()
    start = time.perf_counter()
    res = subprocess.run([hygge, "--project", project, "go", *extra], check=True, env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    return time.perf_counter() - start, children_cpu() - cpu, res.stderr


def load_millis(log):
    found = re.findall(r"component loaded .*cache=(\w+) millis=(\d+)", log)
    return found


# Cold: empty compile cache; then cached.
shutil.rmtree(cache, ignore_errors=True)
os.makedirs(cache)
cold_log = go(WASM)[2]
warm_log = go(WASM)[2]
modes = [("native", []), ("wasm home, native store", HOME),
         ("native home, wasm store", STORE), ("wasm home and store", WASM)]
# Interleaved, so that drift on a shared machine hits every mode alike.
times = {name: [] for name, _ in modes}
cpus = {name: [] for name, _ in modes}
for _ in range(runs):
    for name, extra in modes:
        wall, cpu, _ = go(extra)
        times[name].append(wall)
        cpus[name].append(cpu)
medians = {name: statistics.median(t) for name, t in times.items()}
cpu_medians = {name: statistics.median(c) for name, c in cpus.items()}
native = medians["native"]
size = os.path.getsize(os.path.join(os.path.dirname(hygge), "..", "hygge-components/wasm32-wasip2/release/hygge_parquet_component.wasm"))
print(f"rows: {rows:,}; median of {runs} runs")
print("| runtime | median s | rows/s | time / native time | CPU s | CPU / native CPU | cores busy |")
print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
for name, _ in modes:
    t, c = medians[name], cpu_medians[name]
    print(f"| {name} | {t:.2f} | {rows / t:,.0f} | {t / native:.2f} | {c:.2f} | "
          f"{c / cpu_medians['native']:.2f} | {c / t:.2f} |")
print(f"component load (compile) cold: {load_millis(cold_log)}; cached: {load_millis(warm_log)}")
print(f"component size: {size / 1024 / 1024:.1f} MiB")
