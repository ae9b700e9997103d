//! Checks on what comes back from a guest: sizes, IPC validity, schemas.

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;

use crate::contract::ConnectorError;

/// The largest IPC message accepted from a component.
pub const MAX_MESSAGE_BYTES: usize = 256 << 20;

fn too_large(component: &str, call: &str, len: usize) -> ConnectorError {
    ConnectorError::data(format!(
        "component `{component}` returned {} MiB from `{call}`, over the limit of {} MiB per message",
        len >> 20,
        MAX_MESSAGE_BYTES >> 20
    ))
}

/// The schema in a component's `schema()` answer.
pub fn decode_schema(bytes: &[u8], component: &str) -> Result<SchemaRef, ConnectorError> {
    if bytes.len() > MAX_MESSAGE_BYTES {
        return Err(too_large(component, "schema", bytes.len()));
    }
    hygge_ipc::schema_from_bytes(bytes).map_err(|e| {
        ConnectorError::data(format!(
            "component `{component}` returned an invalid Arrow IPC schema from `schema`: {e}"
        ))
    })
}

/// The batch in a component's `next-batch()` answer, which must have the announced schema.
pub fn decode_batch(
    bytes: Vec<u8>,
    expected: &SchemaRef,
    component: &str,
) -> Result<RecordBatch, ConnectorError> {
    if bytes.len() > MAX_MESSAGE_BYTES {
        return Err(too_large(component, "next-batch", bytes.len()));
    }
    let batch = hygge_ipc::batch_from_bytes(bytes).map_err(|e| {
        ConnectorError::data(format!(
            "component `{component}` returned invalid Arrow IPC bytes from `next-batch`: {e}"
        ))
    })?;
    if batch.schema().fields() != expected.fields() {
        let names = |s: &SchemaRef| {
            s.fields()
                .iter()
                .map(|f| format!("{}: {}", f.name(), f.data_type()))
                .collect::<Vec<_>>()
        };
        return Err(ConnectorError::data(format!(
            "component `{component}` returned a batch whose schema {:?} differs from the one it announced {:?}",
            names(&batch.schema()),
            names(expected)
        )));
    }
    Ok(batch)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::Int64Array;
    use arrow_schema::{DataType, Field, Schema};

    use super::*;

    #[test]
    fn garbage_and_foreign_schemas_are_refused_naming_the_component() {
        let schema: SchemaRef =
            Arc::new(Schema::new(vec![Field::new("id", DataType::Int64, false)]));
        let err = decode_batch(b"garbage".to_vec(), &schema, "evil")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("component `evil`") && err.contains("invalid Arrow IPC"),
            "{err}"
        );
        let other: SchemaRef = Arc::new(Schema::new(vec![Field::new("x", DataType::Int64, false)]));
        let batch = RecordBatch::try_new(other, vec![Arc::new(Int64Array::from(vec![1]))]).unwrap();
        let bytes = hygge_ipc::batch_to_bytes(&batch).unwrap();
        let err = decode_batch(bytes, &schema, "evil")
            .unwrap_err()
            .to_string();
        assert!(err.contains("differs from the one it announced"), "{err}");
        let good = RecordBatch::try_new(schema.clone(), vec![Arc::new(Int64Array::from(vec![7]))])
            .unwrap();
        assert_eq!(
            decode_batch(hygge_ipc::batch_to_bytes(&good).unwrap(), &schema, "ok").unwrap(),
            good
        );
    }
}
