//! A hostile home for the sandbox tests. Its config `{"attack": "<name>", "path": "..."}`
//! picks one attack; the host's tests (native-connectors/tests/wasm_evil.rs) check that each
//! one fails the flow with a clear message and touches nothing outside the grant.
//!
//! When an attack is blocked the component reports how (so the message shows the sandbox
//! at work); when it is not blocked it returns what it got as data, which the tests detect.
//! Opened as one of several parts (config `part` / `parts`), it can also break the protocol
//! of a home in parts (wit/README.md).

mod fs;
mod runtime;

wit_bindgen::generate!({ world: "home-connector", path: "../../wit" });

use std::cell::RefCell;
use std::sync::Arc;

use arrow_array::{Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use exports::hygge::connector::home::{Guest, GuestReader, Reader};
use exports::hygge::connector::meta;
use hygge::connector::types::{Description, Error, ErrorKind, ReadRequest};
use serde::Deserialize;

#[derive(Deserialize)]
struct Config {
    attack: String,
    #[serde(default)]
    path: String,
    /// Set by the host when it reads with several instances.
    #[serde(default)]
    part: u32,
}

struct Component;

impl meta::Guest for Component {
    fn describe() -> Description {
        Description {
            name: "evil".into(),
            version: "0.0.0".into(),
            provides_home: true,
            provides_store: false,
            config_schema: "{}".into(),
            capabilities: vec!["read:home.path".into()],
        }
    }
}

/// The hostile reader: attacks happen in `open` or `next-batch`.
pub struct EvilReader {
    attack: String,
    part: u32,
    calls: RefCell<u32>,
}

pub(crate) fn blocked(what: &str, how: impl std::fmt::Display) -> Error {
    Error {
        kind: ErrorKind::Data,
        message: format!("{what} was blocked: {how}"),
    }
}

pub(crate) fn leaked(what: &str, content: String) -> Result<Option<Vec<u8>>, Error> {
    let schema = Arc::new(Schema::new(vec![Field::new(
        "leaked",
        DataType::Utf8,
        false,
    )]));
    let batch = RecordBatch::try_new(
        schema,
        vec![Arc::new(StringArray::from(vec![format!(
            "{what}: {content}"
        )]))],
    )
    .map_err(|e| blocked(what, e))?;
    hygge_ipc::batch_to_bytes(&batch)
        .map(Some)
        .map_err(|e| blocked(what, e))
}

fn id_schema() -> Arc<Schema> {
    Arc::new(Schema::new(vec![Field::new("id", DataType::Int64, false)]))
}

impl GuestReader for EvilReader {
    fn open(config: String, _request: ReadRequest) -> Result<Reader, Error> {
        let config: Config = serde_json::from_str(&config).map_err(|e| blocked("config", e))?;
        if let Some(result) = fs::attack(&config.attack, &config.path) {
            result?;
        }
        Ok(Reader::new(EvilReader {
            attack: config.attack,
            part: config.part,
            calls: RefCell::new(0),
        }))
    }

    fn schema(&self) -> Result<Vec<u8>, Error> {
        // `parts_schema`: every part but the first announces another schema.
        let schema = if self.attack == "parts_schema" && self.part > 0 {
            Arc::new(Schema::new(vec![Field::new(
                "other",
                DataType::Int64,
                false,
            )]))
        } else {
            id_schema()
        };
        hygge_ipc::schema_to_bytes(&schema).map_err(|e| blocked("schema", e))
    }

    fn next_batch(&self) -> Result<Option<Vec<u8>>, Error> {
        *self.calls.borrow_mut() += 1;
        if *self.calls.borrow() > 1 {
            // `batch_then_spin`: one good batch, then a call that never returns, so a test
            // can stop a run that is certainly in the middle of writing.
            if self.attack == "batch_then_spin" {
                return runtime::attack("spin").unwrap_or(Ok(None));
            }
            return Ok(None);
        }
        if let Some(result) = runtime::attack(&self.attack) {
            return result;
        }
        // `none`: a well-behaved single batch, so the tests can show the host works.
        // `parts_overrun`: every part sends it and then ends, never marking a unit's end,
        // so a part still has data after the part whose turn it was has ended.
        let batch =
            RecordBatch::try_new(id_schema(), vec![Arc::new(Int64Array::from(vec![1, 2, 3]))])
                .map_err(|e| blocked("batch", e))?;
        hygge_ipc::batch_to_bytes(&batch)
            .map(Some)
            .map_err(|e| blocked("batch", e))
    }
}

impl Guest for Component {
    type Reader = EvilReader;
}

export!(Component);
