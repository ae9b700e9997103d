//! RPC requests (MS-TDS 2.2.6.6): procedure and typed parameters.

use super::codec::decode_value;
use super::reader::{DecodeResult, Reader};
use super::wire_type::WireType;
use crate::types::{SqlType, Value};

/// Well-known procedure ids.
pub(crate) mod proc_id {
    pub(crate) const EXECUTESQL: u16 = 10;
    pub(crate) const PREPARE: u16 = 11;
    pub(crate) const EXECUTE: u16 = 12;
    pub(crate) const PREPEXEC: u16 = 13;
    pub(crate) const UNPREPARE: u16 = 15;
}

/// Which procedure an RPC calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Procedure {
    /// By id (`sp_executesql` = 10, …).
    Id(u16),
    /// By name.
    Name(String),
}

impl Procedure {
    /// The procedure id, mapping the well-known names to their ids.
    pub(crate) fn id(&self) -> Option<u16> {
        match self {
            Procedure::Id(id) => Some(*id),
            Procedure::Name(name) => {
                let lower = name.to_ascii_lowercase();
                let bare = lower
                    .rsplit('.')
                    .next()
                    .unwrap_or(&lower)
                    .trim_matches(|c| c == '[' || c == ']');
                match bare {
                    "sp_executesql" => Some(proc_id::EXECUTESQL),
                    "sp_prepare" => Some(proc_id::PREPARE),
                    "sp_execute" => Some(proc_id::EXECUTE),
                    "sp_prepexec" => Some(proc_id::PREPEXEC),
                    "sp_unprepare" => Some(proc_id::UNPREPARE),
                    _ => None,
                }
            }
        }
    }

    /// A name for messages.
    pub(crate) fn name(&self) -> String {
        match self {
            Procedure::Id(proc_id::EXECUTESQL) => "sp_executesql".into(),
            Procedure::Id(proc_id::PREPARE) => "sp_prepare".into(),
            Procedure::Id(proc_id::EXECUTE) => "sp_execute".into(),
            Procedure::Id(proc_id::PREPEXEC) => "sp_prepexec".into(),
            Procedure::Id(proc_id::UNPREPARE) => "sp_unprepare".into(),
            Procedure::Id(other) => format!("procedure #{other}"),
            Procedure::Name(n) => n.clone(),
        }
    }
}

/// One RPC parameter.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Param {
    /// Name as sent (may be empty or lack the `@`).
    pub(crate) name: String,
    /// Declared type (from TYPE_INFO; `None` for an untyped NULL).
    pub(crate) ty: Option<SqlType>,
    /// Value.
    pub(crate) value: Value,
    /// Whether it is an output parameter.
    pub(crate) output: bool,
}

/// A decoded RPC request (the first of a batch of RPCs).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RpcRequest {
    /// The procedure.
    pub(crate) procedure: Procedure,
    /// Its parameters.
    pub(crate) params: Vec<Param>,
}

/// Skips ALL_HEADERS if present (TDS 7.2+ always sends them).
pub(crate) fn skip_all_headers(r: &mut Reader<'_>) -> DecodeResult<()> {
    let save = r.pos();
    let total = r.u32()? as usize;
    // A plausible ALL_HEADERS length is small and at least 4; otherwise there is none.
    if (4..=r.remaining() + 4).contains(&total) && total < 4096 {
        r.seek(save + total)
    } else {
        r.seek(save)
    }
}

/// Parses an RPC payload (several RPCs separated by 0x80/0xFF are cut at the first).
pub(crate) fn parse(payload: &[u8]) -> DecodeResult<RpcRequest> {
    let mut r = Reader::new(payload);
    skip_all_headers(&mut r)?;
    let name_len = r.u16()?;
    let procedure = if name_len == 0xFFFF {
        Procedure::Id(r.u16()?)
    } else {
        Procedure::Name(r.utf16(usize::from(name_len))?)
    };
    let _options = r.u16()?;
    let mut params = Vec::new();
    while r.remaining() > 0 {
        let next = r.slice()[r.pos()];
        if next == 0x80 || next == 0xFF || next == 0xFE {
            break;
        }
        let name = r.b_varchar()?;
        let status = r.u8()?;
        let wire = WireType::decode(&mut r, false)?;
        let value = decode_value(&wire, &mut r)?;
        params.push(Param {
            name,
            ty: wire.sql_type(),
            value,
            output: status & 0x01 != 0,
        });
    }
    Ok(RpcRequest { procedure, params })
}
