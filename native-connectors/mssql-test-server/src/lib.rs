//! A TDS 7.4 test server for hygge's MSSQL connector tests.
//!
//! [`TestServer::start`] listens on `127.0.0.1` and speaks enough of the
//! MS-TDS protocol (PRELOGIN without TLS, LOGIN7 with SQL authentication, SQL
//! batches, `sp_executesql` RPCs, transaction-manager requests, bulk load,
//! attention) for tiberius and FreeTDS, backed by an in-memory catalog that
//! runs the SQL subset hygge emits. It is test support only and never part
//! of the `hygge` binary.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use hygge_tds_test_server::{ServerConfig, TestServer};
//! let server = TestServer::start(ServerConfig::default()).await?;
//! println!("connect to 127.0.0.1:{} as sa / Hygge-Test-1", server.port());
//! # Ok(())
//! # }
//! ```

mod engine;
mod error;
mod server;
mod session;
mod sql;
mod tds;
mod types;

pub use server::{ServerConfig, TestServer};
