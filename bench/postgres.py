"""Times hygge reading from and loading into PostgreSQL, against its peers, in one session.

One local PostgreSQL server (Debian's binaries, started here like pg-test-server does, as the
`postgres` user on 127.0.0.1 on a free port in a temporary folder, stopped at the end) serves
every run. Tuned for loading by shared_buffers=1GB, max_wal_size=4GB and
synchronous_commit=off only; everything else is default (fsync stays on). A CHECKPOINT
(not timed) precedes every timed run, so no run pays for the previous run's dirty pages.

- postgres → Parquet: hygge, connectorx (+ pyarrow's Parquet writer; one connection, and
  partitioned on l_orderkey in two), dlt (`sql_database`, pyarrow backend, filesystem
  destination, Parquet files).
- Parquet → postgres: hygge, dlt (postgres destination fed the file's row groups as Arrow
  tables; Parquet loaded by ADBC's binary COPY, its documented fast route, and CSV by COPY),
  Sling (`sling run`, the binary of the sling-linux-amd64 wheel; it reads Parquet through
  the DuckDB CLI, here the duckdb-cli wheel's, since it cannot download its own), psql
  `\\copy` of a CSV made beforehand (the physical reference).

Each run goes through `/usr/bin/time` (wall, client user + system CPU, peak RSS; for the
Python peers that includes the interpreter); the server's CPU over the same run is read from
/proc. Every run's output is counted: a run that moves other than ROWS rows fails loudly.
Prints Markdown for BENCHMARKS.md.

    postgres.py RELEASE_DIR [ROWS] [RUNS] [--skip-hygge] [--skip TOOL,…] [--server-dir DIR]

TOOL is a contender's first word: hygge, connectorx, dlt, sling, psql. ROWS other than
10,000,000 are generated under data/postgres/rows-ROWS/, never over the shared 10M file.
"""
import argparse
import datetime
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

HERE = os.path.dirname(os.path.abspath(__file__))
PY = os.path.join(HERE, ".venv", "bin", "python")
DUCKDB_CLI = os.path.join(HERE, ".venv", "bin", "duckdb")
PASSWORD = "Hygge-Bench-1"
SETTINGS = {"shared_buffers": "1GB", "max_wal_size": "4GB", "synchronous_commit": "off"}
RUN_TIMEOUT = 3 * 3600
TICKS = os.sysconf("SC_CLK_TCK")

# The source table and the \copy target: the Parquet file's types, as PostgreSQL types.
COLUMNS = """(
    l_orderkey bigint, l_partkey bigint, l_suppkey bigint, l_linenumber integer,
    l_quantity numeric(15,2), l_extendedprice numeric(15,2), l_discount numeric(15,2),
    l_returnflag text, l_shipdate date, l_shipmode text, l_comment text)"""


class Failed(Exception):
    pass


# --- the server --------------------------------------------------------------------------


def pg_bin():
    root = "/usr/lib/postgresql"
    versions = sorted((int(v), os.path.join(root, v, "bin")) for v in os.listdir(root) if v.isdigit()
                      and os.path.isfile(os.path.join(root, v, "bin", "initdb"))) if os.path.isdir(root) else []
    if not versions:
        sys.exit("PostgreSQL's server binaries are missing: apt-get install -y postgresql")
    return versions[-1][1]


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(cmd, **kw):
    """Runs a setup step; its output on failure."""
    res = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if res.returncode != 0:
        raise Failed(f"{' '.join(map(str, cmd))} failed ({res.returncode}):\n{res.stdout}{res.stderr}")
    return res.stdout


class Server:
    def __init__(self, root):
        self.bin = pg_bin()
        self.root = root
        self.data = os.path.join(root, "data")
        self.as_postgres = os.geteuid() == 0
        self.started = False
        with open(os.path.join(root, "password"), "w") as f:
            f.write(PASSWORD)
        os.chmod(root, 0o700)
        if self.as_postgres:
            run(["chown", "-R", "postgres:postgres", root])
        self.server_cmd("initdb", "-D", self.data, "-U", "postgres", "--pwfile", os.path.join(root, "password"),
                        "--auth-host=scram-sha-256", "--auth-local=trust", "--encoding=UTF8", "--locale=C")
        for attempt in range(3):
            self.port = free_port()
            options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {root} " + " ".join(
                f"-c {k}={v}" for k, v in SETTINGS.items())
            try:
                self.server_cmd("pg_ctl", "-D", self.data, "-l", os.path.join(root, "server.log"), "-o", options,
                                "-w", "start")
                self.started = True
                break
            except Failed:
                if attempt == 2:
                    with open(os.path.join(root, "server.log")) as f:
                        sys.stderr.write(f.read())
                    raise
        with open(os.path.join(self.data, "postmaster.pid")) as f:
            self.pid = int(f.readline())
        self.url = f"postgresql://postgres:{PASSWORD}@127.0.0.1:{self.port}/postgres"

    def server_cmd(self, program, *args):
        cmd = [os.path.join(self.bin, program), *args]
        return run(["runuser", "-u", "postgres", "--", *cmd] if self.as_postgres else cmd)

    def psql_cmd(self, sql):
        return [os.path.join(self.bin, "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1",
                "-p", str(self.port), "-U", "postgres", "-d", "postgres", "-c", sql]

    def env(self):
        return dict(os.environ, PGPASSWORD=PASSWORD)

    def psql(self, sql):
        return run(self.psql_cmd(sql), env=self.env()).strip()

    def count(self, table):
        if self.psql(f"SELECT to_regclass('{table}') IS NOT NULL") != "t":
            raise Failed(f"no table {table} after the run")
        return int(self.psql(f"SELECT count(*) FROM {table}"))

    def cpu(self):
        """CPU seconds (user + system) the server's processes have used so far: the postmaster,
        its live children (backends, checkpointer, WAL writer, autovacuum, …) and the children
        it has reaped."""
        total = 0
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open(f"/proc/{pid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(pid) == self.pid:
                total += sum(int(x) for x in fields[11:15])  # utime stime cutime cstime
            elif int(fields[1]) == self.pid:
                total += int(fields[11]) + int(fields[12])
        return total / TICKS

    def stop(self):
        if self.started:
            try:
                self.server_cmd("pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop")
            except Failed:
                self.server_cmd("pg_ctl", "-D", self.data, "-m", "immediate", "-w", "stop")
            self.started = False


# --- data --------------------------------------------------------------------------------


def source_file(rows):
    """The generated file: the shared 10M-row one, or a separate one for any other count."""
    if rows == 10_000_000:
        path = os.path.join(HERE, "data", "lineitem", "lineitem.parquet")
    else:
        path = os.path.join(HERE, "data", "postgres", f"rows-{rows}", "lineitem", "lineitem.parquet")
    subprocess.run([sys.executable, os.path.join(HERE, "generate.py"), str(rows), path], check=True)
    return path


def csv_file(parquet, rows):
    """The same rows as CSV without a header, for psql's \\copy (written once, not timed)."""
    path = os.path.join(HERE, "data", "postgres", f"lineitem-{rows}.csv")
    if os.path.exists(path) and os.path.getmtime(path) >= os.path.getmtime(parquet):
        return path
    os.makedirs(os.path.dirname(path), exist_ok=True)
    pf = pq.ParquetFile(parquet)
    with pacsv.CSVWriter(path + ".tmp", pf.schema_arrow, write_options=pacsv.WriteOptions(include_header=False)) as w:
        for batch in pf.iter_batches(batch_size=100_000):
            w.write_batch(batch)
    os.replace(path + ".tmp", path)
    return path


def parquet_rows(path):
    """Rows in a Parquet file, or in every visible Parquet file under a folder."""
    if os.path.isfile(path):
        return pq.ParquetFile(path).metadata.num_rows
    total = 0
    for folder, dirs, files in os.walk(path):
        dirs[:] = [d for d in dirs if not d.startswith((".", "_"))]
        total += sum(pq.ParquetFile(os.path.join(folder, f)).metadata.num_rows
                     for f in files if f.endswith(".parquet") and not f.startswith((".", "_")))
    return total


def fresh(folder):
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)


# --- the peers' programs (each run in a new interpreter, arguments from argv) ---------------

CX_READ = textwrap.dedent("""\
    import sys, connectorx as cx, pyarrow.parquet as pq
    url, out, parts = sys.argv[1], sys.argv[2], int(sys.argv[3])
    kw = dict(partition_on="l_orderkey", partition_num=parts) if parts > 1 else {}
    table = cx.read_sql(url, "SELECT * FROM public.lineitem", return_type="arrow", **kw)
    pq.write_table(table, out, compression="snappy")
""")

DLT_READ = textwrap.dedent("""\
    import sys, dlt
    from dlt.sources.sql_database import sql_database
    url, out, pipelines = sys.argv[1:4]
    source = sql_database(credentials=url, schema="public", table_names=["lineitem"], backend="pyarrow")
    pipeline = dlt.pipeline(pipeline_name="pg_to_parquet", pipelines_dir=pipelines,
                            destination=dlt.destinations.filesystem(bucket_url=out), dataset_name="bench")
    pipeline.run(source, loader_file_format="parquet").raise_on_failed_jobs()
""")

DLT_LOAD = textwrap.dedent("""\
    import sys, dlt, pyarrow.parquet as pq
    url, path, pipelines, file_format = sys.argv[1:5]

    @dlt.resource(name="lineitem_dlt", write_disposition="replace")
    def lineitem():
        parquet = pq.ParquetFile(path)
        for group in range(parquet.num_row_groups):
            yield parquet.read_row_group(group)

    pipeline = dlt.pipeline(pipeline_name="parquet_to_pg", pipelines_dir=pipelines,
                            destination=dlt.destinations.postgres(credentials=url), dataset_name="dlt_bench")
    pipeline.run(lineitem(), loader_file_format=file_format).raise_on_failed_jobs()
""")


# --- timing ------------------------------------------------------------------------------


class Tool:
    """One contender: its command, what to do before a run (not timed) and how to count what
    a run moved."""

    def __init__(self, name, cmd, prepare, count, env=None):
        self.name, self.cmd, self.prepare, self.count, self.env = name, cmd, prepare, count, env
        self.runs = []  # (wall s, client CPU s, peak RSS MiB, server CPU s) of the timed runs
        self.failure = None


def timed(server, tool, rows, work):
    tool.prepare()
    server.psql("CHECKPOINT")
    out = os.path.join(work, "time.txt")
    before = server.cpu()
    try:
        res = subprocess.run(["/usr/bin/time", "-o", out, "-f", "%e %U %S %M", *tool.cmd], stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True, env=tool.env, timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise Failed(f"timed out after {RUN_TIMEOUT} s")
    server_cpu = server.cpu() - before
    if res.returncode != 0:
        raise Failed(f"exit status {res.returncode}:\n" + "\n".join(res.stderr.splitlines()[-25:]))
    with open(out) as f:
        wall, user, system, kib = f.read().split("\n")[-2].split()
    moved = tool.count()
    if moved != rows:
        raise Failed(f"moved {moved:,} rows, not {rows:,}")
    return float(wall), float(user) + float(system), int(kib) / 1024, server_cpu


def contest(server, tools, rows, runs, work, direction):
    """One warm-up each, then `runs` rounds with the tools taking turns, so a slow stretch of
    this shared machine falls on all of them alike. A tool that fails is reported at once and
    leaves the contest."""

    def attempt(tool, label):
        if tool.failure:
            return None
        try:
            return timed(server, tool, rows, work)
        except Failed as e:
            lines = [re.sub(r"\x1b\[[0-9;]*m", "", line).strip() for line in str(e).splitlines()]
            tool.failure = " ".join(lines[:1] + [line for line in lines[1:] if line][-1:]).replace("|", "/")
            print(f"\n!!! {direction}: {tool.name} FAILED ({label}): {e}\n", file=sys.stderr, flush=True)

    for tool in tools:
        if attempt(tool, "warm-up"):
            print(f"{direction}: {tool.name} warmed up", file=sys.stderr, flush=True)
    for round_ in range(runs):
        for tool in tools:
            result = attempt(tool, f"round {round_ + 1}")
            if result:
                tool.runs.append(result)
                print(f"{direction}: {tool.name} round {round_ + 1}: {result[0]:.2f} s", file=sys.stderr, flush=True)


def table(tools, rows, title):
    lines = [f"### {title}", "",
             "| tool | median s | rows/s | client CPU s | server CPU s | peak RSS MiB | tool time / hygge time |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    medians = {t.name: statistics.median(r[0] for r in t.runs) for t in tools if t.runs and not t.failure}
    base = medians.get("hygge")
    for t in tools:
        if t.name not in medians:
            lines.append(f"| {t.name} | failed: {t.failure or 'no runs'} | | | | | |")
            continue
        secs = medians[t.name]
        cpu = statistics.median(r[1] for r in t.runs)
        server = statistics.median(r[3] for r in t.runs)
        rss = max(r[2] for r in t.runs)
        ratio = f"{secs / base:.2f}" if base else "—"
        lines.append(f"| {t.name} | {secs:.2f} | {rows / secs:,.0f} | {cpu:.2f} | {server:.2f} | {rss:.0f} | {ratio} |")
    return "\n".join(lines)


# --- the session -------------------------------------------------------------------------


def write_project(root, url, out, home):
    """The hygge project: the connection, and one flow per direction."""
    shutil.rmtree(root, ignore_errors=True)
    os.makedirs(os.path.join(root, "flows", "pg_to_parquet"))
    os.makedirs(os.path.join(root, "flows", "parquet_to_pg"))
    with open(os.path.join(root, "hygge.yml"), "w") as f:
        f.write(f"name: bench\nconnections:\n  bench_pg:\n    type: postgres\n    url: {url}\n")
    with open(os.path.join(root, "flows", "pg_to_parquet", "flow.yml"), "w") as f:
        f.write("home: {type: postgres, connection: bench_pg, table: 'public.{entity}'}\n"
                f"store: {{path: {out}, compression: snappy}}\n"
                "entities: [lineitem]\n")
    with open(os.path.join(root, "flows", "parquet_to_pg", "flow.yml"), "w") as f:
        f.write(f"home: {home}\n"
                "store: {type: postgres, connection: bench_pg, table: 'public.{entity}_hygge', if_exists: replace}\n"
                "entities: [lineitem]\n")


def versions(server, hygge, skip_hygge, sling):
    import connectorx, dlt, sqlalchemy, psycopg2, adbc_driver_postgresql  # noqa: E401
    parts = []
    if not skip_hygge:
        parts.append(subprocess.run([hygge, "--version"], capture_output=True, text=True).stdout.strip()
                     + " (release build)")
    sling_version = subprocess.run([sling, "--version"], capture_output=True, text=True).stdout.strip()
    duckdb_version = subprocess.run([DUCKDB_CLI, "--version"], capture_output=True, text=True).stdout.split(" ")[0]
    parts += [f"Python {platform.python_version()}", f"pyarrow {pa.__version__}", f"connectorx {connectorx.__version__}",
              f"dlt {dlt.__version__} (sqlalchemy {sqlalchemy.__version__}, psycopg2 {psycopg2.__version__.split()[0]}, "
              f"adbc-driver-postgresql {adbc_driver_postgresql.__version__})",
              f"sling {sling_version.replace('Version: ', '')} (DuckDB CLI {duckdb_version})",
              f"PostgreSQL {server.psql('SHOW server_version')}"]
    return ", ".join(parts)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("release", help="the folder holding the release `hygge` binary")
    parser.add_argument("rows", nargs="?", type=int, default=10_000_000)
    parser.add_argument("runs", nargs="?", type=int, default=5)
    parser.add_argument("--skip-hygge", action="store_true", help="measure the peers only")
    parser.add_argument("--skip", default="", help="comma-separated tool names to leave out")
    parser.add_argument("--server-dir", help="an empty folder for the server (default: a new temporary one)")
    args = parser.parse_args()
    rows, runs = args.rows, args.runs
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    if args.skip_hygge:
        skip.add("hygge")
    hygge = os.path.join(args.release, "hygge")
    if "hygge" not in skip and not os.access(hygge, os.X_OK):
        sys.exit(f"{hygge} is missing: build it, or pass --skip-hygge")
    import sling_linux_amd64
    sling = sling_linux_amd64.SLING_BIN
    if not os.access(sling, os.X_OK):
        os.chmod(sling, 0o755)

    parquet = source_file(rows)
    csv = csv_file(parquet, rows)
    out = os.path.join(HERE, "out", "postgres")
    work = os.path.join(HERE, "data", "postgres", "work")
    fresh(work)

    server_root = args.server_dir or tempfile.mkdtemp(prefix="hygge-bench-pg-")
    # SIGTERM/SIGHUP end the run like Ctrl-C does, through the `finally` that stops the server.
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda signum, frame: sys.exit(128 + signum))
    server = None
    try:
        server = Server(server_root)
        url = server.url
        env = server.env()
        settings = ", ".join(f"{k}={server.psql(f'SHOW {k}')}" for k in (*SETTINGS, "fsync", "full_page_writes"))
        print(f"server: PostgreSQL on 127.0.0.1:{server.port} ({settings})", file=sys.stderr, flush=True)

        # The source table for the reads, loaded once; frozen and analysed so no read sets hint bits.
        server.psql(f"CREATE TABLE public.lineitem {COLUMNS}")
        server.psql(f"\\copy public.lineitem FROM '{csv}' (FORMAT csv)")
        server.psql("VACUUM (FREEZE, ANALYZE) public.lineitem")
        if server.count("public.lineitem") != rows:
            raise Failed("the source table does not hold the generated rows")

        project = os.path.join(HERE, "data", "postgres", "project")
        write_project(project, url.replace("postgresql://", "postgres://"), os.path.join(out, "hygge"),
                      os.path.dirname(os.path.dirname(parquet)))
        pipelines = os.path.join(work, "dlt")
        py_env = dict(os.environ, RUNTIME__DLTHUB_TELEMETRY="false")

        def out_of(name):
            return lambda: fresh(os.path.join(out, name))

        def no_out(name):
            """hygge's store folder does not exist before a run, as in compare.py."""
            def prepare():
                shutil.rmtree(os.path.join(out, name), ignore_errors=True)
                os.makedirs(out, exist_ok=True)
            return prepare

        def dlt_fresh(schema=None):
            def prepare():
                fresh(pipelines)
                if schema:
                    server.psql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
                else:
                    fresh(os.path.join(out, "dlt"))
            return prepare

        def table_fresh(name, create=False):
            def prepare():
                server.psql(f"DROP TABLE IF EXISTS {name}")
                if create:
                    server.psql(f"CREATE TABLE {name} {COLUMNS}")
            return prepare

        def rows_in(table_name):
            def count():
                n = server.count(table_name)
                server.psql(f"DROP TABLE {table_name}")  # counted: no need to keep it on disk
                return n
            return count

        reads = [
            Tool("hygge", [hygge, "-q", "--project", project, "go", "--flow", "pg_to_parquet"], no_out("hygge"),
                 lambda: parquet_rows(os.path.join(out, "hygge"))),
            Tool("connectorx + pyarrow", [PY, "-c", CX_READ, url, os.path.join(out, "cx", "lineitem.parquet"), "1"],
                 out_of("cx"), lambda: parquet_rows(os.path.join(out, "cx"))),
            Tool("connectorx + pyarrow, 2 partitions",
                 [PY, "-c", CX_READ, url, os.path.join(out, "cx2", "lineitem.parquet"), "2"],
                 out_of("cx2"), lambda: parquet_rows(os.path.join(out, "cx2"))),
            Tool("dlt (sql_database, pyarrow → filesystem Parquet)",
                 [PY, "-c", DLT_READ, url.replace("postgresql://", "postgresql+psycopg2://"), os.path.join(out, "dlt"),
                  pipelines],
                 dlt_fresh(), lambda: parquet_rows(os.path.join(out, "dlt", "bench", "lineitem")), env=py_env),
        ]
        # Sling reads Parquet through the DuckDB CLI, which it would download from GitHub
        # (unreachable here): it gets the one from PyPI's duckdb-cli wheel instead, and loads
        # the extensions built into it (json, parquet) without trying to INSTALL them.
        sling_env = dict(env, SLING_DISABLE_TELEMETRY="true", SLING_HOME_DIR=os.path.join(work, "sling"),
                         SLING_TEMP_DIR=os.path.join(work, "sling-tmp"), DUCKDB_PATH=DUCKDB_CLI,
                         DUCKDB_USE_INSTALLED_EXTENSIONS="true")
        loads = [
            Tool("hygge", [hygge, "-q", "--project", project, "go", "--flow", "parquet_to_pg"],
                 table_fresh("public.lineitem_hygge"), rows_in("public.lineitem_hygge")),
            Tool("dlt (Arrow → Parquet, ADBC COPY)", [PY, "-c", DLT_LOAD, url, parquet, pipelines, "parquet"],
                 dlt_fresh("dlt_bench"), rows_in("dlt_bench.lineitem_dlt"), env=py_env),
            Tool("dlt (Arrow → CSV, COPY)", [PY, "-c", DLT_LOAD, url, parquet, pipelines, "csv"],
                 dlt_fresh("dlt_bench"), rows_in("dlt_bench.lineitem_dlt"), env=py_env),
            Tool("sling", [sling, "run", "--src-stream", f"file://{parquet}", "--tgt-conn", url + "?sslmode=disable",
                           "--tgt-object", "public.lineitem_sling", "--mode", "full-refresh"],
                 table_fresh("public.lineitem_sling"), rows_in("public.lineitem_sling"), env=sling_env),
            Tool("psql \\copy of CSV (reference)",
                 server.psql_cmd(f"\\copy public.lineitem_copy FROM '{csv}' (FORMAT csv)"),
                 table_fresh("public.lineitem_copy", create=True), rows_in("public.lineitem_copy"), env=env),
        ]
        reads = [t for t in reads if t.name.split(" ")[0] not in skip and t.name not in skip]
        loads = [t for t in loads if t.name.split(" ")[0] not in skip and t.name not in skip]

        contest(server, reads, rows, runs, work, "postgres → Parquet")
        contest(server, loads, rows, runs, work, "Parquet → postgres")
        machine = versions(server, hygge, "hygge" in skip, sling)
    finally:
        if server:
            server.stop()
        shutil.rmtree(server_root, ignore_errors=True)

    with open("/proc/meminfo") as f:
        mem = round(int(f.readline().split()[1]) / 1024 / 1024)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, {mem} GiB; {machine}; "
          f"{datetime.date.today().isoformat()}")
    print(f"server: local PostgreSQL on the same cores as the client (server CPU: its processes over the run); "
          f"{', '.join(f'{k}={v}' for k, v in SETTINGS.items())}, everything else default (fsync on); "
          "CHECKPOINT before each timed run")
    print(f"rows: {rows:,} ({os.path.relpath(parquet, HERE)}); one warm-up each, then median of {runs} rounds, "
          "tools interleaved; peak RSS is the highest of the rounds\n")
    print(table(reads, rows, "postgres → Parquet"))
    print()
    print(table(loads, rows, "Parquet → postgres"))
    if any(t.failure for t in reads + loads):
        sys.exit(1)


if __name__ == "__main__":
    try:
        main()
    except Failed as e:
        sys.exit(f"failed: {e}")
