//! Shared helpers: a server and tiberius clients connected to it.
#![allow(dead_code, clippy::unwrap_used)]

use hygge_tds_test_server::{ServerConfig, TestServer};
use tiberius::{AuthMethod, Client, Config, EncryptionLevel};
use tokio::net::TcpStream;
use tokio_util::compat::{Compat, TokioAsyncWriteCompatExt};

/// A tiberius client over tokio.
pub type TestClient = Client<Compat<TcpStream>>;

/// The default login.
pub const USER: &str = "sa";
/// The default password.
pub const PASSWORD: &str = "Hygge-Test-1";

/// Starts a server with the default configuration.
pub async fn server() -> TestServer {
    TestServer::start(ServerConfig::default()).await.unwrap()
}

/// A tiberius configuration for the server.
pub fn config(server: &TestServer, user: &str, password: &str) -> Config {
    let mut config = Config::new();
    config.host("127.0.0.1");
    config.port(server.port());
    config.database("hygge");
    config.authentication(AuthMethod::sql_server(user, password));
    config.encryption(EncryptionLevel::NotSupported);
    config
}

/// Connects with a configuration.
pub async fn connect_with(server: &TestServer, config: Config) -> tiberius::Result<TestClient> {
    let tcp = TcpStream::connect(server.addr()).await?;
    tcp.set_nodelay(true)?;
    Client::connect(config, tcp.compat_write()).await
}

/// Connects as sa.
pub async fn connect(server: &TestServer) -> TestClient {
    connect_with(server, config(server, USER, PASSWORD))
        .await
        .unwrap()
}

/// Runs a batch and discards its results.
pub async fn exec(client: &mut TestClient, sql: &str) {
    client
        .simple_query(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .into_results()
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// Runs a batch and returns the first result set's rows.
pub async fn rows(client: &mut TestClient, sql: &str) -> Vec<tiberius::Row> {
    client
        .simple_query(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .into_first_result()
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// The server error number and message of a failed batch.
pub async fn batch_error(client: &mut TestClient, sql: &str) -> (u32, String) {
    let result = match client.simple_query(sql).await {
        Ok(stream) => stream.into_results().await.map(|_| ()),
        Err(e) => Err(e),
    };
    match result {
        Err(tiberius::error::Error::Server(e)) => (e.code(), e.message().to_string()),
        other => panic!("expected a server error from {sql}, got {other:?}"),
    }
}
