//! `type: adbc` with a driver of a server database: the PostgreSQL ADBC driver of the PyPI
//! wheel against a real PostgreSQL the test starts, home and store, through the same engine
//! as DuckDB and SQLite (bulk ingest into a staging table, the SQL publish layer in
//! PostgreSQL's dialect, the watermark row in the same transaction). psql checks it.

#![allow(clippy::unwrap_used)]

mod common;

use common::postgres::{pg_run, psql};
use common::*;
use hygge_object_test_servers::postgres_adbc_driver;
use hygge_pg_test_server::PgServer;

/// A project with the ADBC connection `pg` to `server` (its password from the environment,
/// as `pg_run` sets it) and `flows`.
fn adbc_project(server: &PgServer, flows: &str) -> String {
    format!(
        "name: adbc_pg
connections:
  pg:
    type: adbc
    driver: {}
    uri: postgresql://postgres:${{HYGGE_TEST_PG_PASSWORD}}@127.0.0.1:{}/postgres
flows:
{flows}",
        postgres_adbc_driver()
            .unwrap_or_else(|e| panic!("{e}"))
            .display(),
        server.port()
    )
}

#[test]
fn the_postgresql_adbc_driver_loads_merges_incrementally_and_reads_back() {
    let server = PgServer::start().unwrap();
    psql(
        &server,
        "CREATE TABLE public.events AS SELECT i::bigint AS id, \
         TIMESTAMPTZ '2026-01-01 00:00:00+00' + i * INTERVAL '1 minute' AS at, \
         (i * 1.25)::numeric(12,2) AS amount, 'first' AS v FROM generate_series(1, 1000) i",
    );
    let dir = tempfile::tempdir().unwrap();
    let flows = "  sync:
    home: {type: adbc, connection: pg, table: public.events}
    store: {type: adbc, connection: pg, table: copy.events, if_exists: merge}
    run_type: incremental
    watermark: {column: at, primary_key: id}
  back:
    home: {type: adbc, connection: pg, query: 'SELECT id, amount FROM copy.events WHERE id <= 10'}
    store: {path: data/back}
";
    write_files(dir.path(), &[("hygge.yml", &adbc_project(&server, flows))]);
    let go = |flow: &str| {
        let out = pg_run(dir.path(), &["go", "--flow", flow], None);
        ok(out)
    };
    go("sync");
    assert_eq!(
        psql(
            &server,
            "SELECT count(*), sum(amount::numeric) FROM copy.events"
        ),
        "1000|625625.00"
    );
    // The driver reads NUMERIC as its exact text (its own documented mapping).
    assert_eq!(
        psql(
            &server,
            "SELECT string_agg(column_name || ' ' || data_type, ', ' ORDER BY ordinal_position) \
             FROM information_schema.columns WHERE table_schema = 'copy' AND table_name = 'events'"
        ),
        "id bigint, at timestamp with time zone, amount text, v text"
    );
    // New rows and a changed one past the watermark: merged, not doubled.
    psql(
        &server,
        "INSERT INTO public.events SELECT i, TIMESTAMPTZ '2026-01-01 00:00:00+00' + i * INTERVAL '1 minute', 0, 'second' FROM generate_series(1001, 1010) i; \
         UPDATE public.events SET at = at + INTERVAL '1 day', v = 'changed' WHERE id = 5",
    );
    go("sync");
    assert_eq!(
        psql(
            &server,
            "SELECT count(*), count(*) FILTER (WHERE v = 'changed'), count(*) FILTER (WHERE v = 'second') FROM copy.events"
        ),
        "1010|1|10"
    );
    // The watermark committed with the rows is the newest row's.
    assert_eq!(
        psql(
            &server,
            "SELECT watermark::timestamptz = (SELECT max(at) FROM public.events) \
             FROM copy.hygge_state WHERE flow = 'sync' AND entity = 'sync'"
        ),
        "t"
    );
    go("back");
    assert_eq!(count_rows(&dir.path().join("data/back")), 10);
    assert_eq!(
        psql(
            &server,
            "SELECT count(*) FROM pg_tables WHERE tablename LIKE '%__hygge_%'"
        ),
        "0"
    );
}
