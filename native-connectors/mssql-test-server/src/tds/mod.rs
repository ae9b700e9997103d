//! The TDS 7.4 wire protocol: packets, login, tokens, value encodings.

pub(crate) mod bulk;
pub(crate) mod codec;
pub(crate) mod login;
pub(crate) mod packet;
pub(crate) mod prelogin;
pub(crate) mod reader;
pub(crate) mod rpc;
pub(crate) mod tokens;
pub(crate) mod wire_type;

use reader::{DecodeResult, Reader, utf16_to_string};

/// GUID bytes in wire order (first three groups little-endian) from textual order.
pub(crate) fn guid_to_wire(g: &[u8; 16]) -> [u8; 16] {
    let mut w = *g;
    w[0..4].reverse();
    w[4..6].reverse();
    w[6..8].reverse();
    w
}

/// GUID bytes in textual order from wire order.
pub(crate) fn guid_from_wire(w: &[u8; 16]) -> [u8; 16] {
    guid_to_wire(w)
}

/// The SQL text of a SQL batch payload (ALL_HEADERS then UCS-2 text).
pub(crate) fn batch_text(payload: &[u8]) -> DecodeResult<String> {
    let mut r = Reader::new(payload);
    rpc::skip_all_headers(&mut r)?;
    let rest = r.bytes(r.remaining())?;
    utf16_to_string(rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guid_byte_order_is_mixed_endian() {
        let text_order: [u8; 16] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];
        let wire = guid_to_wire(&text_order);
        assert_eq!(wire, [3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15]);
        assert_eq!(guid_from_wire(&wire), text_order);
    }

    #[test]
    fn batch_text_skips_all_headers() {
        let mut payload = Vec::new();
        payload.extend_from_slice(&22u32.to_le_bytes());
        payload.extend_from_slice(&18u32.to_le_bytes());
        payload.extend_from_slice(&2u16.to_le_bytes());
        payload.extend_from_slice(&[0; 8]);
        payload.extend_from_slice(&1u32.to_le_bytes());
        payload.extend("SELECT 1".encode_utf16().flat_map(u16::to_le_bytes));
        assert_eq!(batch_text(&payload).unwrap(), "SELECT 1");
    }
}
