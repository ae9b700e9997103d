//! A hostile home that attacks the HTTP grant. Its config `{"attack": "<name>", "url": "…"}`
//! picks one attack; the host's tests (native-connectors/tests/wasm_evil.rs) grant it one
//! origin of a test server and check that each attack fails its flow with a message naming
//! the component, the URL and the grant.
//!
//! - `get`: a plain GET of `url` (outside the grant, or `localhost` when `127.0.0.1` is
//!   granted); whatever comes back is returned as data, so a leak shows.
//! - `swallow`: the same GET, its error ignored, then a well-behaved batch: the host must
//!   fail the flow even though the component says all is well.
//! - `redirect`: a GET of `url` inside the grant, then of wherever it redirects to.
//! - `endless`: reads the whole (endless) body of `url`, keeping only its length.

use std::sync::Arc;

use arrow_array::{Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use hygge_component_sdk::types::{Description, Error, ReadRequest};
use hygge_component_sdk::{Failure, encode_batch, encode_schema, parse_config};
use serde::Deserialize;
use wasip2::http::outgoing_handler;
use wasip2::http::types::{Fields, Method, OutgoingRequest, Scheme};
use wasip2::io::streams::StreamError;

hygge_component_sdk::bindings!("home-connector", "../../wit");

use exports::hygge::connector::home::{Guest, GuestReader, Reader};
use exports::hygge::connector::meta;

#[derive(Deserialize)]
struct Config {
    attack: String,
    url: String,
}

struct Component;

impl meta::Guest for Component {
    fn describe() -> Description {
        Description {
            name: "evil-http".into(),
            version: "0.0.0".into(),
            provides_home: true,
            provides_store: false,
            config_schema: "{}".into(),
            capabilities: vec!["http".into()],
        }
    }
}

/// What a GET gave: the status, the `location` header, and the body's length and start.
struct Got {
    status: u16,
    location: Option<String>,
    length: u64,
    start: String,
}

fn get(url: &str) -> Result<Got, Failure> {
    let (https, rest) = match url.split_once("://") {
        Some(("https", rest)) => (true, rest),
        Some((_, rest)) => (false, rest),
        None => return Err(Failure::config(format!("`{url}` is not a URL"))),
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let request = OutgoingRequest::new(Fields::new());
    let _ = request.set_method(&Method::Get);
    let _ = request.set_scheme(Some(if https { &Scheme::Https } else { &Scheme::Http }));
    let _ = request.set_authority(Some(authority));
    let _ = request.set_path_with_query(Some(if path.is_empty() { "/" } else { path }));
    let future = outgoing_handler::handle(request, None)
        .map_err(|e| Failure::data(format!("GET {url} was blocked: {e}")))?;
    future.subscribe().block();
    let response = future
        .get()
        .and_then(Result::ok)
        .ok_or_else(|| Failure::internal("no response"))?
        .map_err(|e| Failure::data(format!("GET {url} was blocked: {e}")))?;
    let status = response.status();
    let location = response
        .headers()
        .get("location")
        .first()
        .map(|v| String::from_utf8_lossy(v).into_owned());
    let body = response
        .consume()
        .map_err(|()| Failure::internal("no body"))?;
    let stream = body.stream().map_err(|()| Failure::internal("no stream"))?;
    let mut length = 0u64;
    let mut start = String::new();
    loop {
        match stream.blocking_read(64 << 10) {
            Ok(chunk) => {
                if start.len() < 200 {
                    start.push_str(&String::from_utf8_lossy(&chunk[..chunk.len().min(200)]));
                }
                length += chunk.len() as u64;
            }
            Err(StreamError::Closed) => break,
            Err(StreamError::LastOperationFailed(e)) => {
                return Err(Failure::data(format!(
                    "reading {url} was stopped after {length} bytes: {}",
                    e.to_debug_string()
                )));
            }
        }
    }
    Ok(Got {
        status,
        location,
        length,
        start,
    })
}

fn leaked(what: String) -> Result<Option<Vec<u8>>, Error> {
    let schema = Arc::new(Schema::new(vec![Field::new(
        "leaked",
        DataType::Utf8,
        false,
    )]));
    let batch = RecordBatch::try_new(schema, vec![Arc::new(StringArray::from(vec![what]))])
        .map_err(|e| Failure::internal(e.to_string()))?;
    Ok(Some(encode_batch(&batch)?))
}

/// The hostile reader: every attack happens in `next-batch`.
pub struct EvilHttpReader {
    config: Config,
    done: std::cell::Cell<bool>,
}

impl GuestReader for EvilHttpReader {
    fn open(config: String, _request: ReadRequest) -> Result<Reader, Error> {
        Ok(Reader::new(EvilHttpReader {
            config: parse_config(&config)?,
            done: std::cell::Cell::new(false),
        }))
    }

    fn schema(&self) -> Result<Vec<u8>, Error> {
        let schema = Schema::new(vec![Field::new("id", DataType::Int64, false)]);
        Ok(encode_schema(&schema)?)
    }

    fn next_batch(&self) -> Result<Option<Vec<u8>>, Error> {
        if self.done.replace(true) {
            return Ok(None);
        }
        let url = &self.config.url;
        match self.config.attack.as_str() {
            "get" | "endless" => {
                let got = get(url)?;
                leaked(format!(
                    "LEAKED {} bytes of {url}: {} {}",
                    got.length, got.status, got.start
                ))
            }
            "swallow" => {
                let _ = get(url);
                let schema = Arc::new(Schema::new(vec![Field::new("id", DataType::Int64, false)]));
                let batch =
                    RecordBatch::try_new(schema, vec![Arc::new(Int64Array::from(vec![1, 2, 3]))])
                        .map_err(|e| Failure::internal(e.to_string()))?;
                Ok(Some(encode_batch(&batch)?))
            }
            "redirect" => {
                let first = get(url)?;
                let Some(location) = first.location else {
                    return Err(Failure::internal(format!("{url} did not redirect")).into());
                };
                let got = get(&location)?;
                leaked(format!("LEAKED {location}: {} {}", got.status, got.start))
            }
            other => Err(Failure::config(format!("no attack `{other}`")).into()),
        }
    }
}

impl Guest for Component {
    type Reader = EvilHttpReader;
}

export!(Component);
