//! Arrow batches written in PostgreSQL's binary COPY format.
//!
//! Each column is first cast (arrow-cast, failing on a value that does not fit) to the
//! Arrow type of its [`PgType`], then written value by value in the type's binary receive
//! format: a stream of `SIGNATURE`, flags and extension, then per row a 16-bit field count
//! and per field a 32-bit length (-1 for NULL) and the bytes, then a trailer of -1.

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Decimal128Type, Decimal256Type, Float32Type, Float64Type, Int16Type, Int32Type,
    Int64Type, IntervalMonthDayNanoType, Time64MicrosecondType, TimestampMicrosecondType,
};
use arrow_array::{
    Array, ArrayRef, BinaryArray, BooleanArray, GenericListArray, PrimitiveArray, RecordBatch,
    StringArray,
};
use arrow_cast::CastOptions;

use super::decode::{EPOCH_DAYS, EPOCH_MICROS, SIGNATURE};
use super::numeric::{write_numeric_i128, write_numeric_i256, write_numeric_text};
use super::types::PgType;

/// A column that could not be written: its name and why.
#[derive(Debug, thiserror::Error)]
#[error("column `{column}`: {message}")]
pub struct EncodeError {
    /// The column.
    pub column: String,
    /// What is wrong.
    pub message: String,
}

/// The stream's opening: signature, no flags, no extension.
pub fn header() -> Vec<u8> {
    let mut out = SIGNATURE.to_vec();
    out.extend_from_slice(&0i32.to_be_bytes());
    out.extend_from_slice(&0i32.to_be_bytes());
    out
}

/// The stream's end.
pub fn trailer() -> [u8; 2] {
    (-1i16).to_be_bytes()
}

/// Writes `batch`'s rows, its columns typed as `types`, to `out`.
///
/// # Errors
/// The first column with a value its PostgreSQL type cannot take.
pub fn encode_batch(
    batch: &RecordBatch,
    types: &[PgType],
    out: &mut Vec<u8>,
) -> Result<(), EncodeError> {
    let schema = batch.schema();
    let cast: Vec<ArrayRef> = batch
        .columns()
        .iter()
        .zip(types)
        .zip(schema.fields())
        .map(|((array, ty), field)| cast_for(array, ty, field.name()))
        .collect::<Result<_, _>>()?;
    let columns: Vec<Column<'_>> = cast
        .iter()
        .zip(types)
        .zip(schema.fields())
        .map(|((array, ty), field)| Column::new(array.as_ref(), ty, field.name()))
        .collect::<Result<_, _>>()?;
    let fields = (columns.len() as i16).to_be_bytes();
    for row in 0..batch.num_rows() {
        out.extend_from_slice(&fields);
        for column in &columns {
            column.write(row, out)?;
        }
    }
    Ok(())
}

fn cast_for(array: &ArrayRef, ty: &PgType, name: &str) -> Result<ArrayRef, EncodeError> {
    let target = ty.arrow();
    if array.data_type() == &target {
        return Ok(array.clone());
    }
    let options = CastOptions {
        safe: false,
        ..CastOptions::default()
    };
    arrow_cast::cast_with_options(array, &target, &options).map_err(|e| EncodeError {
        column: name.to_string(),
        message: format!("cannot write {} as {ty}: {e}", array.data_type()),
    })
}

/// One column's values, typed.
struct Column<'a> {
    name: &'a str,
    values: Values<'a>,
}

enum Values<'a> {
    Bool(&'a BooleanArray),
    I16(&'a PrimitiveArray<Int16Type>),
    I32(&'a PrimitiveArray<Int32Type>),
    I64(&'a PrimitiveArray<Int64Type>),
    Oid(&'a PrimitiveArray<Int64Type>),
    F32(&'a PrimitiveArray<Float32Type>),
    F64(&'a PrimitiveArray<Float64Type>),
    Dec128(&'a PrimitiveArray<Decimal128Type>, i8),
    Dec256(&'a PrimitiveArray<Decimal256Type>, i8),
    NumericText(&'a StringArray),
    Text(&'a StringArray),
    Char(&'a StringArray),
    Uuid(&'a StringArray),
    Jsonb(&'a StringArray),
    Binary(&'a BinaryArray),
    Date(&'a PrimitiveArray<Date32Type>),
    Time(&'a PrimitiveArray<Time64MicrosecondType>),
    Timestamp(&'a PrimitiveArray<TimestampMicrosecondType>),
    Interval(&'a PrimitiveArray<IntervalMonthDayNanoType>),
    List(&'a GenericListArray<i32>, u32, Box<Column<'a>>),
}

impl<'a> Column<'a> {
    fn new(array: &'a dyn Array, ty: &PgType, name: &'a str) -> Result<Column<'a>, EncodeError> {
        let values = match ty {
            PgType::Bool => Values::Bool(array.as_boolean()),
            PgType::Int2 => Values::I16(array.as_primitive()),
            PgType::Int4 => Values::I32(array.as_primitive()),
            PgType::Int8 => Values::I64(array.as_primitive()),
            PgType::Oid => Values::Oid(array.as_primitive()),
            PgType::Float4 => Values::F32(array.as_primitive()),
            PgType::Float8 => Values::F64(array.as_primitive()),
            PgType::Numeric(_) => match array.data_type() {
                arrow_schema::DataType::Decimal128(_, s) => {
                    Values::Dec128(array.as_primitive(), *s)
                }
                arrow_schema::DataType::Decimal256(_, s) => {
                    Values::Dec256(array.as_primitive(), *s)
                }
                _ => Values::NumericText(array.as_string()),
            },
            PgType::Text(_) => Values::Text(array.as_string()),
            PgType::Char => Values::Char(array.as_string()),
            PgType::Uuid => Values::Uuid(array.as_string()),
            PgType::Json => Values::Text(array.as_string()),
            PgType::Jsonb => Values::Jsonb(array.as_string()),
            PgType::Bytea => Values::Binary(array.as_binary()),
            PgType::Date => Values::Date(array.as_primitive()),
            PgType::Time => Values::Time(array.as_primitive()),
            PgType::Timestamp | PgType::TimestampTz => Values::Timestamp(array.as_primitive()),
            PgType::Interval => Values::Interval(array.as_primitive()),
            PgType::Array(element) => {
                let list = array.as_list::<i32>();
                let inner = Column::new(list.values().as_ref(), element, name)?;
                Values::List(list, element_oid(element), Box::new(inner))
            }
        };
        Ok(Column { name, values })
    }

    fn error(&self, message: impl Into<String>) -> EncodeError {
        EncodeError {
            column: self.name.to_string(),
            message: message.into(),
        }
    }

    /// Writes row `row`: its length (-1 for NULL) and bytes.
    fn write(&self, row: usize, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        let null = match &self.values {
            Values::Bool(a) => a.is_null(row),
            Values::I16(a) => a.is_null(row),
            Values::I32(a) => a.is_null(row),
            Values::I64(a) | Values::Oid(a) => a.is_null(row),
            Values::F32(a) => a.is_null(row),
            Values::F64(a) => a.is_null(row),
            Values::Dec128(a, _) => a.is_null(row),
            Values::Dec256(a, _) => a.is_null(row),
            Values::NumericText(a)
            | Values::Text(a)
            | Values::Char(a)
            | Values::Uuid(a)
            | Values::Jsonb(a) => a.is_null(row),
            Values::Binary(a) => a.is_null(row),
            Values::Date(a) => a.is_null(row),
            Values::Time(a) => a.is_null(row),
            Values::Timestamp(a) => a.is_null(row),
            Values::Interval(a) => a.is_null(row),
            Values::List(a, ..) => a.is_null(row),
        };
        if null {
            out.extend_from_slice(&(-1i32).to_be_bytes());
            return Ok(());
        }
        let sized = |out: &mut Vec<u8>, bytes: &[u8]| {
            out.extend_from_slice(&(bytes.len() as i32).to_be_bytes());
            out.extend_from_slice(bytes);
        };
        match &self.values {
            Values::Bool(a) => sized(out, &[u8::from(a.value(row))]),
            Values::I16(a) => sized(out, &a.value(row).to_be_bytes()),
            Values::I32(a) => sized(out, &a.value(row).to_be_bytes()),
            Values::I64(a) => sized(out, &a.value(row).to_be_bytes()),
            Values::Oid(a) => {
                let oid = u32::try_from(a.value(row))
                    .map_err(|_| self.error(format!("{} is not an oid", a.value(row))))?;
                sized(out, &oid.to_be_bytes());
            }
            Values::F32(a) => sized(out, &a.value(row).to_be_bytes()),
            Values::F64(a) => sized(out, &a.value(row).to_be_bytes()),
            Values::Dec128(a, scale) => write_numeric_i128(out, a.value(row), *scale),
            Values::Dec256(a, scale) => write_numeric_i256(out, a.value(row), *scale),
            Values::NumericText(a) => {
                write_numeric_text(out, a.value(row)).map_err(|why| self.error(why))?;
            }
            Values::Text(a) => sized(out, a.value(row).as_bytes()),
            Values::Char(a) => {
                let text = a.value(row);
                if text.len() > 1 {
                    return Err(self.error(format!("`{text}` is longer than one byte (\"char\")")));
                }
                sized(out, text.as_bytes());
            }
            Values::Uuid(a) => {
                let uuid = parse_uuid(a.value(row))
                    .ok_or_else(|| self.error(format!("`{}` is not a uuid", a.value(row))))?;
                sized(out, &uuid);
            }
            Values::Jsonb(a) => {
                let text = a.value(row).as_bytes();
                out.extend_from_slice(&(text.len() as i32 + 1).to_be_bytes());
                out.push(1);
                out.extend_from_slice(text);
            }
            Values::Binary(a) => sized(out, a.value(row)),
            Values::Date(a) => {
                let days = a
                    .value(row)
                    .checked_sub(EPOCH_DAYS)
                    .ok_or_else(|| self.error("a date out of PostgreSQL's range"))?;
                sized(out, &days.to_be_bytes());
            }
            Values::Time(a) => sized(out, &a.value(row).to_be_bytes()),
            Values::Timestamp(a) => {
                let micros = a
                    .value(row)
                    .checked_sub(EPOCH_MICROS)
                    .ok_or_else(|| self.error("a timestamp out of PostgreSQL's range"))?;
                sized(out, &micros.to_be_bytes());
            }
            Values::Interval(a) => {
                let v = a.value(row);
                out.extend_from_slice(&16i32.to_be_bytes());
                out.extend_from_slice(&(v.nanoseconds / 1000).to_be_bytes());
                out.extend_from_slice(&v.days.to_be_bytes());
                out.extend_from_slice(&v.months.to_be_bytes());
            }
            Values::List(list, oid, element) => {
                let offsets = list.value_offsets();
                let (start, end) = (offsets[row] as usize, offsets[row + 1] as usize);
                let length_at = out.len();
                out.extend_from_slice(&0i32.to_be_bytes());
                let body = out.len();
                if start == end {
                    out.extend_from_slice(&0i32.to_be_bytes());
                    out.extend_from_slice(&0i32.to_be_bytes());
                    out.extend_from_slice(&oid.to_be_bytes());
                } else {
                    let values = list.values();
                    let has_nulls = (start..end).any(|i| values.is_null(i));
                    out.extend_from_slice(&1i32.to_be_bytes());
                    out.extend_from_slice(&i32::from(has_nulls).to_be_bytes());
                    out.extend_from_slice(&oid.to_be_bytes());
                    out.extend_from_slice(&((end - start) as i32).to_be_bytes());
                    out.extend_from_slice(&1i32.to_be_bytes());
                    for i in start..end {
                        element.write(i, out)?;
                    }
                }
                let length = (out.len() - body) as i32;
                out[length_at..length_at + 4].copy_from_slice(&length.to_be_bytes());
            }
        }
        Ok(())
    }
}

/// The type OID of an array's elements, which binary array values carry.
fn element_oid(ty: &PgType) -> u32 {
    match ty {
        PgType::Bool => 16,
        PgType::Bytea => 17,
        PgType::Char => 18,
        PgType::Int8 => 20,
        PgType::Int2 => 21,
        PgType::Int4 => 23,
        PgType::Oid => 26,
        PgType::Json => 114,
        PgType::Float4 => 700,
        PgType::Float8 => 701,
        PgType::Date => 1082,
        PgType::Time => 1083,
        PgType::Timestamp => 1114,
        PgType::TimestampTz => 1184,
        PgType::Interval => 1186,
        PgType::Numeric(_) => 1700,
        PgType::Uuid => 2950,
        PgType::Jsonb => 3802,
        PgType::Text(Some(declared))
            if declared.starts_with("character varying") || declared.starts_with("varchar") =>
        {
            1043
        }
        PgType::Text(Some(declared))
            if declared.starts_with("char") || declared.starts_with("bpchar") =>
        {
            1042
        }
        PgType::Text(Some(declared)) if declared == "name" => 19,
        PgType::Text(_) => 25,
        // Nested arrays are refused when the column is planned.
        PgType::Array(_) => 0,
    }
}

/// The 16 bytes of a uuid written with or without hyphens (and braces).
fn parse_uuid(text: &str) -> Option<[u8; 16]> {
    let text = text.trim().trim_start_matches('{').trim_end_matches('}');
    let hex: Vec<u8> = text.bytes().filter(|b| *b != b'-').collect();
    if hex.len() != 32 {
        return None;
    }
    let mut out = [0u8; 16];
    for (i, pair) in hex.chunks(2).enumerate() {
        let digit = |b: u8| (b as char).to_digit(16);
        out[i] = u8::try_from(digit(pair[0])? * 16 + digit(pair[1])?).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{Int32Array, ListArray};
    use arrow_schema::{DataType, Field, Schema};

    use super::super::decode::CopyDecoder;
    use super::*;

    #[test]
    fn uuids_parse_in_every_usual_spelling() {
        let plain = parse_uuid("a0eebc999c0b4ef8bb6d6bb9bd380a11");
        assert_eq!(plain, parse_uuid("{A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11}"));
        assert_eq!(plain.map(|u| u[0]), Some(0xa0));
        assert_eq!(parse_uuid("not-a-uuid"), None);
    }

    /// What the encoder writes, the decoder reads back unchanged (lists with NULLs, empty
    /// lists, and text), fed to it one byte at a time.
    #[test]
    fn a_batch_round_trips_through_the_copy_format() {
        let list = ListArray::from_iter_primitive::<arrow_array::types::Int32Type, _, _>(vec![
            Some(vec![Some(1), None, Some(3)]),
            None,
            Some(vec![]),
        ]);
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int32, true),
            Field::new("xs", list.data_type().clone(), true),
            Field::new("t", DataType::Utf8, true),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(Int32Array::from(vec![Some(1), None, Some(3)])),
                Arc::new(list),
                Arc::new(StringArray::from(vec![Some("å"), Some(""), None])),
            ],
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let types = [
            PgType::Int4,
            PgType::Array(Box::new(PgType::Int4)),
            PgType::Text(None),
        ];
        let mut out = header();
        encode_batch(&batch, &types, &mut out).unwrap_or_else(|e| panic!("{e}"));
        out.extend_from_slice(&trailer());
        let mut decoder = CopyDecoder::new(schema, &types, 100);
        for byte in &out {
            assert!(
                decoder
                    .push(std::slice::from_ref(byte))
                    .unwrap_or_else(|e| panic!("{e}"))
                    .is_empty()
            );
        }
        assert!(decoder.ended());
        assert_eq!(decoder.finish().unwrap_or_else(|e| panic!("{e}")), batch);
    }
}
