"""Times hygge writing Parquet to S3 and reading it back, against its peers, in one session.

One moto S3 server (moto_server, started here on 127.0.0.1 on a free port, stopped at the
end) serves every run, so the figures measure the clients and the emulator, not a network.

- local Parquet → S3: hygge (`parquet` store on `s3://`, committed through its log);
  DuckDB (`COPY (SELECT * FROM read_parquet(…)) TO 's3://…'` with the httpfs extension of the
  duckdb-extension-httpfs wheel); pyarrow (`dataset.write_dataset` on its S3FileSystem).
- S3 → local Parquet: the same three reading what each wrote.

Every contender decodes and re-encodes the rows (snappy Parquet in and out). Each run goes
through `/usr/bin/time` (wall, client user + system CPU, peak RSS); moto's CPU over the same
run is read from /proc. Every output is counted, by pyarrow on S3 (which skips `_`-prefixed
names, so hygge's `_hygge/` log is not read) or on disk: a run that moves other than ROWS
rows fails loudly. Rounds are interleaved, medians reported. Prints Markdown for
BENCHMARKS.md.

    object_store.py RELEASE_DIR SOURCE_PARQUET MOTO_SERVER [RUNS]
"""
import glob
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import urllib.request

import pyarrow.dataset as ds
import pyarrow.fs as pafs
import pyarrow.parquet as pq

HERE = os.path.dirname(os.path.abspath(__file__))
PY = sys.executable
TICKS = os.sysconf("SC_CLK_TCK")
BUCKET = "bench"
KEY, SECRET, REGION = "hygge", "hygge-secret", "us-east-1"

PEER_SCRIPT = textwrap.dedent('''
    import sys
    tool, direction, endpoint, source, target = sys.argv[1:6]
    if tool == "duckdb":
        import duckdb, duckdb_extension_httpfs, glob, os
        extension = glob.glob(os.path.join(os.path.dirname(duckdb_extension_httpfs.__file__),
                                           "extensions", "*", "httpfs.duckdb_extension"))[0]
        con = duckdb.connect(config={"allow_unsigned_extensions": "true"})
        con.execute(f"LOAD '{extension}'")
        host = endpoint.split("://", 1)[1]
        con.execute(f"""CREATE SECRET (TYPE s3, KEY_ID 'hygge', SECRET 'hygge-secret',
                        REGION 'us-east-1', ENDPOINT '{host}', URL_STYLE 'path', USE_SSL false)""")
        con.execute(f"COPY (SELECT * FROM read_parquet('{source}')) TO '{target}' (FORMAT parquet)")
    else:
        import pyarrow.dataset as ds, pyarrow.fs as pafs
        s3 = pafs.S3FileSystem(access_key="hygge", secret_key="hygge-secret", region="us-east-1",
                               endpoint_override=endpoint, scheme="http")
        if direction == "up":
            ds.write_dataset(ds.dataset(source, format="parquet"), target, filesystem=s3,
                             format="parquet", existing_data_behavior="delete_matching")
        else:
            ds.write_dataset(ds.dataset(source, filesystem=s3, format="parquet"), target,
                             format="parquet", existing_data_behavior="delete_matching")
''')


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_of(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


class Tool:
    def __init__(self, name, cmd, count):
        self.name, self.cmd, self.count = name, cmd, count
        self.runs = []  # (wall s, CPU s, peak RSS MiB, moto CPU s)


def timed(tool, rows, moto_pid, work):
    out = os.path.join(work, "time.txt")
    before = cpu_of(moto_pid)
    res = subprocess.run(["/usr/bin/time", "-o", out, "-f", "%e %U %S %M", *tool.cmd],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    server_cpu = cpu_of(moto_pid) - before
    if res.returncode != 0:
        sys.exit(f"{tool.name} failed ({res.returncode}):\n" + "\n".join(res.stderr.splitlines()[-20:]))
    with open(out) as f:
        wall, user, system, kib = f.read().split("\n")[-2].split()
    moved = tool.count()
    if moved != rows:
        sys.exit(f"{tool.name} moved {moved:,} rows, not {rows:,}")
    return float(wall), float(user) + float(system), int(kib) / 1024, server_cpu


def main():
    release, source, moto_server = sys.argv[1:4]
    runs = int(sys.argv[4]) if len(sys.argv) > 4 else 5
    rows = pq.ParquetFile(source).metadata.num_rows
    work = tempfile.mkdtemp(prefix="hygge-bench-s3-")
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    moto = subprocess.Popen([moto_server, "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        for line in moto.stderr:  # moto prints where it listens once it does
            if "Running on" in line:
                break
        # It logs every request on stderr: keep draining it, or a full pipe stalls it.
        threading.Thread(target=lambda: moto.stderr.read(), daemon=True).start()
        urllib.request.urlopen(urllib.request.Request(f"{endpoint}/{BUCKET}", method="PUT"))
        s3 = pafs.S3FileSystem(access_key=KEY, secret_key=SECRET, region=REGION,
                               endpoint_override=endpoint, scheme="http")

        def on_s3(prefix):
            return lambda: ds.dataset(f"{BUCKET}/{prefix}", filesystem=s3, format="parquet").count_rows()

        def on_disk(folder):
            def count():
                files = [f for f in glob.glob(os.path.join(folder, "**", "*.parquet"), recursive=True)
                         if "/." not in f[len(folder):]]
                return sum(pq.ParquetFile(f).metadata.num_rows for f in files)
            return count

        project = os.path.join(work, "project")
        os.makedirs(os.path.join(project, "flows", "up"))
        os.makedirs(os.path.join(project, "flows", "down"))
        with open(os.path.join(project, "hygge.yml"), "w") as f:
            f.write(textwrap.dedent(f"""\
                name: bench_s3
                connections:
                  lake: {{type: s3, region: {REGION}, endpoint: '{endpoint}', access_key_id: {KEY},
                          secret_access_key: {SECRET}, allow_http: true}}
                """))
        with open(os.path.join(project, "flows", "up", "flow.yml"), "w") as f:
            f.write(f"home: {{type: parquet, path: '{source}'}}\n"
                    f"store: {{type: parquet, path: 's3://{BUCKET}/hygge/lineitem', connection: lake}}\n")
        hygge_down = os.path.join(work, "hygge-down")
        with open(os.path.join(project, "flows", "down", "flow.yml"), "w") as f:
            f.write(f"home: {{type: parquet, path: 's3://{BUCKET}/hygge/lineitem', connection: lake}}\n"
                    f"store: {{type: parquet, path: '{hygge_down}'}}\n")
        script = os.path.join(work, "peer.py")
        with open(script, "w") as f:
            f.write(PEER_SCRIPT)
        hygge = os.path.join(release, "hygge")
        down = {name: os.path.join(work, f"{name}-down") for name in ("duckdb", "pyarrow")}
        for folder in down.values():
            os.makedirs(folder)
        up_tools = [
            Tool("hygge", [hygge, "--project", project, "go", "--flow", "up"], on_s3("hygge/lineitem")),
            Tool("DuckDB httpfs", [PY, script, "duckdb", "up", endpoint, source,
                                   f"s3://{BUCKET}/duckdb/lineitem.parquet"], on_s3("duckdb")),
            Tool("pyarrow S3FileSystem", [PY, script, "pyarrow", "up", endpoint, source,
                                          f"{BUCKET}/pyarrow"], on_s3("pyarrow")),
        ]
        down_tools = [
            Tool("hygge", [hygge, "--project", project, "go", "--flow", "down"], on_disk(hygge_down)),
            Tool("DuckDB httpfs", [PY, script, "duckdb", "down", endpoint,
                                   f"s3://{BUCKET}/duckdb/lineitem.parquet",
                                   os.path.join(down["duckdb"], "lineitem.parquet")], on_disk(down["duckdb"])),
            Tool("pyarrow S3FileSystem", [PY, script, "pyarrow", "down", endpoint, f"{BUCKET}/pyarrow",
                                          down["pyarrow"]], on_disk(down["pyarrow"])),
        ]
        for tool in up_tools + down_tools:
            timed(tool, rows, moto.pid, work)
            print(f"{tool.name} warmed up", file=sys.stderr, flush=True)
        for round_ in range(runs):
            for tool in up_tools + down_tools:
                result = timed(tool, rows, moto.pid, work)
                tool.runs.append(result)
                print(f"{tool.name} round {round_ + 1}: {result[0]:.2f} s", file=sys.stderr, flush=True)
        import duckdb
        import pyarrow
        print(f"\n{rows:,} rows ({os.path.getsize(source) / 2**20:,.0f} MiB of snappy Parquet), moto "
              f"on loopback, {runs} rounds interleaved, medians; {platform.machine()}, "
              f"{os.cpu_count()} cores; DuckDB {duckdb.__version__}, pyarrow {pyarrow.__version__}.\n")
        for title, tools in (("local Parquet → S3", up_tools), ("S3 → local Parquet", down_tools)):
            fastest_peer = max(rows / statistics.median(r[0] for r in t.runs) for t in tools[1:])
            print(f"\n{title}:\n")
            print("| tool | median s | rows/s | CPU s | moto CPU s | peak RSS MiB | rows/s vs fastest peer |")
            print("|---|---|---|---|---|---|---|")
            for t in tools:
                secs = statistics.median(r[0] for r in t.runs)
                print(f"| {t.name} | {secs:.2f} | {rows / secs:,.0f} | "
                      f"{statistics.median(r[1] for r in t.runs):.2f} | "
                      f"{statistics.median(r[3] for r in t.runs):.2f} | "
                      f"{statistics.median(r[2] for r in t.runs):.0f} | "
                      f"{rows / secs / fastest_peer:.2f}× |")
    finally:
        moto.terminate()
        moto.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
