//! PRELOGIN (MS-TDS 2.2.6.5): the client's encryption wish and the server's answer.

use super::reader::{DecodeResult, Reader};

const VERSION: u8 = 0;
const ENCRYPTION: u8 = 1;
const INSTOPT: u8 = 2;
const THREADID: u8 = 3;
const MARS: u8 = 4;
const TERMINATOR: u8 = 0xFF;

/// ENCRYPT_NOT_SUP: the only encryption answer this server gives.
pub(crate) const ENCRYPT_NOT_SUP: u8 = 0x02;

/// What the client asked for in PRELOGIN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PreloginRequest {
    /// Requested encryption (0 off, 1 on, 2 not supported, 3 required).
    pub(crate) encryption: u8,
}

impl PreloginRequest {
    /// Whether the client refuses to talk without TLS.
    pub(crate) fn demands_encryption(&self) -> bool {
        matches!(self.encryption, 0x01 | 0x03)
    }
}

/// Parses the client's PRELOGIN payload.
pub(crate) fn parse(payload: &[u8]) -> DecodeResult<PreloginRequest> {
    let mut r = Reader::new(payload);
    let mut encryption = ENCRYPT_NOT_SUP;
    loop {
        let token = r.u8()?;
        if token == TERMINATOR {
            break;
        }
        let offset = usize::from(r.u16_be()?);
        let len = usize::from(r.u16_be()?);
        if token == ENCRYPTION && len >= 1 {
            encryption = *payload
                .get(offset)
                .ok_or(super::reader::DecodeError::Incomplete)?;
        }
    }
    Ok(PreloginRequest { encryption })
}

/// The server's PRELOGIN response: VERSION, ENCRYPTION = NOT_SUP, INSTOPT,
/// THREADID (zero), MARS off.
pub(crate) fn response() -> Vec<u8> {
    let options: [(u8, Vec<u8>); 5] = [
        // SQL Server 16.0 build 4100, sub-build 0.
        (VERSION, vec![16, 0, 0x10, 0x04, 0, 0]),
        (ENCRYPTION, vec![ENCRYPT_NOT_SUP]),
        (INSTOPT, vec![0]),
        (THREADID, vec![0, 0, 0, 0]),
        (MARS, vec![0]),
    ];
    let mut out = Vec::new();
    let mut offset = options.len() * 5 + 1;
    for (token, data) in &options {
        out.push(*token);
        out.extend_from_slice(&(offset as u16).to_be_bytes());
        out.extend_from_slice(&(data.len() as u16).to_be_bytes());
        offset += data.len();
    }
    out.push(TERMINATOR);
    for (_, data) in &options {
        out.extend_from_slice(data);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn response_parses_as_prelogin() {
        let resp = response();
        assert_eq!(parse(&resp).unwrap().encryption, ENCRYPT_NOT_SUP);
        assert!(!parse(&resp).unwrap().demands_encryption());
    }
}
