//! A hostile home that opens a TCP connection as soon as it is opened. Opening a socket
//! makes the component import `wasi:sockets`, which hygge does not link: the host's tests
//! (native-connectors/tests/wasm_evil.rs) check that it is refused before it runs. It lives
//! apart from `components/evil` because that import would keep every other attack from
//! loading.

wit_bindgen::generate!({ world: "home-connector", path: "../../wit" });

use std::net::TcpStream;

use exports::hygge::connector::home::{Guest, GuestReader, Reader};
use exports::hygge::connector::meta;
use hygge::connector::types::{Description, Error, ErrorKind, ReadRequest};

struct Component;

impl meta::Guest for Component {
    fn describe() -> Description {
        Description {
            name: "evil-net".into(),
            version: "0.0.0".into(),
            provides_home: true,
            provides_store: false,
            config_schema: "{}".into(),
            capabilities: vec!["network".into()],
        }
    }
}

/// Never constructed when the sandbox holds: `open` reports what the socket did.
pub struct SocketReader;

impl GuestReader for SocketReader {
    fn open(_config: String, _request: ReadRequest) -> Result<Reader, Error> {
        let outcome = match TcpStream::connect("127.0.0.1:9") {
            Ok(_) => "LEAKED by socket: connected".to_string(),
            Err(e) => format!("socket was blocked at run time: {e}"),
        };
        Err(Error {
            kind: ErrorKind::Internal,
            message: outcome,
        })
    }

    fn schema(&self) -> Result<Vec<u8>, Error> {
        Ok(Vec::new())
    }

    fn next_batch(&self) -> Result<Option<Vec<u8>>, Error> {
        Ok(None)
    }
}

impl Guest for Component {
    type Reader = SocketReader;
}

export!(Component);
