//! Values on the wire (MS-TDS 2.2.5.5 TYPE_VARBYTE): encoding for ROW tokens,
//! decoding of RPC parameters and bulk-load rows, and skipping over a value.

use super::reader::{DecodeError, DecodeResult, Reader, utf16_to_string};
use super::wire_type::{WireType, code, fixed_size, time_len};
use super::{guid_from_wire, guid_to_wire};
use crate::types::temporal::{TICKS_PER_DAY, normalise};
use crate::types::{Decimal, Value, cp1252};

/// PLP length meaning NULL.
const PLP_NULL: u64 = u64::MAX;
/// PLP length meaning "unknown, read chunks".
const PLP_UNKNOWN: u64 = u64::MAX - 1;
/// Largest PLP chunk the server writes (values longer than this are chunked).
pub(crate) const PLP_CHUNK: usize = 8000;
/// Text pointer the server sends for TEXT/NTEXT/IMAGE values.
const TEXT_POINTER: [u8; 16] = *b"hygge-textptr-01";

/// A value that does not fit the TYPE_INFO it is encoded with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EncodeError(pub(crate) String);

fn mismatch(wt: &WireType, v: &Value) -> EncodeError {
    EncodeError(format!("cannot encode {v:?} as {wt:?}"))
}

/// Skips one value; returns whether it was NULL.
#[inline]
pub(crate) fn skip_value(wt: &WireType, r: &mut Reader<'_>) -> DecodeResult<bool> {
    match *wt {
        WireType::Null => Ok(true),
        WireType::Fixed(c) => {
            r.skip(fixed_size(c))?;
            Ok(false)
        }
        WireType::ByteLen(..)
        | WireType::Decimal { .. }
        | WireType::Date
        | WireType::Scaled(..) => {
            let n = r.u8()?;
            r.skip(usize::from(n))?;
            Ok(n == 0)
        }
        WireType::Chars { max_len, .. } | WireType::Bytes { max_len, .. } => {
            if max_len == 0xFFFF {
                skip_plp(r)
            } else {
                let n = r.u16()?;
                if n == 0xFFFF {
                    return Ok(true);
                }
                r.skip(usize::from(n))?;
                Ok(false)
            }
        }
        WireType::Short { .. } => {
            let n = r.u8()?;
            if n == 0xFF {
                return Ok(true);
            }
            r.skip(usize::from(n))?;
            Ok(false)
        }
        WireType::Long { .. } => {
            let ptr = r.u8()?;
            if ptr == 0 {
                return Ok(true);
            }
            r.skip(usize::from(ptr) + 8)?;
            let n = r.u32()?;
            r.skip(n as usize)?;
            Ok(false)
        }
        WireType::Xml => skip_plp(r),
        WireType::Variant(_) => {
            let n = r.u32()?;
            r.skip(n as usize)?;
            Ok(n == 0)
        }
    }
}

fn skip_plp(r: &mut Reader<'_>) -> DecodeResult<bool> {
    let total = r.u64()?;
    if total == PLP_NULL {
        return Ok(true);
    }
    loop {
        let chunk = r.u32()?;
        if chunk == 0 {
            return Ok(false);
        }
        r.skip(chunk as usize)?;
    }
}

fn read_plp(r: &mut Reader<'_>) -> DecodeResult<Option<Vec<u8>>> {
    let total = r.u64()?;
    if total == PLP_NULL {
        return Ok(None);
    }
    let mut data = if total == PLP_UNKNOWN {
        Vec::new()
    } else {
        Vec::with_capacity((total as usize).min(1 << 24))
    };
    loop {
        let chunk = r.u32()?;
        if chunk == 0 {
            break;
        }
        data.extend_from_slice(r.bytes(chunk as usize)?);
    }
    if total != PLP_UNKNOWN && total != data.len() as u64 {
        return Err(DecodeError::invalid("PLP length does not match its chunks"));
    }
    Ok(Some(data))
}

fn int_le(b: &[u8]) -> i64 {
    match b.len() {
        1 => i64::from(b[0]),
        2 => i64::from(i16::from_le_bytes([b[0], b[1]])),
        4 => i64::from(i32::from_le_bytes([b[0], b[1], b[2], b[3]])),
        _ => {
            let mut a = [0u8; 8];
            a.copy_from_slice(&b[..8]);
            i64::from_le_bytes(a)
        }
    }
}

fn uint_le(b: &[u8]) -> u64 {
    b.iter()
        .rev()
        .fold(0u64, |acc, &x| (acc << 8) | u64::from(x))
}

fn decode_fixed(c: u8, b: &[u8]) -> DecodeResult<Value> {
    Ok(match (c, b.len()) {
        (code::INT1, 1) => Value::Int(i64::from(b[0])),
        (code::BIT, 1) | (code::BITN, 1) => Value::Bool(b[0] != 0),
        (code::INT2 | code::INT4 | code::INT8 | code::INTN, 1 | 2 | 4 | 8) => {
            if c == code::INTN && b.len() == 1 {
                Value::Int(i64::from(b[0]))
            } else {
                Value::Int(int_le(b))
            }
        }
        (code::FLT4 | code::FLTN, 4) => {
            Value::Float(f64::from(f32::from_le_bytes([b[0], b[1], b[2], b[3]])))
        }
        (code::FLT8 | code::FLTN, 8) => Value::Float(f64::from_bits(uint_le(b))),
        (code::MONEY | code::MONEYN, 8) => {
            let hi = i64::from(i32::from_le_bytes([b[0], b[1], b[2], b[3]]));
            let lo = i64::from(u32::from_le_bytes([b[4], b[5], b[6], b[7]]));
            Value::Money((hi << 32) | lo)
        }
        (code::MONEY4 | code::MONEYN, 4) => Value::Money(int_le(b)),
        (code::DATETIME | code::DATETIMN, 8) => Value::DateTime {
            days: i32::from_le_bytes([b[0], b[1], b[2], b[3]]),
            t300: u32::from_le_bytes([b[4], b[5], b[6], b[7]]),
        },
        (code::DATETIM4 | code::DATETIMN, 4) => Value::SmallDateTime {
            days: u16::from_le_bytes([b[0], b[1]]),
            minutes: u16::from_le_bytes([b[2], b[3]]),
        },
        (code::GUID, 16) => {
            let mut wire = [0u8; 16];
            wire.copy_from_slice(b);
            Value::Guid(guid_from_wire(&wire))
        }
        _ => {
            return Err(DecodeError::invalid(format!(
                "invalid length {} for type 0x{c:02X}",
                b.len()
            )));
        }
    })
}

fn decode_decimal(b: &[u8], scale: u8) -> DecodeResult<Value> {
    let (&sign, magnitude) = b
        .split_first()
        .ok_or_else(|| DecodeError::invalid("empty decimal"))?;
    if magnitude.len() > 16 {
        return Err(DecodeError::invalid("decimal value too long"));
    }
    let mut m: u128 = 0;
    for &x in magnitude.iter().rev() {
        m = (m << 8) | u128::from(x);
    }
    let v = i128::try_from(m).map_err(|_| DecodeError::invalid("decimal out of range"))?;
    Ok(Value::Decimal(Decimal {
        value: if sign == 0 { -v } else { v },
        scale,
    }))
}

fn ticks_from_scaled(v: u64, scale: u8) -> u64 {
    v * 10u64.pow(u32::from(7 - scale.min(7)))
}

fn decode_scaled(c: u8, scale: u8, b: &[u8]) -> DecodeResult<Value> {
    let tl = time_len(scale);
    let time = |t: &[u8]| -> DecodeResult<u64> {
        let ticks = ticks_from_scaled(uint_le(t), scale);
        if ticks >= TICKS_PER_DAY {
            return Err(DecodeError::invalid("time of day out of range"));
        }
        Ok(ticks)
    };
    let bad = || DecodeError::invalid(format!("invalid length {} for type 0x{c:02X}", b.len()));
    match c {
        code::TIMEN if b.len() == tl => Ok(Value::Time(time(b)?)),
        code::DATETIME2N if b.len() == tl + 3 => Ok(Value::DateTime2 {
            ticks: time(&b[..tl])?,
            days: uint_le(&b[tl..]) as i32,
        }),
        code::DATETIMEOFFSETN if b.len() == tl + 5 => {
            let utc_ticks = time(&b[..tl])?;
            let utc_days = uint_le(&b[tl..tl + 3]) as i64;
            let offset = i16::from_le_bytes([b[tl + 3], b[tl + 4]]);
            let (days, ticks) =
                normalise(utc_days, utc_ticks as i64 + i64::from(offset) * 600_000_000);
            Ok(Value::DateTimeOffset {
                days: days as i32,
                ticks,
                offset,
            })
        }
        _ => Err(bad()),
    }
}

fn decode_chars(unicode: bool, b: &[u8]) -> DecodeResult<Value> {
    if unicode {
        utf16_to_string(b).map(Value::String)
    } else {
        Ok(Value::String(cp1252::decode(b)))
    }
}

fn is_unicode(c: u8) -> bool {
    matches!(c, code::NCHAR | code::NVARCHAR | code::NTEXT)
}

/// Decodes one value.
pub(crate) fn decode_value(wt: &WireType, r: &mut Reader<'_>) -> DecodeResult<Value> {
    match *wt {
        WireType::Null => Ok(Value::Null),
        WireType::Fixed(c) => decode_fixed(c, r.bytes(fixed_size(c))?),
        WireType::ByteLen(c, _) => {
            let n = r.u8()?;
            if n == 0 {
                return Ok(Value::Null);
            }
            decode_fixed(c, r.bytes(usize::from(n))?)
        }
        WireType::Decimal { scale, .. } => {
            let n = r.u8()?;
            if n == 0 {
                return Ok(Value::Null);
            }
            decode_decimal(r.bytes(usize::from(n))?, scale)
        }
        WireType::Date => {
            let n = r.u8()?;
            match n {
                0 => Ok(Value::Null),
                3 => Ok(Value::Date(uint_le(r.bytes(3)?) as i32)),
                _ => Err(DecodeError::invalid("invalid date length")),
            }
        }
        WireType::Scaled(c, scale) => {
            let n = r.u8()?;
            if n == 0 {
                return Ok(Value::Null);
            }
            decode_scaled(c, scale, r.bytes(usize::from(n))?)
        }
        WireType::Chars {
            code: c, max_len, ..
        } => {
            let data = if max_len == 0xFFFF {
                match read_plp(r)? {
                    Some(d) => d,
                    None => return Ok(Value::Null),
                }
            } else {
                let n = r.u16()?;
                if n == 0xFFFF {
                    return Ok(Value::Null);
                }
                r.bytes(usize::from(n))?.to_vec()
            };
            decode_chars(is_unicode(c), &data)
        }
        WireType::Bytes { max_len, .. } => {
            if max_len == 0xFFFF {
                Ok(read_plp(r)?.map(Value::Binary).unwrap_or(Value::Null))
            } else {
                let n = r.u16()?;
                if n == 0xFFFF {
                    return Ok(Value::Null);
                }
                Ok(Value::Binary(r.bytes(usize::from(n))?.to_vec()))
            }
        }
        WireType::Short { code: c, .. } => {
            let n = r.u8()?;
            if n == 0xFF {
                return Ok(Value::Null);
            }
            let b = r.bytes(usize::from(n))?;
            if c == code::CHAR || c == code::VARCHAR {
                Ok(Value::String(cp1252::decode(b)))
            } else {
                Ok(Value::Binary(b.to_vec()))
            }
        }
        WireType::Long { code: c, .. } => {
            let ptr = r.u8()?;
            if ptr == 0 {
                return Ok(Value::Null);
            }
            r.skip(usize::from(ptr) + 8)?;
            let n = r.u32()? as usize;
            let b = r.bytes(n)?;
            if c == code::IMAGE {
                Ok(Value::Binary(b.to_vec()))
            } else {
                decode_chars(is_unicode(c), b)
            }
        }
        WireType::Xml => match read_plp(r)? {
            None => Ok(Value::Null),
            Some(d) => {
                let d = d.strip_prefix(&[0xFF, 0xFE]).unwrap_or(&d);
                decode_chars(true, d)
            }
        },
        WireType::Variant(_) => {
            let n = r.u32()? as usize;
            if n == 0 {
                return Ok(Value::Null);
            }
            let body = r.bytes(n)?;
            decode_variant(body)
        }
    }
}

fn decode_variant(body: &[u8]) -> DecodeResult<Value> {
    let mut r = Reader::new(body);
    let base = r.u8()?;
    let props = usize::from(r.u8()?);
    let prop_bytes = r.bytes(props)?;
    let data = &body[2 + props..];
    match base {
        code::INT1
        | code::BIT
        | code::INT2
        | code::INT4
        | code::INT8
        | code::FLT4
        | code::FLT8
        | code::MONEY
        | code::MONEY4
        | code::DATETIME
        | code::DATETIM4
        | code::GUID => decode_fixed(base, data),
        code::DECIMALN | code::NUMERICN => {
            let scale = *prop_bytes
                .get(1)
                .ok_or_else(|| DecodeError::invalid("variant decimal without scale"))?;
            decode_decimal(data, scale)
        }
        code::DATEN => Ok(Value::Date(uint_le(data) as i32)),
        code::TIMEN | code::DATETIME2N | code::DATETIMEOFFSETN => {
            let scale = *prop_bytes
                .first()
                .ok_or_else(|| DecodeError::invalid("variant time without scale"))?;
            decode_scaled(base, scale, data)
        }
        code::BIGCHAR | code::BIGVARCHR => decode_chars(false, data),
        code::NCHAR | code::NVARCHAR => decode_chars(true, data),
        code::BIGBINARY | code::BIGVARBIN => Ok(Value::Binary(data.to_vec())),
        other => Err(DecodeError::invalid(format!(
            "unsupported sql_variant base type 0x{other:02X}"
        ))),
    }
}

fn put_plp(out: &mut Vec<u8>, data: &[u8]) {
    out.extend_from_slice(&(data.len() as u64).to_le_bytes());
    for chunk in data.chunks(PLP_CHUNK) {
        out.extend_from_slice(&(chunk.len() as u32).to_le_bytes());
        out.extend_from_slice(chunk);
    }
    out.extend_from_slice(&0u32.to_le_bytes());
}

fn put_utf16(out: &mut Vec<u8>, s: &str) {
    out.reserve(s.len() * 2);
    for u in s.encode_utf16() {
        out.extend_from_slice(&u.to_le_bytes());
    }
}

fn put_uint(out: &mut Vec<u8>, v: u64, len: usize) {
    out.extend_from_slice(&v.to_le_bytes()[..len]);
}

fn put_decimal(out: &mut Vec<u8>, d: &Decimal, size: u8) {
    out.push(size);
    out.push(u8::from(d.value >= 0));
    let m = d.value.unsigned_abs().to_le_bytes();
    out.extend_from_slice(&m[..usize::from(size - 1)]);
}

fn put_fixed(out: &mut Vec<u8>, c: u8, size: usize, v: &Value) -> Option<()> {
    match (c, v) {
        (code::BIT | code::BITN, Value::Bool(b)) => out.push(u8::from(*b)),
        (code::INT1 | code::INT2 | code::INT4 | code::INT8 | code::INTN, Value::Int(i)) => {
            out.extend_from_slice(&i.to_le_bytes()[..size]);
        }
        (code::FLT4 | code::FLTN, Value::Float(f)) if size == 4 => {
            out.extend_from_slice(&(*f as f32).to_le_bytes());
        }
        (code::FLT8 | code::FLTN, Value::Float(f)) => out.extend_from_slice(&f.to_le_bytes()),
        (code::MONEY | code::MONEYN, Value::Money(m)) if size == 8 => {
            out.extend_from_slice(&((*m >> 32) as i32).to_le_bytes());
            out.extend_from_slice(&(*m as u32).to_le_bytes());
        }
        (code::MONEY4 | code::MONEYN, Value::Money(m)) => {
            out.extend_from_slice(&(*m as i32).to_le_bytes());
        }
        (code::DATETIME | code::DATETIMN, Value::DateTime { days, t300 }) if size == 8 => {
            out.extend_from_slice(&days.to_le_bytes());
            out.extend_from_slice(&t300.to_le_bytes());
        }
        (code::DATETIM4 | code::DATETIMN, Value::SmallDateTime { days, minutes }) => {
            out.extend_from_slice(&days.to_le_bytes());
            out.extend_from_slice(&minutes.to_le_bytes());
        }
        (code::GUID, Value::Guid(g)) => out.extend_from_slice(&guid_to_wire(g)),
        _ => return None,
    }
    Some(())
}

fn scaled_time(ticks: u64, scale: u8) -> u64 {
    ticks / 10u64.pow(u32::from(7 - scale.min(7)))
}

/// Encodes `v`, which must already have the canonical form of the column
/// type (see `types::convert`), as a ROW value of `wt`.
pub(crate) fn encode_value(wt: &WireType, v: &Value, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    let null = v.is_null();
    match *wt {
        WireType::Null => {
            if !null {
                return Err(mismatch(wt, v));
            }
        }
        WireType::Fixed(c) => {
            put_fixed(out, c, fixed_size(c), v).ok_or_else(|| mismatch(wt, v))?;
        }
        WireType::ByteLen(c, size) => {
            if null {
                out.push(0);
            } else {
                out.push(size);
                put_fixed(out, c, usize::from(size), v).ok_or_else(|| mismatch(wt, v))?;
            }
        }
        WireType::Decimal { size, scale, .. } => match v {
            Value::Null => out.push(0),
            Value::Decimal(d) if d.scale == scale => put_decimal(out, d, size),
            _ => return Err(mismatch(wt, v)),
        },
        WireType::Date => match v {
            Value::Null => out.push(0),
            Value::Date(d) => {
                out.push(3);
                put_uint(out, *d as u64, 3);
            }
            _ => return Err(mismatch(wt, v)),
        },
        WireType::Scaled(c, scale) => {
            let tl = time_len(scale);
            match (c, v) {
                (_, Value::Null) => out.push(0),
                (code::TIMEN, Value::Time(t)) => {
                    out.push(tl as u8);
                    put_uint(out, scaled_time(*t, scale), tl);
                }
                (code::DATETIME2N, Value::DateTime2 { days, ticks }) => {
                    out.push(tl as u8 + 3);
                    put_uint(out, scaled_time(*ticks, scale), tl);
                    put_uint(out, *days as u64, 3);
                }
                (
                    code::DATETIMEOFFSETN,
                    Value::DateTimeOffset {
                        days,
                        ticks,
                        offset,
                    },
                ) => {
                    let (udays, uticks) = normalise(
                        i64::from(*days),
                        *ticks as i64 - i64::from(*offset) * 600_000_000,
                    );
                    out.push(tl as u8 + 5);
                    put_uint(out, scaled_time(uticks, scale), tl);
                    put_uint(out, udays as u64, 3);
                    out.extend_from_slice(&offset.to_le_bytes());
                }
                _ => return Err(mismatch(wt, v)),
            }
        }
        WireType::Chars {
            code: c, max_len, ..
        } => {
            let Value::String(s) = v else {
                return if null {
                    out.extend_from_slice(if max_len == 0xFFFF {
                        &[0xFF; 8]
                    } else {
                        &[0xFF; 2]
                    });
                    Ok(())
                } else {
                    Err(mismatch(wt, v))
                };
            };
            let mut data = Vec::new();
            let bytes: &[u8] = if is_unicode(c) {
                put_utf16(&mut data, s);
                &data
            } else if s.is_ascii() {
                s.as_bytes()
            } else {
                cp1252::encode_into(s, &mut data);
                &data
            };
            if max_len == 0xFFFF {
                put_plp(out, bytes);
            } else {
                if bytes.len() > usize::from(max_len) {
                    return Err(EncodeError(format!(
                        "value of {} bytes exceeds the column's {max_len}",
                        bytes.len()
                    )));
                }
                out.extend_from_slice(&(bytes.len() as u16).to_le_bytes());
                out.extend_from_slice(bytes);
            }
        }
        WireType::Bytes { max_len, .. } => match v {
            Value::Null => out.extend_from_slice(if max_len == 0xFFFF {
                &[0xFF; 8]
            } else {
                &[0xFF; 2]
            }),
            Value::Binary(b) if max_len == 0xFFFF => put_plp(out, b),
            Value::Binary(b) if b.len() <= usize::from(max_len) => {
                out.extend_from_slice(&(b.len() as u16).to_le_bytes());
                out.extend_from_slice(b);
            }
            _ => return Err(mismatch(wt, v)),
        },
        WireType::Short { code: c, .. } => match v {
            Value::Null => out.push(0xFF),
            Value::String(s) if c == code::CHAR || c == code::VARCHAR => {
                let mut data = Vec::new();
                cp1252::encode_into(s, &mut data);
                out.push(data.len().min(255) as u8);
                out.extend_from_slice(&data[..data.len().min(255)]);
            }
            Value::Binary(b) => {
                out.push(b.len().min(255) as u8);
                out.extend_from_slice(&b[..b.len().min(255)]);
            }
            _ => return Err(mismatch(wt, v)),
        },
        WireType::Long { code: c, .. } => {
            let data = match v {
                Value::Null => {
                    out.push(0);
                    return Ok(());
                }
                Value::String(s) if c == code::NTEXT => {
                    let mut d = Vec::new();
                    put_utf16(&mut d, s);
                    d
                }
                Value::String(s) if c == code::TEXT => {
                    let mut d = Vec::new();
                    cp1252::encode_into(s, &mut d);
                    d
                }
                Value::Binary(b) if c == code::IMAGE => b.clone(),
                _ => return Err(mismatch(wt, v)),
            };
            out.push(TEXT_POINTER.len() as u8);
            out.extend_from_slice(&TEXT_POINTER);
            // Timestamp.
            out.extend_from_slice(&[0u8; 8]);
            out.extend_from_slice(&(data.len() as u32).to_le_bytes());
            out.extend_from_slice(&data);
        }
        WireType::Xml => match v {
            Value::Null => out.extend_from_slice(&[0xFF; 8]),
            Value::String(s) => {
                let mut d = Vec::new();
                put_utf16(&mut d, s);
                put_plp(out, &d);
            }
            _ => return Err(mismatch(wt, v)),
        },
        WireType::Variant(_) => encode_variant(v, out)?,
    }
    Ok(())
}

fn encode_variant(v: &Value, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    let mut body = Vec::new();
    match v {
        Value::Null => {
            out.extend_from_slice(&0u32.to_le_bytes());
            return Ok(());
        }
        Value::Int(i) => {
            if let Ok(small) = i32::try_from(*i) {
                body.extend_from_slice(&[code::INT4, 0]);
                body.extend_from_slice(&small.to_le_bytes());
            } else {
                body.extend_from_slice(&[code::INT8, 0]);
                body.extend_from_slice(&i.to_le_bytes());
            }
        }
        Value::Bool(b) => body.extend_from_slice(&[code::BIT, 0, u8::from(*b)]),
        Value::Float(f) => {
            body.extend_from_slice(&[code::FLT8, 0]);
            body.extend_from_slice(&f.to_le_bytes());
        }
        Value::Decimal(d) => {
            body.extend_from_slice(&[code::NUMERICN, 2, 38, d.scale]);
            let mut tmp = Vec::new();
            put_decimal(&mut tmp, d, 17);
            body.extend_from_slice(&tmp[1..]);
        }
        Value::String(s) => {
            let mut d = Vec::new();
            put_utf16(&mut d, s);
            if d.len() > 8000 {
                return Err(EncodeError(
                    "sql_variant string longer than 8000 bytes".into(),
                ));
            }
            body.push(code::NVARCHAR);
            body.push(7);
            body.extend_from_slice(&super::wire_type::COLLATION);
            body.extend_from_slice(&8000u16.to_le_bytes());
            body.extend_from_slice(&d);
        }
        Value::Binary(b) if b.len() <= 8000 => {
            body.extend_from_slice(&[code::BIGVARBIN, 2]);
            body.extend_from_slice(&8000u16.to_le_bytes());
            body.extend_from_slice(b);
        }
        Value::Guid(g) => {
            body.extend_from_slice(&[code::GUID, 0]);
            body.extend_from_slice(&guid_to_wire(g));
        }
        Value::Date(d) => {
            body.extend_from_slice(&[code::DATEN, 0]);
            put_uint(&mut body, *d as u64, 3);
        }
        Value::DateTime2 { days, ticks } => {
            body.extend_from_slice(&[code::DATETIME2N, 1, 7]);
            put_uint(&mut body, *ticks, 5);
            put_uint(&mut body, *days as u64, 3);
        }
        other => {
            return Err(EncodeError(format!(
                "sql_variant cannot hold {other:?} in this server"
            )));
        }
    }
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend_from_slice(&body);
    Ok(())
}

/// Whether a wire value of `wt` with the raw bytes in `span` can be copied
/// as-is into a column stored with the same TYPE_INFO: checks lengths,
/// decimal precision and time range.
pub(crate) fn copyable(wt: &WireType, span: &[u8], is_null: bool) -> bool {
    if is_null {
        return true;
    }
    match *wt {
        WireType::Fixed(_) | WireType::Date => true,
        WireType::ByteLen(_, size) => span.first() == Some(&size),
        WireType::Decimal {
            size, precision, ..
        } => {
            if span.first() != Some(&size) || span.len() < 2 {
                return false;
            }
            let mut m: u128 = 0;
            for &x in span[2..].iter().rev() {
                m = (m << 8) | u128::from(x);
            }
            m < crate::types::pow10(precision).unsigned_abs()
        }
        WireType::Scaled(_, scale) => {
            let tl = time_len(scale);
            match span.split_first() {
                Some((&n, rest)) if usize::from(n) >= tl && rest.len() >= tl => {
                    ticks_from_scaled(uint_le(&rest[..tl]), scale) < TICKS_PER_DAY
                }
                _ => false,
            }
        }
        // Varying-length character/binary data within the column's length;
        // CHAR/NCHAR/BINARY need padding, so they are never copied.
        WireType::Chars {
            code: c, max_len, ..
        } => {
            if max_len == 0xFFFF {
                return c == code::BIGVARCHR;
            }
            (c == code::BIGVARCHR || c == code::NVARCHAR)
                && span.len() >= 2
                && u16::from_le_bytes([span[0], span[1]]) <= max_len
                && (c == code::BIGVARCHR || span.len().is_multiple_of(2))
        }
        WireType::Bytes { code: c, max_len } => {
            c == code::BIGVARBIN
                && (max_len == 0xFFFF
                    || (span.len() >= 2 && u16::from_le_bytes([span[0], span[1]]) <= max_len))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::SqlType;
    use crate::types::temporal::days_from_civil;

    fn round_trip(ty: SqlType, v: Value) {
        let wt = WireType::for_column(ty, true);
        let mut buf = Vec::new();
        encode_value(&wt, &v, &mut buf).unwrap();
        let mut r = Reader::new(&buf);
        assert_eq!(decode_value(&wt, &mut r).unwrap(), v, "{ty}");
        assert_eq!(r.remaining(), 0);
        let mut r = Reader::new(&buf);
        assert_eq!(skip_value(&wt, &mut r).unwrap(), v.is_null());
        assert_eq!(r.remaining(), 0);
    }

    #[test]
    fn chunked_plp_input_is_reassembled() {
        let wt = WireType::for_column(SqlType::NVarChar(None), true);
        let text = "chunked 😀 text";
        let bytes: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
        // Unknown total length, three chunks of odd sizes, terminator.
        let mut wire = Vec::new();
        wire.extend_from_slice(&PLP_UNKNOWN.to_le_bytes());
        for chunk in [&bytes[..3], &bytes[3..10], &bytes[10..]] {
            wire.extend_from_slice(&(chunk.len() as u32).to_le_bytes());
            wire.extend_from_slice(chunk);
        }
        wire.extend_from_slice(&0u32.to_le_bytes());
        let mut r = Reader::new(&wire);
        assert_eq!(
            decode_value(&wt, &mut r).unwrap(),
            Value::String(text.into())
        );
        assert_eq!(r.remaining(), 0);
        // A known total that disagrees with the chunks is rejected.
        let mut bad = wire.clone();
        bad[..8].copy_from_slice(&5u64.to_le_bytes());
        assert!(decode_value(&wt, &mut Reader::new(&bad)).is_err());
        // Values longer than one chunk are written in several chunks.
        let mut out = Vec::new();
        encode_value(&wt, &Value::String("x".repeat(PLP_CHUNK)), &mut out).unwrap();
        let first_chunk = u32::from_le_bytes([out[8], out[9], out[10], out[11]]) as usize;
        assert_eq!(first_chunk, PLP_CHUNK);
        assert_eq!(out.len(), 8 + 2 * (4 + PLP_CHUNK) + 4);
    }

    #[test]
    fn values_round_trip() {
        let days = days_from_civil(2024, 1, 2).unwrap();
        round_trip(SqlType::Int, Value::Int(-5));
        round_trip(SqlType::BigInt, Value::Int(i64::MIN));
        round_trip(SqlType::Int, Value::Null);
        round_trip(
            SqlType::Decimal {
                precision: 38,
                scale: 10,
            },
            Value::Decimal(Decimal {
                value: -12_345_678_901_234_567_890_123_456_789,
                scale: 10,
            }),
        );
        round_trip(SqlType::Money, Value::Money(-1_234_567_890_123));
        round_trip(SqlType::SmallMoney, Value::Money(-12_345));
        round_trip(
            SqlType::DateTime2(7),
            Value::DateTime2 {
                days,
                ticks: 123_456_789_012,
            },
        );
        round_trip(
            SqlType::DateTimeOffset(7),
            Value::DateTimeOffset {
                days,
                ticks: 10_000_000,
                offset: 120,
            },
        );
        round_trip(SqlType::Time(3), Value::Time(12_340_000));
        round_trip(SqlType::NVarChar(Some(10)), Value::String("héllo😀".into()));
        round_trip(SqlType::NVarChar(None), Value::String("x".repeat(20_000)));
        round_trip(SqlType::VarChar(Some(10)), Value::String("café".into()));
        round_trip(SqlType::VarBinary(None), Value::Binary(vec![7; 9000]));
        round_trip(SqlType::NText, Value::String("ntext".into()));
        round_trip(SqlType::Image, Value::Binary(vec![1, 2]));
        round_trip(SqlType::Xml, Value::String("<a/>".into()));
        round_trip(SqlType::UniqueIdentifier, Value::Guid([9; 16]));
        round_trip(SqlType::SqlVariant, Value::Int(7));
        round_trip(SqlType::SqlVariant, Value::String("v".into()));
        round_trip(SqlType::Real, Value::Float(1.5));
        round_trip(SqlType::Bit, Value::Bool(true));
    }
}
