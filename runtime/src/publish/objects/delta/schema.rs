//! Arrow schemas as Delta Lake schemas (the `schemaString` of a `metaData` action), by the
//! Delta protocol's type rules. A type Delta cannot hold is refused by column name before
//! anything is committed.

use arrow_schema::{DataType, Field, Schema, TimeUnit};
use serde_json::{Value, json};

/// A Delta schema and what readers must support to read it.
#[derive(Debug, Clone, PartialEq)]
pub struct DeltaSchema {
    /// The schema as Delta's JSON struct type.
    pub json: Value,
    /// Whether it holds zone-less timestamps (`timestamp_ntz`), a table feature readers and
    /// writers must support (protocol 3/7).
    pub timestamp_ntz: bool,
}

/// `schema` as a Delta schema.
///
/// # Errors
/// The first column whose type Delta has no equivalent for, with what to cast it to.
pub fn delta_schema(schema: &Schema) -> Result<DeltaSchema, String> {
    let mut ntz = false;
    let fields = schema
        .fields()
        .iter()
        .map(|f| field(f, f.name(), &mut ntz))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(DeltaSchema {
        json: json!({"type": "struct", "fields": fields}),
        timestamp_ntz: ntz,
    })
}

fn field(field: &Field, column: &str, ntz: &mut bool) -> Result<Value, String> {
    Ok(json!({
        "name": field.name(),
        "type": delta_type(field.data_type(), column, ntz)?,
        "nullable": field.is_nullable(),
        "metadata": {},
    }))
}

fn delta_type(data_type: &DataType, column: &str, ntz: &mut bool) -> Result<Value, String> {
    use DataType as T;
    let primitive = |name: &str| Ok(Value::String(name.to_string()));
    match data_type {
        T::Boolean => primitive("boolean"),
        T::Int8 => primitive("byte"),
        T::Int16 | T::UInt8 => primitive("short"),
        T::Int32 | T::UInt16 => primitive("integer"),
        T::Int64 | T::UInt32 => primitive("long"),
        T::Float16 | T::Float32 => primitive("float"),
        T::Float64 => primitive("double"),
        T::Utf8 | T::LargeUtf8 | T::Utf8View => primitive("string"),
        T::Binary | T::LargeBinary | T::BinaryView | T::FixedSizeBinary(_) => primitive("binary"),
        T::Date32 | T::Date64 => primitive("date"),
        T::Timestamp(unit, zone) => {
            if *unit == TimeUnit::Nanosecond {
                return Err(format!(
                    "column `{column}` holds nanosecond timestamps, which Delta readers (Spark, Fabric) cannot read: cast it to microseconds"
                ));
            }
            if zone.is_some() {
                primitive("timestamp")
            } else {
                *ntz = true;
                primitive("timestamp_ntz")
            }
        }
        T::Decimal32(p, s) | T::Decimal64(p, s) | T::Decimal128(p, s) if *p <= 38 => {
            Ok(Value::String(format!("decimal({p},{s})")))
        }
        T::List(item)
        | T::LargeList(item)
        | T::ListView(item)
        | T::LargeListView(item)
        | T::FixedSizeList(item, _) => Ok(json!({
            "type": "array",
            "elementType": delta_type(item.data_type(), column, ntz)?,
            "containsNull": item.is_nullable(),
        })),
        T::Struct(fields) => {
            let fields = fields
                .iter()
                .map(|f| field(f, column, ntz))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(json!({"type": "struct", "fields": fields}))
        }
        T::Map(entries, _) => {
            let T::Struct(kv) = entries.data_type() else {
                return Err(format!("column `{column}` is a map without key and value"));
            };
            let (Some(key), Some(value)) = (kv.first(), kv.get(1)) else {
                return Err(format!("column `{column}` is a map without key and value"));
            };
            Ok(json!({
                "type": "map",
                "keyType": delta_type(key.data_type(), column, ntz)?,
                "valueType": delta_type(value.data_type(), column, ntz)?,
                "valueContainsNull": value.is_nullable(),
            }))
        }
        T::Dictionary(_, value) => delta_type(value, column, ntz),
        other => Err(format!(
            "column `{column}` is {other}, which a Delta table cannot hold: cast it (times and durations to strings or integers, unsigned 64-bit integers to decimal(20,0))"
        )),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[test]
    fn arrow_types_map_to_delta_types_and_unknown_ones_are_named() {
        let schema = Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("price", DataType::Decimal128(15, 2), true),
            Field::new("day", DataType::Date32, true),
            Field::new(
                "at",
                DataType::Timestamp(TimeUnit::Microsecond, Some("+00:00".into())),
                true,
            ),
            Field::new(
                "local",
                DataType::Timestamp(TimeUnit::Microsecond, None),
                true,
            ),
            Field::new(
                "tags",
                DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))),
                true,
            ),
        ]);
        let delta = delta_schema(&schema).unwrap();
        assert!(delta.timestamp_ntz);
        let types: Vec<&Value> = delta.json["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| &f["type"])
            .collect();
        assert_eq!(types[0], "long");
        assert_eq!(types[1], "decimal(15,2)");
        assert_eq!(types[2], "date");
        assert_eq!(types[3], "timestamp");
        assert_eq!(types[4], "timestamp_ntz");
        assert_eq!(types[5]["elementType"], "string");
        assert_eq!(delta.json["fields"][0]["nullable"], false);

        let unsigned = Schema::new(vec![Field::new("n", DataType::UInt64, true)]);
        let problem = delta_schema(&unsigned).unwrap_err();
        assert!(
            problem.contains("column `n`") && problem.contains("decimal(20,0)"),
            "{problem}"
        );
        let nanos = Schema::new(vec![Field::new(
            "t",
            DataType::Timestamp(TimeUnit::Nanosecond, None),
            true,
        )]);
        assert!(delta_schema(&nanos).unwrap_err().contains("microseconds"));
    }
}
