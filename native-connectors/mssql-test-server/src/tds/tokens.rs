//! Encoders of the response tokens (MS-TDS 2.2.7).

use super::wire_type::WireType;
use crate::error::SqlError;

/// Token bytes.
pub(crate) mod token {
    pub(crate) const COLMETADATA: u8 = 0x81;
    pub(crate) const ERROR: u8 = 0xAA;
    pub(crate) const INFO: u8 = 0xAB;
    pub(crate) const LOGINACK: u8 = 0xAD;
    pub(crate) const ROW: u8 = 0xD1;
    pub(crate) const NBCROW: u8 = 0xD2;
    pub(crate) const ENVCHANGE: u8 = 0xE3;
    pub(crate) const DONE: u8 = 0xFD;
    pub(crate) const DONEPROC: u8 = 0xFE;
    pub(crate) const DONEINPROC: u8 = 0xFF;
    pub(crate) const RETURNSTATUS: u8 = 0x79;
}

/// DONE status bits.
pub(crate) mod done {
    pub(crate) const FINAL: u16 = 0x00;
    pub(crate) const MORE: u16 = 0x01;
    pub(crate) const ERROR: u16 = 0x02;
    pub(crate) const INXACT: u16 = 0x04;
    pub(crate) const COUNT: u16 = 0x10;
    pub(crate) const ATTN: u16 = 0x20;
}

/// CurCmd values for DONE tokens.
pub(crate) mod cmd {
    pub(crate) const SELECT: u16 = 0xC1;
    pub(crate) const INSERT: u16 = 0xC3;
    pub(crate) const DELETE: u16 = 0xC4;
    pub(crate) const OTHER: u16 = 0x00;
}

/// Name the server reports in ERROR/INFO tokens.
pub(crate) const SERVER_NAME: &str = "hygge-tds-test-server";

fn b_varchar(out: &mut Vec<u8>, s: &str) {
    let units: Vec<u16> = s.encode_utf16().take(255).collect();
    out.push(units.len() as u8);
    out.extend(units.iter().flat_map(|u| u.to_le_bytes()));
}

fn us_varchar(out: &mut Vec<u8>, s: &str) {
    let units: Vec<u16> = s.encode_utf16().take(65_535).collect();
    out.extend_from_slice(&(units.len() as u16).to_le_bytes());
    out.extend(units.iter().flat_map(|u| u.to_le_bytes()));
}

/// Writes a token with a two-byte length prefix computed after `body`.
fn with_length(out: &mut Vec<u8>, token: u8, body: impl FnOnce(&mut Vec<u8>)) {
    out.push(token);
    let at = out.len();
    out.extend_from_slice(&[0, 0]);
    body(out);
    let len = (out.len() - at - 2) as u16;
    out[at..at + 2].copy_from_slice(&len.to_le_bytes());
}

/// DONE, DONEPROC or DONEINPROC.
pub(crate) fn done(out: &mut Vec<u8>, kind: u8, status: u16, cur_cmd: u16, rows: u64) {
    out.push(kind);
    out.extend_from_slice(&status.to_le_bytes());
    out.extend_from_slice(&cur_cmd.to_le_bytes());
    out.extend_from_slice(&rows.to_le_bytes());
}

/// RETURNSTATUS.
pub(crate) fn return_status(out: &mut Vec<u8>, value: i32) {
    out.push(token::RETURNSTATUS);
    out.extend_from_slice(&value.to_le_bytes());
}

/// ERROR (class > 10) or INFO.
pub(crate) fn message(out: &mut Vec<u8>, error: &SqlError, procedure: &str) {
    let kind = if error.class > 10 {
        token::ERROR
    } else {
        token::INFO
    };
    with_length(out, kind, |out| {
        out.extend_from_slice(&error.number.to_le_bytes());
        out.push(error.state);
        out.push(error.class);
        us_varchar(out, &error.message);
        b_varchar(out, SERVER_NAME);
        b_varchar(out, procedure);
        out.extend_from_slice(&1u32.to_le_bytes());
    });
}

/// ENVCHANGE with B_VARCHAR new and old values (database, language, packet size).
pub(crate) fn env_change_text(out: &mut Vec<u8>, kind: u8, new: &str, old: &str) {
    with_length(out, token::ENVCHANGE, |out| {
        out.push(kind);
        b_varchar(out, new);
        b_varchar(out, old);
    });
}

/// ENVCHANGE with B_VARBYTE values (collation, transactions).
pub(crate) fn env_change_bytes(out: &mut Vec<u8>, kind: u8, new: &[u8], old: &[u8]) {
    with_length(out, token::ENVCHANGE, |out| {
        out.push(kind);
        out.push(new.len() as u8);
        out.extend_from_slice(new);
        out.push(old.len() as u8);
        out.extend_from_slice(old);
    });
}

/// ENVCHANGE types.
pub(crate) mod env {
    pub(crate) const DATABASE: u8 = 1;
    pub(crate) const LANGUAGE: u8 = 2;
    pub(crate) const PACKET_SIZE: u8 = 4;
    pub(crate) const SQL_COLLATION: u8 = 7;
    pub(crate) const BEGIN_TRAN: u8 = 8;
    pub(crate) const COMMIT_TRAN: u8 = 9;
    pub(crate) const ROLLBACK_TRAN: u8 = 10;
}

/// LOGINACK.
pub(crate) fn login_ack(out: &mut Vec<u8>, tds_version: u32, program: &str) {
    with_length(out, token::LOGINACK, |out| {
        // Interface: SQL_TSQL.
        out.push(1);
        out.extend_from_slice(&tds_version.to_be_bytes());
        b_varchar(out, program);
        // Version 16.0.4100.
        out.extend_from_slice(&[16, 0, 0x10, 0x04]);
    });
}

/// Column flag: nullable.
pub(crate) const FLAG_NULLABLE: u16 = 0x0001;
/// Column flag: updateability unknown (what SQL Server sends for table columns).
pub(crate) const FLAG_UPDATEABLE_UNKNOWN: u16 = 0x0008;

/// One column of a COLMETADATA token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ColumnMeta {
    /// Column name.
    pub(crate) name: String,
    /// TYPE_INFO.
    pub(crate) wire: WireType,
    /// Flags (nullable, updateable…).
    pub(crate) flags: u16,
    /// Table name for TEXT/NTEXT/IMAGE columns.
    pub(crate) table: String,
}

/// COLMETADATA.
pub(crate) fn col_metadata(out: &mut Vec<u8>, columns: &[ColumnMeta]) {
    out.push(token::COLMETADATA);
    out.extend_from_slice(&(columns.len() as u16).to_le_bytes());
    for c in columns {
        // UserType.
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&c.flags.to_le_bytes());
        c.wire.encode(out, &c.table);
        b_varchar(out, &c.name);
    }
}
