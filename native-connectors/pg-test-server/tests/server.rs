//! The test server is a real PostgreSQL: psql (an independent client) reaches it over TCP
//! with the password, and it is gone after the drop.

#![allow(clippy::unwrap_used)]

use hygge_pg_test_server::PgServer;

#[test]
fn a_server_starts_answers_over_tcp_and_stops() {
    let server = PgServer::start().unwrap();
    let version = server.psql("SHOW server_version_num").unwrap();
    assert!(version.parse::<u32>().unwrap() >= 130_000, "{version}");
    server
        .psql("CREATE TABLE t (id int); INSERT INTO t VALUES (1), (2)")
        .unwrap();
    assert_eq!(server.psql("SELECT sum(id) FROM t").unwrap(), "3");
    let err = server.psql("SELECT nope FROM t").unwrap_err().to_string();
    assert!(err.contains("column \"nope\" does not exist"), "{err}");
    let port = server.port();
    drop(server);
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
}

#[test]
fn two_servers_run_side_by_side() {
    let a = PgServer::start().unwrap();
    let b = PgServer::start().unwrap();
    assert_ne!(a.port(), b.port());
    a.psql("CREATE TABLE only_in_a (x int)").unwrap();
    assert!(b.psql("SELECT * FROM only_in_a").is_err());
}
