//! The bulk-load message (MS-TDS 2.2.6.1): COLMETADATA, ROW/NBCROW tokens, DONE.
//!
//! Parsing works on a growing buffer: [`next_item`] returns
//! [`DecodeError::Incomplete`] when a row continues in a packet not yet received.

use super::codec::skip_value;
use super::reader::{DecodeError, DecodeResult, Reader};
use super::tokens::token;
use super::wire_type::WireType;

/// One column the client sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BulkColumn {
    /// Column name.
    pub(crate) name: String,
    /// TYPE_INFO the client encodes values with.
    pub(crate) wire: WireType,
}

/// Parses the COLMETADATA token at the start of a bulk-load message.
pub(crate) fn parse_metadata(r: &mut Reader<'_>) -> DecodeResult<Vec<BulkColumn>> {
    let t = r.u8()?;
    if t != token::COLMETADATA {
        return Err(DecodeError::invalid(format!(
            "bulk load must start with COLMETADATA, got token 0x{t:02X}"
        )));
    }
    let count = r.u16()?;
    let mut columns = Vec::with_capacity(usize::from(count));
    for _ in 0..count {
        let _user_type = r.u32()?;
        let _flags = r.u16()?;
        let wire = WireType::decode(r, true)?;
        let name = r.b_varchar()?;
        columns.push(BulkColumn { name, wire });
    }
    Ok(columns)
}

/// A span of one value inside the buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct ValueSpan {
    /// Start offset.
    pub(crate) start: usize,
    /// End offset.
    pub(crate) end: usize,
    /// Whether the value is NULL.
    pub(crate) null: bool,
}

/// What comes next in the bulk stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BulkItem {
    /// A row; the spans were written into the caller's slice.
    Row,
    /// The DONE token that ends the load.
    Done,
}

/// Reads the next token; for a row fills `spans` (one per column).
#[inline]
pub(crate) fn next_item(
    r: &mut Reader<'_>,
    columns: &[BulkColumn],
    spans: &mut [ValueSpan],
) -> DecodeResult<BulkItem> {
    let t = r.u8()?;
    match t {
        token::ROW => {
            for (c, span) in columns.iter().zip(spans.iter_mut()) {
                let start = r.pos();
                let null = skip_value(&c.wire, r)?;
                *span = ValueSpan {
                    start,
                    end: r.pos(),
                    null,
                };
            }
            Ok(BulkItem::Row)
        }
        token::NBCROW => {
            let bitmap_len = columns.len().div_ceil(8);
            let bitmap = r.bytes(bitmap_len)?;
            for (i, (c, span)) in columns.iter().zip(spans.iter_mut()).enumerate() {
                let start = r.pos();
                if bitmap[i / 8] & (1 << (i % 8)) != 0 {
                    *span = ValueSpan {
                        start,
                        end: start,
                        null: true,
                    };
                } else {
                    let null = skip_value(&c.wire, r)?;
                    *span = ValueSpan {
                        start,
                        end: r.pos(),
                        null,
                    };
                }
            }
            Ok(BulkItem::Row)
        }
        token::DONE => {
            r.skip(2 + 2 + 8)?;
            Ok(BulkItem::Done)
        }
        other => Err(DecodeError::invalid(format!(
            "unexpected token 0x{other:02X} in bulk load data"
        ))),
    }
}
