//! Arrow IPC framing of the hygge contract, guest side. Every message is a complete Arrow
//! IPC stream: a schema message, then for a batch one record-batch message, then the
//! end-of-stream marker. The host decodes the same framing (see wit/README.md).

use std::io::Cursor;
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_buffer::Buffer;
use arrow_ipc::reader::{StreamDecoder, StreamReader};
use arrow_ipc::writer::StreamWriter;
use arrow_schema::{ArrowError, Schema, SchemaRef};

/// An IPC stream holding only `schema`.
pub fn schema_to_bytes(schema: &Schema) -> Result<Vec<u8>, ArrowError> {
    let mut writer = StreamWriter::try_new(Vec::new(), schema)?;
    writer.finish()?;
    writer.into_inner()
}

/// An IPC stream holding `batch`.
pub fn batch_to_bytes(batch: &RecordBatch) -> Result<Vec<u8>, ArrowError> {
    let mut writer = StreamWriter::try_new(
        Vec::with_capacity(batch.get_array_memory_size() + 1024),
        &batch.schema(),
    )?;
    writer.write(batch)?;
    writer.finish()?;
    writer.into_inner()
}

/// The schema of an IPC stream.
pub fn schema_from_bytes(bytes: &[u8]) -> Result<SchemaRef, ArrowError> {
    Ok(StreamReader::try_new(Cursor::new(bytes), None)?.schema())
}

/// The one batch of an IPC stream. The batch's arrays point into `bytes` (no copy, except
/// for a buffer that is not aligned for its type); every array is validated.
pub fn batch_from_bytes(bytes: Vec<u8>) -> Result<RecordBatch, ArrowError> {
    let mut buffer = Buffer::from(bytes);
    let mut decoder = StreamDecoder::new();
    let mut batch = None;
    while !buffer.is_empty() {
        if let Some(decoded) = decoder.decode(&mut buffer)?
            && batch.replace(decoded).is_some()
        {
            return Err(ArrowError::IpcError(
                "the message holds more than one record batch".into(),
            ));
        }
    }
    decoder.finish()?;
    batch.ok_or_else(|| ArrowError::IpcError("the message holds no record batch".into()))
}

/// An empty schema, for components that fail before they know theirs.
pub fn empty_schema() -> SchemaRef {
    Arc::new(Schema::empty())
}
