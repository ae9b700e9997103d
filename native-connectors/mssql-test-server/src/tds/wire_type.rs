//! TYPE_INFO: how a column or parameter type is described on the wire
//! (MS-TDS 2.2.5.4), and its mapping to and from [`SqlType`].

use super::reader::{DecodeError, DecodeResult, Reader};
use crate::types::SqlType;

/// The collation of character data: `SQL_Latin1_General_CP1_CI_AS`
/// (LCID 0x0409, flags 0xD0 = ignore case/kana/width, sort id 52, code page 1252).
pub(crate) const COLLATION: [u8; 5] = [0x09, 0x04, 0xD0, 0x00, 0x34];

/// Type codes (MS-TDS 2.2.5.4.1 - 2.2.5.4.3).
pub(crate) mod code {
    pub(crate) const NULL: u8 = 0x1F;
    pub(crate) const INT1: u8 = 0x30;
    pub(crate) const BIT: u8 = 0x32;
    pub(crate) const INT2: u8 = 0x34;
    pub(crate) const INT4: u8 = 0x38;
    pub(crate) const DATETIM4: u8 = 0x3A;
    pub(crate) const FLT4: u8 = 0x3B;
    pub(crate) const MONEY: u8 = 0x3C;
    pub(crate) const DATETIME: u8 = 0x3D;
    pub(crate) const FLT8: u8 = 0x3E;
    pub(crate) const MONEY4: u8 = 0x7A;
    pub(crate) const INT8: u8 = 0x7F;
    pub(crate) const GUID: u8 = 0x24;
    pub(crate) const INTN: u8 = 0x26;
    pub(crate) const BITN: u8 = 0x68;
    pub(crate) const DECIMALN: u8 = 0x6A;
    pub(crate) const NUMERICN: u8 = 0x6C;
    pub(crate) const FLTN: u8 = 0x6D;
    pub(crate) const MONEYN: u8 = 0x6E;
    pub(crate) const DATETIMN: u8 = 0x6F;
    pub(crate) const DATEN: u8 = 0x28;
    pub(crate) const TIMEN: u8 = 0x29;
    pub(crate) const DATETIME2N: u8 = 0x2A;
    pub(crate) const DATETIMEOFFSETN: u8 = 0x2B;
    pub(crate) const BIGVARBIN: u8 = 0xA5;
    pub(crate) const BIGVARCHR: u8 = 0xA7;
    pub(crate) const BIGBINARY: u8 = 0xAD;
    pub(crate) const BIGCHAR: u8 = 0xAF;
    pub(crate) const NVARCHAR: u8 = 0xE7;
    pub(crate) const NCHAR: u8 = 0xEF;
    pub(crate) const XML: u8 = 0xF1;
    pub(crate) const TEXT: u8 = 0x23;
    pub(crate) const IMAGE: u8 = 0x22;
    pub(crate) const NTEXT: u8 = 0x63;
    pub(crate) const SSVARIANT: u8 = 0x62;
    pub(crate) const VARBINARY: u8 = 0x25;
    pub(crate) const VARCHAR: u8 = 0x27;
    pub(crate) const BINARY: u8 = 0x2D;
    pub(crate) const CHAR: u8 = 0x2F;
}

/// A decoded TYPE_INFO.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum WireType {
    /// NULLTYPE: an untyped NULL parameter.
    Null,
    /// A fixed-length type (INT1, INT4, FLT8, MONEY, DATETIME, …), by code.
    Fixed(u8),
    /// INTN / BITN / FLTN / MONEYN / DATETIMN / GUID: code and maximum size.
    ByteLen(u8, u8),
    /// DECIMALN / NUMERICN.
    Decimal {
        /// Type code.
        code: u8,
        /// Maximum value size in bytes (5, 9, 13 or 17).
        size: u8,
        /// Precision.
        precision: u8,
        /// Scale.
        scale: u8,
    },
    /// DATEN.
    Date,
    /// TIMEN / DATETIME2N / DATETIMEOFFSETN with their scale.
    Scaled(u8, u8),
    /// BIGCHAR / BIGVARCHR / NCHAR / NVARCHAR (max_len 0xFFFF = MAX, in bytes).
    Chars {
        /// Type code.
        code: u8,
        /// Maximum length in bytes, 0xFFFF for MAX.
        max_len: u16,
        /// Collation bytes.
        collation: [u8; 5],
    },
    /// BIGBINARY / BIGVARBIN (0xFFFF = MAX).
    Bytes {
        /// Type code.
        code: u8,
        /// Maximum length in bytes, 0xFFFF for MAX.
        max_len: u16,
    },
    /// Legacy single-byte-length CHAR / VARCHAR / BINARY / VARBINARY.
    Short {
        /// Type code.
        code: u8,
        /// Maximum length in bytes.
        max_len: u8,
        /// Collation for the character types.
        collation: Option<[u8; 5]>,
    },
    /// TEXT / NTEXT / IMAGE.
    Long {
        /// Type code.
        code: u8,
        /// Maximum length in bytes.
        max_len: u32,
        /// Collation for TEXT / NTEXT.
        collation: Option<[u8; 5]>,
    },
    /// XML (always PLP).
    Xml,
    /// SSVARIANT with its maximum length.
    Variant(u32),
}

/// Size of the value of a fixed-length type.
pub(crate) fn fixed_size(c: u8) -> usize {
    match c {
        code::INT1 | code::BIT => 1,
        code::INT2 => 2,
        code::INT4 | code::DATETIM4 | code::FLT4 | code::MONEY4 => 4,
        _ => 8,
    }
}

/// Bytes of a time value at a scale.
pub(crate) fn time_len(scale: u8) -> usize {
    match scale {
        0..=2 => 3,
        3..=4 => 4,
        _ => 5,
    }
}

/// Bytes of a DECIMALN value (sign included) for a precision.
pub(crate) fn decimal_size(precision: u8) -> u8 {
    match precision {
        0..=9 => 5,
        10..=19 => 9,
        20..=28 => 13,
        _ => 17,
    }
}

impl WireType {
    /// The TYPE_INFO the server uses for a column of `ty`: the fixed-length
    /// form for NOT NULL fixed types (as SQL Server does), the nullable form otherwise.
    pub(crate) fn for_column(ty: SqlType, nullable: bool) -> WireType {
        let fixed_or = |fixed: u8, n_code: u8, size: u8| {
            if nullable {
                WireType::ByteLen(n_code, size)
            } else {
                WireType::Fixed(fixed)
            }
        };
        let chars = |code: u8, len: Option<u16>, unit: u16| WireType::Chars {
            code,
            max_len: len.map(|n| n.saturating_mul(unit)).unwrap_or(0xFFFF),
            collation: COLLATION,
        };
        match ty {
            SqlType::Bit => fixed_or(code::BIT, code::BITN, 1),
            SqlType::TinyInt => fixed_or(code::INT1, code::INTN, 1),
            SqlType::SmallInt => fixed_or(code::INT2, code::INTN, 2),
            SqlType::Int => fixed_or(code::INT4, code::INTN, 4),
            SqlType::BigInt => fixed_or(code::INT8, code::INTN, 8),
            SqlType::Real => fixed_or(code::FLT4, code::FLTN, 4),
            SqlType::Float => fixed_or(code::FLT8, code::FLTN, 8),
            SqlType::Money => fixed_or(code::MONEY, code::MONEYN, 8),
            SqlType::SmallMoney => fixed_or(code::MONEY4, code::MONEYN, 4),
            SqlType::DateTime => fixed_or(code::DATETIME, code::DATETIMN, 8),
            SqlType::SmallDateTime => fixed_or(code::DATETIM4, code::DATETIMN, 4),
            SqlType::Decimal { precision, scale } => WireType::Decimal {
                code: code::DECIMALN,
                size: decimal_size(precision),
                precision,
                scale,
            },
            SqlType::Numeric { precision, scale } => WireType::Decimal {
                code: code::NUMERICN,
                size: decimal_size(precision),
                precision,
                scale,
            },
            SqlType::Date => WireType::Date,
            SqlType::Time(s) => WireType::Scaled(code::TIMEN, s),
            SqlType::DateTime2(s) => WireType::Scaled(code::DATETIME2N, s),
            SqlType::DateTimeOffset(s) => WireType::Scaled(code::DATETIMEOFFSETN, s),
            SqlType::Char(n) => chars(code::BIGCHAR, Some(n), 1),
            SqlType::VarChar(n) => chars(code::BIGVARCHR, n, 1),
            SqlType::NChar(n) => chars(code::NCHAR, Some(n), 2),
            SqlType::NVarChar(n) => chars(code::NVARCHAR, n, 2),
            SqlType::Binary(n) => WireType::Bytes {
                code: code::BIGBINARY,
                max_len: n,
            },
            SqlType::VarBinary(n) => WireType::Bytes {
                code: code::BIGVARBIN,
                max_len: n.unwrap_or(0xFFFF),
            },
            SqlType::Text => WireType::Long {
                code: code::TEXT,
                max_len: 0x7FFF_FFFF,
                collation: Some(COLLATION),
            },
            SqlType::NText => WireType::Long {
                code: code::NTEXT,
                max_len: 0x7FFF_FFFE,
                collation: Some(COLLATION),
            },
            SqlType::Image => WireType::Long {
                code: code::IMAGE,
                max_len: 0x7FFF_FFFF,
                collation: None,
            },
            SqlType::Xml => WireType::Xml,
            SqlType::UniqueIdentifier => WireType::ByteLen(code::GUID, 16),
            SqlType::SqlVariant => WireType::Variant(8016),
        }
    }

    /// The SQL type a client means with this TYPE_INFO (RPC parameters,
    /// bulk-load columns); `None` for NULLTYPE.
    pub(crate) fn sql_type(&self) -> Option<SqlType> {
        Some(match *self {
            WireType::Null => return None,
            WireType::Fixed(c) => match c {
                code::INT1 => SqlType::TinyInt,
                code::BIT => SqlType::Bit,
                code::INT2 => SqlType::SmallInt,
                code::INT4 => SqlType::Int,
                code::DATETIM4 => SqlType::SmallDateTime,
                code::FLT4 => SqlType::Real,
                code::MONEY => SqlType::Money,
                code::DATETIME => SqlType::DateTime,
                code::FLT8 => SqlType::Float,
                code::MONEY4 => SqlType::SmallMoney,
                _ => SqlType::BigInt,
            },
            WireType::ByteLen(c, size) => match (c, size) {
                (code::INTN, 1) => SqlType::TinyInt,
                (code::INTN, 2) => SqlType::SmallInt,
                (code::INTN, 4) => SqlType::Int,
                (code::INTN, _) => SqlType::BigInt,
                (code::BITN, _) => SqlType::Bit,
                (code::FLTN, 4) => SqlType::Real,
                (code::FLTN, _) => SqlType::Float,
                (code::MONEYN, 4) => SqlType::SmallMoney,
                (code::MONEYN, _) => SqlType::Money,
                (code::DATETIMN, 4) => SqlType::SmallDateTime,
                (code::DATETIMN, _) => SqlType::DateTime,
                _ => SqlType::UniqueIdentifier,
            },
            WireType::Decimal {
                code: c,
                precision,
                scale,
                ..
            } => {
                if c == code::NUMERICN {
                    SqlType::Numeric { precision, scale }
                } else {
                    SqlType::Decimal { precision, scale }
                }
            }
            WireType::Date => SqlType::Date,
            WireType::Scaled(c, s) => match c {
                code::TIMEN => SqlType::Time(s),
                code::DATETIME2N => SqlType::DateTime2(s),
                _ => SqlType::DateTimeOffset(s),
            },
            WireType::Chars {
                code: c, max_len, ..
            } => {
                let max = max_len == 0xFFFF;
                match c {
                    code::BIGCHAR => SqlType::Char(max_len.max(1)),
                    code::BIGVARCHR => SqlType::VarChar((!max).then_some(max_len.max(1))),
                    code::NCHAR => SqlType::NChar((max_len / 2).max(1)),
                    _ => SqlType::NVarChar((!max).then_some((max_len / 2).max(1))),
                }
            }
            WireType::Bytes { code: c, max_len } => {
                if c == code::BIGBINARY {
                    SqlType::Binary(max_len.max(1))
                } else {
                    SqlType::VarBinary((max_len != 0xFFFF).then_some(max_len.max(1)))
                }
            }
            WireType::Short {
                code: c, max_len, ..
            } => {
                let n = u16::from(max_len.max(1));
                match c {
                    code::CHAR => SqlType::Char(n),
                    code::VARCHAR => SqlType::VarChar(Some(n)),
                    code::BINARY => SqlType::Binary(n),
                    _ => SqlType::VarBinary(Some(n)),
                }
            }
            WireType::Long { code: c, .. } => match c {
                code::TEXT => SqlType::Text,
                code::NTEXT => SqlType::NText,
                _ => SqlType::Image,
            },
            WireType::Xml => SqlType::Xml,
            WireType::Variant(_) => SqlType::SqlVariant,
        })
    }

    /// Writes the TYPE_INFO. `table` is the table name TEXT/NTEXT/IMAGE carry
    /// in COLMETADATA.
    pub(crate) fn encode(&self, out: &mut Vec<u8>, table: &str) {
        match *self {
            WireType::Null => out.push(code::NULL),
            WireType::Fixed(c) => out.push(c),
            WireType::ByteLen(c, size) => out.extend_from_slice(&[c, size]),
            WireType::Decimal {
                code: c,
                size,
                precision,
                scale,
            } => out.extend_from_slice(&[c, size, precision, scale]),
            WireType::Date => out.push(code::DATEN),
            WireType::Scaled(c, s) => out.extend_from_slice(&[c, s]),
            WireType::Chars {
                code: c,
                max_len,
                collation,
            } => {
                out.push(c);
                out.extend_from_slice(&max_len.to_le_bytes());
                out.extend_from_slice(&collation);
            }
            WireType::Bytes { code: c, max_len } => {
                out.push(c);
                out.extend_from_slice(&max_len.to_le_bytes());
            }
            WireType::Short {
                code: c,
                max_len,
                collation,
            } => {
                out.extend_from_slice(&[c, max_len]);
                if let Some(collation) = collation {
                    out.extend_from_slice(&collation);
                }
            }
            WireType::Long {
                code: c,
                max_len,
                collation,
            } => {
                out.push(c);
                out.extend_from_slice(&max_len.to_le_bytes());
                if let Some(collation) = collation {
                    out.extend_from_slice(&collation);
                }
                // TDS 7.2+: NumParts and the parts of the table name.
                out.push(1);
                let units: Vec<u16> = table.encode_utf16().collect();
                out.extend_from_slice(&(units.len() as u16).to_le_bytes());
                out.extend(units.iter().flat_map(|u| u.to_le_bytes()));
            }
            WireType::Xml => out.extend_from_slice(&[code::XML, 0]),
            WireType::Variant(max) => {
                out.push(code::SSVARIANT);
                out.extend_from_slice(&max.to_le_bytes());
            }
        }
    }

    /// Reads a TYPE_INFO. In a bulk-load COLMETADATA (`bulk`), TEXT/NTEXT/IMAGE
    /// carry the table name as one US_VARCHAR (what tiberius and FreeTDS send);
    /// in an RPC parameter they carry none.
    pub(crate) fn decode(r: &mut Reader<'_>, bulk: bool) -> DecodeResult<WireType> {
        let c = r.u8()?;
        Ok(match c {
            code::NULL => WireType::Null,
            code::INT1
            | code::BIT
            | code::INT2
            | code::INT4
            | code::DATETIM4
            | code::FLT4
            | code::MONEY
            | code::DATETIME
            | code::FLT8
            | code::MONEY4
            | code::INT8 => WireType::Fixed(c),
            code::INTN | code::BITN | code::FLTN | code::MONEYN | code::DATETIMN | code::GUID => {
                let size = r.u8()?;
                let ok = match c {
                    code::INTN => matches!(size, 1 | 2 | 4 | 8),
                    code::BITN => size == 1,
                    code::FLTN | code::MONEYN | code::DATETIMN => matches!(size, 4 | 8),
                    _ => size == 16,
                };
                if !ok {
                    return Err(DecodeError::invalid(format!(
                        "invalid size {size} for type 0x{c:02X}"
                    )));
                }
                WireType::ByteLen(c, size)
            }
            code::DECIMALN | code::NUMERICN => {
                let size = r.u8()?;
                let precision = r.u8()?;
                let scale = r.u8()?;
                if !(1..=38).contains(&precision) || scale > precision || !(2..=17).contains(&size)
                {
                    return Err(DecodeError::invalid("invalid decimal type"));
                }
                WireType::Decimal {
                    code: c,
                    size,
                    precision,
                    scale,
                }
            }
            code::DATEN => WireType::Date,
            code::TIMEN | code::DATETIME2N | code::DATETIMEOFFSETN => {
                let scale = r.u8()?;
                if scale > 7 {
                    return Err(DecodeError::invalid("invalid time scale"));
                }
                WireType::Scaled(c, scale)
            }
            code::BIGCHAR | code::BIGVARCHR | code::NCHAR | code::NVARCHAR => {
                let max_len = r.u16()?;
                let collation = r.array()?;
                WireType::Chars {
                    code: c,
                    max_len,
                    collation,
                }
            }
            code::BIGBINARY | code::BIGVARBIN => WireType::Bytes {
                code: c,
                max_len: r.u16()?,
            },
            code::CHAR | code::VARCHAR | code::BINARY | code::VARBINARY => {
                let max_len = r.u8()?;
                let collation = if c == code::CHAR || c == code::VARCHAR {
                    Some(r.array()?)
                } else {
                    None
                };
                WireType::Short {
                    code: c,
                    max_len,
                    collation,
                }
            }
            code::TEXT | code::NTEXT | code::IMAGE => {
                let max_len = r.u32()?;
                let collation = if c == code::IMAGE {
                    None
                } else {
                    Some(r.array()?)
                };
                if bulk {
                    let n = r.u16()?;
                    r.skip(usize::from(n) * 2)?;
                }
                WireType::Long {
                    code: c,
                    max_len,
                    collation,
                }
            }
            code::XML => {
                let has_schema = r.u8()?;
                if has_schema != 0 {
                    r.b_varchar()?;
                    r.b_varchar()?;
                    r.us_varchar()?;
                }
                WireType::Xml
            }
            code::SSVARIANT => WireType::Variant(r.u32()?),
            other => {
                return Err(DecodeError::invalid(format!(
                    "unsupported TYPE_INFO 0x{other:02X}"
                )));
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_types_round_trip_through_type_info() {
        let types = [
            SqlType::Int,
            SqlType::BigInt,
            SqlType::Decimal {
                precision: 38,
                scale: 10,
            },
            SqlType::DateTime2(7),
            SqlType::DateTimeOffset(3),
            SqlType::NVarChar(Some(40)),
            SqlType::NVarChar(None),
            SqlType::VarChar(Some(10)),
            SqlType::VarBinary(None),
            SqlType::Money,
            SqlType::Text,
            SqlType::Xml,
            SqlType::UniqueIdentifier,
            SqlType::SqlVariant,
        ];
        for ty in types {
            for nullable in [true, false] {
                let wt = WireType::for_column(ty, nullable);
                let mut buf = Vec::new();
                wt.encode(&mut buf, "t");
                let mut r = Reader::new(&buf);
                // COLMETADATA text types carry NumParts; skip via non-bulk decode.
                let back = WireType::decode(&mut r, false).unwrap();
                assert_eq!(back.sql_type(), Some(ty), "{ty}");
            }
        }
    }
}
