"""Times hygge loading Parquet into, and unloading Parquet from, the TDS test server.

Peers in the same run: freebcp (FreeTDS's bcp, fed the same rows as a character file, the
way Sling loads SQL Server) and connectorx (partitioned TDS reads into Arrow, then Parquet).
Prints Markdown for BENCHMARKS.md.
"""
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

release, narrow_rows, wide_rows, runs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
here = os.path.dirname(os.path.abspath(__file__))
data = os.path.join(here, "data", "mssql")
PASSWORD = "Hygge-Bench-1"


def narrow(n):
    rng = np.random.default_rng(7)
    names = np.array([f"customer {i:06d}" for i in range(10_000)])
    return pa.table({
        "id": pa.array(np.arange(n, dtype=np.int64)),
        "qty": pa.array(rng.integers(0, 1000, n, dtype=np.int32)),
        "price": pa.array(rng.random(n) * 1000),
        "name": pa.array(names[rng.integers(0, len(names), n)]),
        "at": pa.array(1_700_000_000_000_000 + np.arange(n, dtype=np.int64) * 1000, pa.timestamp("us")),
        "amount": pa.array(rng.integers(-10**9, 10**9, n) / 100.0).cast(pa.decimal128(12, 2), safe=False),
    })


def wide(n):
    rng = np.random.default_rng(11)
    columns = {"id": pa.array(np.arange(n, dtype=np.int64))}
    for i in range(10):
        columns[f"i{i}"] = pa.array(rng.integers(-2**31, 2**31 - 1, n, dtype=np.int64))
        columns[f"f{i}"] = pa.array(rng.random(n))
        columns[f"s{i}"] = pa.array([f"value {j} of column {i}" for j in rng.integers(0, 50_000, n)])
        columns[f"d{i}"] = pa.array(rng.integers(0, 10**6, n) / 100.0).cast(pa.decimal128(18, 2), safe=False)
    return pa.table(columns)


def write_source(name, table):
    path = os.path.join(data, "source", name, f"{name}.parquet")
    if os.path.exists(path) and pq.ParquetFile(path).metadata.num_rows == table.num_rows:
        return path
    os.makedirs(os.path.dirname(path), exist_ok=True)
    pq.write_table(table, path, row_group_size=1_000_000)
    return path


def start_server():
    server = subprocess.Popen(
        [os.path.join(release, "hygge-tds-test-server"), "--port", "0", "--user", "sa", "--password", PASSWORD],
        stdout=subprocess.PIPE, text=True)
    line = server.stdout.readline()
    return server, int(line.strip().rsplit(":", 1)[1])


def project(port):
    root = os.path.join(data, "project")
    os.makedirs(os.path.join(root, "flows"), exist_ok=True)
    with open(os.path.join(root, "hygge.yml"), "w") as f:
        f.write(f"""name: mssql_bench
connections:
  bench:
    type: mssql
    server: 127.0.0.1
    port: {port}
    database: bench
    user: sa
    password: {PASSWORD}
    encrypt: false
flows:
  load:
    home: {{type: parquet, path: {os.path.join(data, 'source')}}}
    store: {{type: mssql, connection: bench, table: 'dbo.{{entity}}', if_exists: replace, index: heap}}
    entities: [narrow, wide]
  unload:
    home: {{type: mssql, connection: bench, table: 'dbo.{{entity}}'}}
    store: {{type: parquet, path: {os.path.join(data, 'out')}}}
    entities: [narrow, wide]
""")
    return root


SERVER_PID = None
TICKS = os.sysconf("SC_CLK_TCK")


def server_cpu():
    """CPU seconds (user + system) the TDS test server has used so far."""
    with open(f"/proc/{SERVER_PID}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


CPU = {}


def timed(cmd, **kw):
    """Wall seconds of one run; its client and server CPU seconds go to CPU[cmd]."""
    client, server = children_cpu(), server_cpu()
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, **kw)
    wall = time.perf_counter() - start
    CPU.setdefault(tuple(cmd), []).append((children_cpu() - client, server_cpu() - server))
    return wall


def cpu_of(cmd):
    """Median client and server CPU seconds of the runs of `cmd`."""
    runs = CPU.get(tuple(cmd), [])
    return (statistics.median(c for c, _ in runs), statistics.median(s for _, s in runs)) if runs else (float("nan"),) * 2


def main():
    tables = {"narrow": narrow(narrow_rows), "wide": wide(wide_rows)}
    for name, table in tables.items():
        write_source(name, table)
    global SERVER_PID
    server, port = start_server()
    SERVER_PID = server.pid
    root = project(port)
    hygge = os.path.join(release, "hygge")
    results = []
    try:
        csv_dir = tempfile.mkdtemp()
        for name, table in tables.items():
            rows = table.num_rows
            # hygge: Parquet → mssql.
            load = [hygge, "-q", "--project", root, "go", "--entity", f"load.{name}"]
            times = [timed(load) for _ in range(runs)]
            results.append((name, "Parquet → mssql", "hygge", rows, statistics.median(times), load))
            # freebcp: the same rows from a tab-separated file (file written beforehand, not timed).
            tsv = os.path.join(csv_dir, f"{name}.tsv")
            pacsv.write_csv(table, tsv, pacsv.WriteOptions(include_header=False, delimiter="\t", quoting_style="none"))
            subprocess.run([hygge, "-q", "--project", root, "go", "--entity", f"load.{name}"], check=True, stdout=subprocess.DEVNULL)
            conf = os.path.join(csv_dir, "freetds.conf")
            with open(conf, "w") as f:
                f.write(f"[bench]\n\thost = 127.0.0.1\n\tport = {port}\n\ttds version = 7.4\n\tencryption = off\n\tclient charset = UTF-8\n")
            env = dict(os.environ, FREETDSCONF=conf)
            bcp = ["freebcp", f"dbo.{name}", "in", tsv, "-c", "-S", "bench", "-U", "sa", "-P", PASSWORD, "-b", "100000"]
            try:
                times = [timed(bcp, env=env) for _ in range(runs)]
                results.append((name, "Parquet → mssql", "freebcp (bcp, as Sling)", rows, statistics.median(times), bcp))
            except subprocess.CalledProcessError as e:
                results.append((name, "Parquet → mssql", f"freebcp failed ({e.returncode})", rows, float("nan"), None))
            # Reset the table to exactly `rows` rows for the reads.
            subprocess.run(load, check=True, stdout=subprocess.DEVNULL)
            unload = [hygge, "-q", "--project", root, "go", "--entity", f"unload.{name}"]
            times = [timed(unload) for _ in range(runs)]
            results.append((name, "mssql → Parquet", "hygge", rows, statistics.median(times), unload))
            out = os.path.join(data, "out", name)
            assert sum(pq.ParquetFile(os.path.join(out, f)).metadata.num_rows for f in os.listdir(out)) == rows
            cx = [os.path.join(here, ".venv/bin/python"), "-c",
                  "import connectorx as cx, pyarrow.parquet as pq; "
                  f"t = cx.read_sql('mssql://sa:{PASSWORD}@127.0.0.1:{port}/bench?encrypt=false&trusted_connection=false', "
                  f"'SELECT * FROM dbo.{name}', partition_on='id', partition_num=2, return_type='arrow'); "
                  f"pq.write_table(t, '{csv_dir}/{name}.parquet')"]
            try:
                times = [timed(cx) for _ in range(runs)]
                results.append((name, "mssql → Parquet", "connectorx + pyarrow", rows, statistics.median(times), cx))
            except subprocess.CalledProcessError as e:
                results.append((name, "mssql → Parquet", f"connectorx failed ({e.returncode})", rows, float("nan"), None))
        shutil.rmtree(csv_dir, ignore_errors=True)
    finally:
        server.kill()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores; server: hygge's TDS test server, a separate process on the same cores; median of {runs} runs\n")
    print("| table | direction | tool | rows | median s | rows/s | hygge time / tool time | client CPU s | server CPU s | rows per client CPU-second |")
    print("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    base = {(t, d): s for t, d, tool, _, s, _ in results if tool == "hygge"}
    for table, direction, tool, rows, secs, cmd in results:
        client, server_s = cpu_of(cmd) if cmd else (float("nan"),) * 2
        print(f"| {table} | {direction} | {tool} | {rows:,} | {secs:.2f} | {rows / secs:,.0f} | {base[(table, direction)] / secs:.2f} "
              f"| {client:.2f} | {server_s:.2f} | {rows / client:,.0f} |")


main()
