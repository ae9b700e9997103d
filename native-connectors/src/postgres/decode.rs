//! PostgreSQL's binary COPY format read straight into Arrow builders.
//!
//! The stream is a header (`PGCOPY\n\xff\r\n\0`, flags, extension), then per row a 16-bit
//! field count and per field a 32-bit length (-1 for NULL) and the value in the type's
//! binary send format, then a trailer of -1. [`CopyDecoder`] takes the stream in chunks of
//! any size and hands out a batch whenever `batch_size` rows are in.

use std::sync::Arc;

use arrow_array::builder::{
    BinaryBuilder, BooleanBuilder, Date32Builder, Decimal128Builder, Decimal256Builder,
    Float32Builder, Float64Builder, Int16Builder, Int32Builder, Int64Builder,
    IntervalMonthDayNanoBuilder, StringBuilder, Time64MicrosecondBuilder,
    TimestampMicrosecondBuilder,
};
use arrow_array::types::IntervalMonthDayNano;
use arrow_array::{ArrayRef, ListArray, RecordBatch};
use arrow_buffer::{NullBufferBuilder, OffsetBuffer};
use arrow_schema::{DataType, FieldRef, SchemaRef};

use super::numeric::{NumericValue, parse_numeric};
use super::types::PgType;

/// The 11-byte signature opening every binary COPY stream.
pub const SIGNATURE: &[u8; 11] = b"PGCOPY\n\xff\r\n\0";
/// Days from 1970-01-01 (Arrow) to 2000-01-01 (PostgreSQL).
pub const EPOCH_DAYS: i32 = 10_957;
/// Microseconds from 1970-01-01 to 2000-01-01.
pub const EPOCH_MICROS: i64 = 946_684_800_000_000;

/// What went wrong decoding, with the column to blame when there is one.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct DecodeError {
    /// What is wrong and what to do.
    pub message: String,
}

fn fail<T>(message: impl Into<String>) -> Result<T, DecodeError> {
    Err(DecodeError {
        message: message.into(),
    })
}

/// Turns a binary COPY stream into record batches.
pub struct CopyDecoder {
    schema: SchemaRef,
    columns: Vec<ColumnDecoder>,
    buffer: Vec<u8>,
    /// How far into `buffer` has been decoded.
    read: usize,
    header_seen: bool,
    trailer_seen: bool,
    rows: usize,
    batch_size: usize,
}

impl CopyDecoder {
    /// A decoder for rows of `types`, one per field of `schema`.
    pub fn new(schema: SchemaRef, types: &[PgType], batch_size: usize) -> CopyDecoder {
        let columns = schema
            .fields()
            .iter()
            .zip(types)
            .map(|(field, ty)| ColumnDecoder::new(field.name(), ty, batch_size))
            .collect();
        CopyDecoder {
            schema,
            columns,
            buffer: Vec::new(),
            read: 0,
            header_seen: false,
            trailer_seen: false,
            rows: 0,
            batch_size: batch_size.max(1),
        }
    }

    /// Decodes `chunk`; returns the batches it completed.
    ///
    /// # Errors
    /// A malformed stream, or a value Arrow cannot hold (the column is named).
    pub fn push(&mut self, chunk: &[u8]) -> Result<Vec<RecordBatch>, DecodeError> {
        if self.read == self.buffer.len() {
            self.buffer.clear();
            self.read = 0;
        } else if self.read > 0 {
            self.buffer.drain(..self.read);
            self.read = 0;
        }
        self.buffer.extend_from_slice(chunk);
        let mut batches = Vec::new();
        if !self.header_seen {
            if self.buffer.len() < SIGNATURE.len() + 8 {
                return Ok(batches);
            }
            if &self.buffer[..SIGNATURE.len()] != SIGNATURE {
                return fail("the server's COPY stream is not in binary format");
            }
            let at = SIGNATURE.len() + 4;
            let extension = be_i32(&self.buffer[at..at + 4]);
            let Ok(extension) = usize::try_from(extension) else {
                return fail("a malformed COPY header");
            };
            let header = at + 4 + extension;
            if self.buffer.len() < header {
                return Ok(batches);
            }
            self.read = header;
            self.header_seen = true;
        }
        while let Some(end) = self.complete_row()? {
            if end == usize::MAX {
                self.trailer_seen = true;
                self.read = self.buffer.len();
                break;
            }
            let mut at = self.read + 2;
            for column in &mut self.columns {
                let length = be_i32(&self.buffer[at..at + 4]);
                at += 4;
                if length < 0 {
                    column.append_null();
                } else {
                    let length = length as usize;
                    column.append(&self.buffer[at..at + length])?;
                    at += length;
                }
            }
            self.read = end;
            self.rows += 1;
            if self.rows >= self.batch_size {
                batches.push(self.finish()?);
            }
        }
        Ok(batches)
    }

    /// The end of the next row when all of it is in, `usize::MAX` at the trailer.
    fn complete_row(&self) -> Result<Option<usize>, DecodeError> {
        let data = &self.buffer[self.read..];
        if self.trailer_seen || data.len() < 2 {
            return Ok(None);
        }
        let fields = i16::from_be_bytes([data[0], data[1]]);
        if fields == -1 {
            return Ok(Some(usize::MAX));
        }
        if fields as usize != self.columns.len() {
            return fail(format!(
                "a COPY row has {fields} fields where {} were asked for",
                self.columns.len()
            ));
        }
        let mut at = 2;
        for _ in 0..fields {
            if data.len() < at + 4 {
                return Ok(None);
            }
            let length = be_i32(&data[at..at + 4]);
            at += 4 + usize::try_from(length).unwrap_or(0);
            if data.len() < at {
                return Ok(None);
            }
        }
        Ok(Some(self.read + at))
    }

    /// The rows decoded since the last batch, as a batch (possibly empty).
    ///
    /// # Errors
    /// When the arrays do not make a batch of the schema (a bug).
    pub fn finish(&mut self) -> Result<RecordBatch, DecodeError> {
        let arrays: Vec<ArrayRef> = self.columns.iter_mut().map(ColumnDecoder::finish).collect();
        self.rows = 0;
        RecordBatch::try_new(self.schema.clone(), arrays).map_err(|e| DecodeError {
            message: format!("assembling a batch: {e}"),
        })
    }

    /// Rows decoded since the last batch.
    pub fn pending(&self) -> usize {
        self.rows
    }

    /// Whether the stream's trailer has been read.
    pub fn ended(&self) -> bool {
        self.trailer_seen
    }
}

fn be_i32(bytes: &[u8]) -> i32 {
    i32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])
}

fn be_i64(bytes: &[u8]) -> i64 {
    i64::from_be_bytes([
        bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
    ])
}

/// One column's builder and how its values are read.
struct ColumnDecoder {
    name: String,
    ty: PgType,
    builder: Builder,
}

enum Builder {
    Bool(BooleanBuilder),
    I16(Int16Builder),
    I32(Int32Builder),
    I64(Int64Builder),
    F32(Float32Builder),
    F64(Float64Builder),
    Dec128(Decimal128Builder, i8),
    Dec256(Decimal256Builder, i8),
    Text(StringBuilder),
    Binary(BinaryBuilder),
    Date(Date32Builder),
    Time(Time64MicrosecondBuilder),
    Timestamp(TimestampMicrosecondBuilder),
    Interval(IntervalMonthDayNanoBuilder),
    List {
        field: FieldRef,
        offsets: Vec<i32>,
        nulls: NullBufferBuilder,
        element: Box<ColumnDecoder>,
    },
}

impl ColumnDecoder {
    fn new(name: &str, ty: &PgType, capacity: usize) -> ColumnDecoder {
        let builder = match (ty, ty.arrow()) {
            (_, DataType::Boolean) => Builder::Bool(BooleanBuilder::with_capacity(capacity)),
            (_, DataType::Int16) => Builder::I16(Int16Builder::with_capacity(capacity)),
            (_, DataType::Int32) => Builder::I32(Int32Builder::with_capacity(capacity)),
            (_, DataType::Int64) => Builder::I64(Int64Builder::with_capacity(capacity)),
            (_, DataType::Float32) => Builder::F32(Float32Builder::with_capacity(capacity)),
            (_, DataType::Float64) => Builder::F64(Float64Builder::with_capacity(capacity)),
            (_, DataType::Decimal128(p, s)) => Builder::Dec128(
                Decimal128Builder::with_capacity(capacity)
                    .with_data_type(DataType::Decimal128(p, s)),
                s,
            ),
            (_, DataType::Decimal256(p, s)) => Builder::Dec256(
                Decimal256Builder::with_capacity(capacity)
                    .with_data_type(DataType::Decimal256(p, s)),
                s,
            ),
            (_, DataType::Binary) => Builder::Binary(BinaryBuilder::new()),
            (_, DataType::Date32) => Builder::Date(Date32Builder::with_capacity(capacity)),
            (_, DataType::Time64(_)) => {
                Builder::Time(Time64MicrosecondBuilder::with_capacity(capacity))
            }
            (_, DataType::Timestamp(_, zone)) => Builder::Timestamp(
                TimestampMicrosecondBuilder::with_capacity(capacity).with_timezone_opt(zone),
            ),
            (_, DataType::Interval(_)) => {
                Builder::Interval(IntervalMonthDayNanoBuilder::with_capacity(capacity))
            }
            (PgType::Array(element), DataType::List(field)) => Builder::List {
                field,
                offsets: vec![0],
                nulls: NullBufferBuilder::new(capacity),
                element: Box::new(ColumnDecoder::new(name, element, capacity)),
            },
            _ => Builder::Text(StringBuilder::new()),
        };
        ColumnDecoder {
            name: name.to_string(),
            ty: ty.clone(),
            builder,
        }
    }

    fn append_null(&mut self) {
        match &mut self.builder {
            Builder::Bool(b) => b.append_null(),
            Builder::I16(b) => b.append_null(),
            Builder::I32(b) => b.append_null(),
            Builder::I64(b) => b.append_null(),
            Builder::F32(b) => b.append_null(),
            Builder::F64(b) => b.append_null(),
            Builder::Dec128(b, _) => b.append_null(),
            Builder::Dec256(b, _) => b.append_null(),
            Builder::Text(b) => b.append_null(),
            Builder::Binary(b) => b.append_null(),
            Builder::Date(b) => b.append_null(),
            Builder::Time(b) => b.append_null(),
            Builder::Timestamp(b) => b.append_null(),
            Builder::Interval(b) => b.append_null(),
            Builder::List { offsets, nulls, .. } => {
                offsets.push(*offsets.last().unwrap_or(&0));
                nulls.append_null();
            }
        }
    }

    fn wrong_size<T>(&self, bytes: &[u8]) -> Result<T, DecodeError> {
        fail(format!(
            "column `{}` ({}): a value of {} bytes is not a valid {}",
            self.name,
            self.ty,
            bytes.len(),
            self.ty
        ))
    }

    fn append(&mut self, bytes: &[u8]) -> Result<(), DecodeError> {
        let fixed = |n: usize| bytes.len() == n;
        // Values that need the column's name or type to decode come first.
        match &self.builder {
            Builder::Dec128(_, scale) => {
                let value = self.numeric(bytes)?.to_i128(*scale);
                let Some(value) = value else {
                    return self.numeric_too_large();
                };
                if let Builder::Dec128(b, _) = &mut self.builder {
                    b.append_value(value);
                }
                return Ok(());
            }
            Builder::Dec256(_, scale) => {
                let value = self.numeric(bytes)?.to_i256(*scale);
                let Some(value) = value else {
                    return self.numeric_too_large();
                };
                if let Builder::Dec256(b, _) = &mut self.builder {
                    b.append_value(value);
                }
                return Ok(());
            }
            Builder::Text(_) => {
                let text = self.text(bytes)?;
                if let Builder::Text(b) = &mut self.builder {
                    b.append_value(&*text);
                }
                return Ok(());
            }
            _ => {}
        }
        match &mut self.builder {
            Builder::Bool(b) if fixed(1) => b.append_value(bytes[0] != 0),
            Builder::I16(b) if fixed(2) => b.append_value(i16::from_be_bytes([bytes[0], bytes[1]])),
            Builder::I32(b) if fixed(4) => b.append_value(be_i32(bytes)),
            Builder::I64(b) if fixed(8) => b.append_value(be_i64(bytes)),
            // oid: an unsigned 32-bit number.
            Builder::I64(b) if fixed(4) => b.append_value(i64::from(be_i32(bytes) as u32)),
            Builder::F32(b) if fixed(4) => b.append_value(f32::from_bits(be_i32(bytes) as u32)),
            Builder::F64(b) if fixed(8) => b.append_value(f64::from_bits(be_i64(bytes) as u64)),
            Builder::Binary(b) => b.append_value(bytes),
            Builder::Date(b) if fixed(4) => {
                let days = be_i32(bytes);
                if days == i32::MAX || days == i32::MIN {
                    return self.infinity();
                }
                match days.checked_add(EPOCH_DAYS) {
                    Some(d) => b.append_value(d),
                    None => return self.infinity(),
                }
            }
            Builder::Time(b) if fixed(8) => b.append_value(be_i64(bytes)),
            Builder::Timestamp(b) if fixed(8) => {
                let micros = be_i64(bytes);
                if micros == i64::MAX || micros == i64::MIN {
                    return self.infinity();
                }
                match micros.checked_add(EPOCH_MICROS) {
                    Some(m) => b.append_value(m),
                    None => return self.infinity(),
                }
            }
            Builder::Interval(b) if fixed(16) => {
                let micros = be_i64(&bytes[..8]);
                let days = be_i32(&bytes[8..12]);
                let months = be_i32(&bytes[12..16]);
                b.append_value(IntervalMonthDayNano::new(
                    months,
                    days,
                    micros.saturating_mul(1000),
                ));
            }
            Builder::List {
                offsets,
                nulls,
                element,
                ..
            } => {
                let count = decode_array(&self.name, element, bytes)?;
                let last = *offsets.last().unwrap_or(&0);
                let Some(next) = i32::try_from(count).ok().and_then(|c| last.checked_add(c)) else {
                    return fail(format!(
                        "column `{}`: too many array elements in one batch",
                        self.name
                    ));
                };
                offsets.push(next);
                nulls.append_non_null();
            }
            _ => return self.wrong_size(bytes),
        }
        Ok(())
    }

    /// A text-like value: UTF-8 bytes, or a uuid, jsonb or unconstrained numeric as text.
    fn text<'a>(&self, bytes: &'a [u8]) -> Result<std::borrow::Cow<'a, str>, DecodeError> {
        let text_bytes = match self.ty {
            PgType::Numeric(_) => return Ok(self.numeric(bytes)?.to_string().into()),
            PgType::Uuid if bytes.len() == 16 => return Ok(format_uuid(bytes).into()),
            PgType::Uuid => return self.wrong_size(bytes),
            // jsonb's binary form is a version byte (1) and the JSON text.
            PgType::Jsonb if bytes.first() == Some(&1) => &bytes[1..],
            PgType::Jsonb => {
                return fail(format!(
                    "column `{}`: a jsonb value of an unknown binary version",
                    self.name
                ));
            }
            _ => bytes,
        };
        match std::str::from_utf8(text_bytes) {
            Ok(text) => Ok(text.into()),
            Err(_) => fail(format!(
                "column `{}` ({}) holds a value that is not UTF-8",
                self.name, self.ty
            )),
        }
    }

    fn numeric(&self, bytes: &[u8]) -> Result<NumericValue, DecodeError> {
        match parse_numeric(bytes) {
            Ok(NumericValue::Special(what)) => fail(
                format!(
                    "column `{}` holds {what}, which a decimal cannot hold",
                    self.name
                ) + &format!(
                    "; read it as text with `query:` and {}::text, or filter it out",
                    super::dialect::quote(&self.name)
                ),
            ),
            Ok(value) => Ok(value),
            Err(why) => fail(format!("column `{}`: {why}", self.name)),
        }
    }

    fn numeric_too_large<T>(&self) -> Result<T, DecodeError> {
        fail(format!(
            "column `{}` ({}) holds a value with more digits than its type",
            self.name, self.ty
        ))
    }

    fn infinity<T>(&self) -> Result<T, DecodeError> {
        fail(format!(
            "column `{}` ({}) holds infinity (or a value out of Arrow's range), which Arrow \
             cannot hold; read it with `query:` and NULLIF({}, 'infinity'), or as {}::text",
            self.name,
            self.ty,
            super::dialect::quote(&self.name),
            super::dialect::quote(&self.name)
        ))
    }

    fn finish(&mut self) -> ArrayRef {
        match &mut self.builder {
            Builder::Bool(b) => Arc::new(b.finish()),
            Builder::I16(b) => Arc::new(b.finish()),
            Builder::I32(b) => Arc::new(b.finish()),
            Builder::I64(b) => Arc::new(b.finish()),
            Builder::F32(b) => Arc::new(b.finish()),
            Builder::F64(b) => Arc::new(b.finish()),
            Builder::Dec128(b, _) => Arc::new(b.finish()),
            Builder::Dec256(b, _) => Arc::new(b.finish()),
            Builder::Text(b) => Arc::new(b.finish()),
            Builder::Binary(b) => Arc::new(b.finish()),
            Builder::Date(b) => Arc::new(b.finish()),
            Builder::Time(b) => Arc::new(b.finish()),
            Builder::Timestamp(b) => Arc::new(b.finish()),
            Builder::Interval(b) => Arc::new(b.finish()),
            Builder::List {
                field,
                offsets,
                nulls,
                element,
            } => {
                let values = element.finish();
                let offsets = OffsetBuffer::new(std::mem::replace(offsets, vec![0]).into());
                Arc::new(ListArray::new(
                    field.clone(),
                    offsets,
                    values,
                    nulls.finish(),
                ))
            }
        }
    }
}

/// Decodes an array value's elements into `element`; returns how many there were.
fn decode_array(
    column: &str,
    element: &mut ColumnDecoder,
    bytes: &[u8],
) -> Result<usize, DecodeError> {
    let malformed = || DecodeError {
        message: format!("column `{column}`: a malformed array value"),
    };
    if bytes.len() < 12 {
        return Err(malformed());
    }
    let dimensions = be_i32(&bytes[0..4]);
    match dimensions {
        0 => return Ok(0),
        1 => {}
        n => {
            return fail(format!(
                "column `{column}` holds a {n}-dimensional array; hygge reads one-dimensional \
                 arrays as lists (unnest it, or read it as text with `query:`)"
            ));
        }
    }
    if bytes.len() < 20 {
        return Err(malformed());
    }
    let count = usize::try_from(be_i32(&bytes[12..16])).map_err(|_| malformed())?;
    let mut at = 20;
    for _ in 0..count {
        let length = be_i32(bytes.get(at..at + 4).ok_or_else(malformed)?);
        at += 4;
        if length < 0 {
            element.append_null();
        } else {
            let end = at + length as usize;
            element.append(bytes.get(at..end).ok_or_else(malformed)?)?;
            at = end;
        }
    }
    Ok(count)
}

/// `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`, lower case, as PostgreSQL prints a uuid.
fn format_uuid(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(36);
    for (i, byte) in bytes.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            text.push('-');
        }
        text.push(HEX[usize::from(byte >> 4)] as char);
        text.push(HEX[usize::from(byte & 0xf)] as char);
    }
    text
}
