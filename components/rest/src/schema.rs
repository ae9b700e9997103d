//! Arrow from JSON records: the schema inferred from the first records (with `schema:`
//! naming the types of any field), and each page decoded against it. A value that does not
//! fit its field's type, or a field the schema never saw, stops the read naming the field
//! and the page: never a silent null.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_json::ReaderBuilder;
use arrow_json::reader::infer_json_schema_from_iterator;
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use hygge_component_sdk::Failure;
use hygge_rest_config::FieldType;
use serde_json::{Map, Value};

/// The Arrow type of a `schema:` type name.
fn arrow_type(field: FieldType) -> DataType {
    match field {
        FieldType::Int(8) => DataType::Int8,
        FieldType::Int(16) => DataType::Int16,
        FieldType::Int(32) => DataType::Int32,
        FieldType::Int(_) => DataType::Int64,
        FieldType::UInt(8) => DataType::UInt8,
        FieldType::UInt(16) => DataType::UInt16,
        FieldType::UInt(32) => DataType::UInt32,
        FieldType::UInt(_) => DataType::UInt64,
        FieldType::Float(32) => DataType::Float32,
        FieldType::Float(_) => DataType::Float64,
        FieldType::Bool => DataType::Boolean,
        FieldType::Text => DataType::Utf8,
        FieldType::Date => DataType::Date32,
        FieldType::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, None),
        FieldType::TimestampTz => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        FieldType::Decimal(p, s) => DataType::Decimal128(p, s),
    }
}

/// The schema of `sample` (flat records), with the types `explicit` names. Every field is
/// nullable; a field seen only as null is text.
///
/// # Errors
/// A config error for a type name hygge does not know (the host checks them first).
pub fn infer(
    sample: &[Map<String, Value>],
    explicit: &BTreeMap<String, String>,
) -> Result<SchemaRef, Failure> {
    let inferred = infer_json_schema_from_iterator(
        sample
            .iter()
            .map(|record| Ok(Value::Object(record.clone()))),
    )
    .map_err(|e| Failure::data(format!("cannot infer a schema from the first records: {e}")))?;
    let mut fields: Vec<Field> = inferred
        .fields()
        .iter()
        .map(|f| {
            let data_type = match f.data_type() {
                DataType::Null => DataType::Utf8,
                other => other.clone(),
            };
            Field::new(f.name(), data_type, true)
        })
        .collect();
    for (name, type_name) in explicit {
        let data_type = arrow_type(
            FieldType::parse(type_name)
                .map_err(|e| Failure::config(format!("schema.{name}: {e}")))?,
        );
        match fields.iter_mut().find(|f| f.name() == name) {
            Some(field) => *field = Field::new(name, data_type, true),
            None => fields.push(Field::new(name, data_type, true)),
        }
    }
    Ok(Arc::new(Schema::new(fields)))
}

/// One page's records as a batch of `schema`. `page` names the page in messages.
///
/// # Errors
/// A data error naming the field and the page when a value does not fit, or a field is
/// not in the schema.
pub fn decode(
    schema: &SchemaRef,
    records: &[Map<String, Value>],
    page: &str,
    sample_size: usize,
) -> Result<RecordBatch, Failure> {
    if let Some(field) = records
        .iter()
        .flat_map(|r| r.keys())
        .find(|key| schema.field_with_name(key).is_err())
    {
        return Err(Failure::data(format!(
            "{page}: field `{field}` was not in the first {sample_size} records the schema was inferred from; \
             name its type under `schema:` (e.g. `schema: {{{field}: string}}`) or raise `sample_size`"
        )));
    }
    // arrow-json would truncate 2.5 into an integer field: that is a misfit too.
    for field in schema
        .fields()
        .iter()
        .filter(|f| f.data_type().is_integer())
    {
        if let Some(value) = records
            .iter()
            .filter_map(|r| r.get(field.name()))
            .find(|v| v.as_number().is_some_and(|n| n.is_f64()))
        {
            return Err(Failure::data(format!(
                "{page}: field `{}` holds {value}, which does not fit its type {}; name its type under `schema:` (e.g. `schema: {{{}: float64}}`) or raise `sample_size`",
                field.name(),
                field.data_type(),
                field.name()
            )));
        }
    }
    let mut decoder = ReaderBuilder::new(decoding_schema(schema))
        .with_batch_size(records.len().max(1))
        .with_strict_mode(true)
        .build_decoder()
        .map_err(|e| Failure::internal(format!("cannot build the JSON decoder: {e}")))?;
    let misfit = |e: arrow_schema::ArrowError| {
        Failure::data(format!(
            "{page}: a value does not fit the schema ({e}); name the field's type under `schema:` or raise `sample_size` so the schema sees it"
        ))
    };
    decoder.serialize(records).map_err(misfit)?;
    let Some(batch) = decoder.flush().map_err(misfit)? else {
        return Ok(RecordBatch::new_empty(schema.clone()));
    };
    // The same values, labelled with the schema's own time zone names.
    let columns = batch
        .columns()
        .iter()
        .zip(schema.fields())
        .map(|(column, field)| {
            if column.data_type() == field.data_type() {
                return Ok(column.clone());
            }
            let data = column
                .to_data()
                .into_builder()
                .data_type(field.data_type().clone())
                .build()?;
            Ok(arrow_array::make_array(data))
        })
        .collect::<Result<Vec<_>, arrow_schema::ArrowError>>()
        .map_err(|e| Failure::internal(format!("cannot relabel a time zone: {e}")))?;
    RecordBatch::try_new(schema.clone(), columns)
        .map_err(|e| Failure::internal(format!("cannot rebuild a batch: {e}")))
}

/// `schema` with `UTC` written as `+00:00`: the decoder in the component has no time zone
/// database, and reads only offsets.
fn decoding_schema(schema: &SchemaRef) -> SchemaRef {
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| match f.data_type() {
            DataType::Timestamp(unit, Some(tz)) if tz.as_ref() == "UTC" => Field::new(
                f.name(),
                DataType::Timestamp(*unit, Some("+00:00".into())),
                f.is_nullable(),
            ),
            _ => f.as_ref().clone(),
        })
        .collect();
    Arc::new(Schema::new(fields))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn records(values: Value) -> Vec<Map<String, Value>> {
        values
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_object().unwrap().clone())
            .collect()
    }

    #[test]
    fn types_are_inferred_and_overridden_by_schema() {
        let sample = records(json!([{"id": 1, "amount": "12.50", "note": null, "ok": true}]));
        let explicit = BTreeMap::from([("amount".to_string(), "decimal(12,2)".to_string())]);
        let schema = infer(&sample, &explicit).unwrap();
        assert_eq!(
            schema.field_with_name("id").unwrap().data_type(),
            &DataType::Int64
        );
        assert_eq!(
            schema.field_with_name("amount").unwrap().data_type(),
            &DataType::Decimal128(12, 2)
        );
        assert_eq!(
            schema.field_with_name("note").unwrap().data_type(),
            &DataType::Utf8
        );
        let batch = decode(&schema, &sample, "page 1", 1).unwrap();
        assert_eq!(batch.num_rows(), 1);
        let explicit = BTreeMap::from([("at".to_string(), "timestamptz".to_string())]);
        let schema = infer(&records(json!([{"at": "2026-01-01T00:01:00Z"}])), &explicit).unwrap();
        let batch = decode(
            &schema,
            &records(json!([{"at": "2026-01-01T01:01:00+01:00"}])),
            "p",
            1,
        )
        .unwrap();
        assert_eq!(
            batch.schema().field(0).data_type(),
            &DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
        );
        let at = batch
            .column(0)
            .as_any()
            .downcast_ref::<arrow_array::TimestampMicrosecondArray>()
            .unwrap();
        assert_eq!(at.value(0), 1_767_225_660_000_000);
    }

    #[test]
    fn a_value_that_does_not_fit_names_the_page_and_field() {
        let schema = infer(&records(json!([{"id": 1}])), &BTreeMap::new()).unwrap();
        let error = decode(
            &schema,
            &records(json!([{"id": "abc"}])),
            "page 4 (http://h/a)",
            1,
        )
        .unwrap_err();
        assert!(
            error.message.contains("page 4") && error.message.contains("id"),
            "{}",
            error.message
        );
        let error = decode(
            &schema,
            &records(json!([{"id": 2, "extra": 1}])),
            "page 5",
            1,
        )
        .unwrap_err();
        assert!(
            error.message.contains("`extra`") && error.message.contains("page 5"),
            "{}",
            error.message
        );
        let error = decode(&schema, &records(json!([{"id": 2.5}])), "page 6", 1).unwrap_err();
        assert!(
            error.message.contains("page 6") && error.message.contains("`id` holds 2.5"),
            "{}",
            error.message
        );
    }
}
