"""Times hygge's REST component against dlt's `rest_api` source, in one session.

One sample API (hygge-sample-api: `/v1/customers`, made-up records with a nested address, a
tags array, a decimal-looking balance and a timestamp; bearer token; RFC 8288 Link headers)
serves every run on 127.0.0.1, RECORDS records in pages of 1,000. Both tools write Parquet:

- hygge: `hygge go` with a `rest_api` home (link_header pagination, `records: data`) and a
  parquet store.
- dlt: `rest_api_source` (header_link paginator, data_selector `data`) into the filesystem
  destination with `loader_file_format="parquet"`.

Each run goes through `/usr/bin/time` (wall, user + system CPU, peak RSS; dlt's includes the
interpreter); the API server's CPU over the run is read from /proc. One warm-up each, then
RUNS rounds with the tools taking turns; medians. Every run's Parquet output is counted: a
run that wrote other than RECORDS rows fails loudly. Prints Markdown for BENCHMARKS.md.

    rest.py RELEASE_DIR [RECORDS] [RUNS]
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

import pyarrow.parquet as pq

HERE = os.path.dirname(os.path.abspath(__file__))
PY = os.path.join(HERE, ".venv", "bin", "python")
TOKEN = "hygge-sample-token"
PAGE = 1000
TICKS = os.sysconf("SC_CLK_TCK")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_of(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def parquet_rows(folder):
    files = [f for f in glob.glob(os.path.join(folder, "**", "*.parquet"), recursive=True)
             if "/_dlt" not in f and "/." not in f.replace(folder, "")]
    return sum(pq.ParquetFile(f).metadata.num_rows for f in files)


DLT_SCRIPT = textwrap.dedent('''
    import sys, dlt
    from dlt.sources.rest_api import rest_api_source
    url, token, out, pipelines = sys.argv[1:5]
    source = rest_api_source({
        "client": {"base_url": url, "auth": {"type": "bearer", "token": token},
                   "paginator": {"type": "header_link"}},
        "resources": [{"name": "customers", "endpoint": {
            "path": "customers", "params": {"per_page": %d}, "data_selector": "data"}}],
    })
    pipeline = dlt.pipeline(pipeline_name="bench_rest", pipelines_dir=pipelines,
                            destination=dlt.destinations.filesystem(bucket_url="file://" + out),
                            dataset_name="bench")
    pipeline.run(source, loader_file_format="parquet", write_disposition="replace")
''' % PAGE)


class Tool:
    def __init__(self, name, cmd, out, counted):
        self.name, self.cmd, self.out, self.counted = name, cmd, out, counted
        self.runs = []  # (wall s, CPU s, peak RSS MiB, API server CPU s)


def timed(tool, records, server_pid, work):
    shutil.rmtree(tool.out, ignore_errors=True)
    os.makedirs(tool.out, exist_ok=True)
    out = os.path.join(work, "time.txt")
    before = cpu_of(server_pid)
    res = subprocess.run(["/usr/bin/time", "-o", out, "-f", "%e %U %S %M", *tool.cmd],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    server_cpu = cpu_of(server_pid) - before
    if res.returncode != 0:
        sys.exit(f"{tool.name} failed ({res.returncode}):\n" + "\n".join(res.stderr.splitlines()[-20:]))
    with open(out) as f:
        wall, user, system, kib = f.read().split("\n")[-2].split()
    moved = parquet_rows(tool.counted)
    if moved != records:
        sys.exit(f"{tool.name} wrote {moved:,} rows, not {records:,}")
    return float(wall), float(user) + float(system), int(kib) / 1024, server_cpu


def main():
    release = sys.argv[1]
    records = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
    runs = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    work = tempfile.mkdtemp(prefix="hygge-bench-rest-")
    port = free_port()
    server = subprocess.Popen([os.path.join(release, "hygge-sample-api"), "--port", str(port),
                               "--records", str(records), "--page-size", str(PAGE)],
                              stdout=subprocess.PIPE, text=True)
    try:
        server.stdout.readline()  # the server prints its URL once it listens
        url = f"http://127.0.0.1:{port}/v1/"
        project = os.path.join(work, "project")
        os.makedirs(os.path.join(project, "flows", "api"))
        with open(os.path.join(project, "hygge.yml"), "w") as f:
            f.write("name: bench_rest\n")
        hygge_out = os.path.join(work, "hygge-out")
        with open(os.path.join(project, "flows", "api", "flow.yml"), "w") as f:
            f.write(textwrap.dedent(f"""\
                home:
                  type: rest_api
                  base_url: {url}
                  endpoint: customers
                  params: {{per_page: {PAGE}}}
                  records: data
                  auth: {{type: bearer, token: {TOKEN}}}
                  pagination: {{type: link_header}}
                store:
                  type: parquet
                  path: {hygge_out}
                """))
        script = os.path.join(work, "dlt_rest.py")
        with open(script, "w") as f:
            f.write(DLT_SCRIPT)
        dlt_out = os.path.join(work, "dlt-out")
        tools = [
            Tool("hygge", [os.path.join(release, "hygge"), "--project", project, "go"],
                 hygge_out, hygge_out),
            # dlt also writes the tags arrays as a child table (customers__tags): only the
            # customers table is counted.
            Tool("dlt rest_api", [PY, script, url, TOKEN, dlt_out, os.path.join(work, "dlt-pipelines")],
                 dlt_out, os.path.join(dlt_out, "bench", "customers")),
        ]
        for tool in tools:
            timed(tool, records, server.pid, work)
            print(f"{tool.name} warmed up", file=sys.stderr, flush=True)
        for round_ in range(runs):
            for tool in tools:
                result = timed(tool, records, server.pid, work)
                tool.runs.append(result)
                print(f"{tool.name} round {round_ + 1}: {result[0]:.2f} s", file=sys.stderr, flush=True)
        import dlt
        print(f"\n{records:,} records in pages of {PAGE:,}, {runs} rounds, medians; "
              f"{platform.machine()}, {os.cpu_count()} cores; dlt {dlt.__version__}.\n")
        print("| tool | median s | records/s | CPU s | API server CPU s | peak RSS MiB | records/s vs dlt |")
        print("|---|---|---|---|---|---|---|")
        rates = {t.name: records / statistics.median(r[0] for r in t.runs) for t in tools}
        for t in tools:
            secs = statistics.median(r[0] for r in t.runs)
            print(f"| {t.name} | {secs:.2f} | {records / secs:,.0f} | "
                  f"{statistics.median(r[1] for r in t.runs):.2f} | "
                  f"{statistics.median(r[3] for r in t.runs):.2f} | "
                  f"{statistics.median(r[2] for r in t.runs):.0f} | "
                  f"{rates[t.name] / rates['dlt rest_api']:.1f}× |")
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
