//! LOGIN7 (MS-TDS 2.2.6.4): the fields this server needs from a login.

use super::reader::{DecodeError, DecodeResult, Reader};

/// What a LOGIN7 message carries that the server uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Login {
    /// TDS version the client speaks.
    pub(crate) tds_version: u32,
    /// Requested packet size (0 = server default).
    pub(crate) packet_size: u32,
    /// SQL login name.
    pub(crate) user: String,
    /// Password, de-obfuscated.
    pub(crate) password: String,
    /// Application name.
    pub(crate) app_name: String,
    /// Initial database (may be empty).
    pub(crate) database: String,
}

/// Undoes the LOGIN7 password obfuscation (XOR 0xA5, then swap nibbles).
fn deobfuscate(raw: &[u8]) -> Vec<u8> {
    raw.iter()
        .map(|b| {
            let x = b ^ 0xA5;
            x.rotate_left(4)
        })
        .collect()
}

/// Parses a LOGIN7 payload.
pub(crate) fn parse(payload: &[u8]) -> DecodeResult<Login> {
    let mut r = Reader::new(payload);
    let _length = r.u32()?;
    let tds_version = r.u32()?;
    let packet_size = r.u32()?;
    // ClientProgVer, ClientPID, ConnectionID, 4 flag bytes, TimeZone, LCID.
    r.skip(4 + 4 + 4 + 4 + 4 + 4)?;
    let field = |r: &mut Reader<'_>| -> DecodeResult<(usize, usize)> {
        let offset = usize::from(r.u16()?);
        let chars = usize::from(r.u16()?);
        Ok((offset, chars))
    };
    let host = field(&mut r)?;
    let user = field(&mut r)?;
    let password = field(&mut r)?;
    let app = field(&mut r)?;
    let _server = field(&mut r)?;
    let _extension = field(&mut r)?;
    let _library = field(&mut r)?;
    let _language = field(&mut r)?;
    let database = field(&mut r)?;
    let _ = host;
    let text = |(offset, chars): (usize, usize)| -> DecodeResult<String> {
        let mut rr = Reader::new(payload);
        rr.seek(offset)?;
        rr.utf16(chars)
    };
    let pw_bytes = {
        let (offset, chars) = password;
        let end = offset
            .checked_add(chars * 2)
            .ok_or_else(|| DecodeError::invalid("bad password field"))?;
        let raw = payload.get(offset..end).ok_or(DecodeError::Incomplete)?;
        deobfuscate(raw)
    };
    Ok(Login {
        tds_version,
        packet_size,
        user: text(user)?,
        password: super::reader::utf16_to_string(&pw_bytes)?,
        app_name: text(app)?,
        database: text(database)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds a minimal LOGIN7 like tiberius does.
    fn login7(user: &str, password: &str, db: &str) -> Vec<u8> {
        let utf16 = |s: &str| -> Vec<u8> { s.encode_utf16().flat_map(u16::to_le_bytes).collect() };
        let obfuscate =
            |b: &[u8]| -> Vec<u8> { b.iter().map(|x| x.rotate_left(4) ^ 0xA5).collect() };
        let fields: Vec<Vec<u8>> = vec![
            utf16("host"),
            utf16(user),
            obfuscate(&utf16(password)),
            utf16("app"),
            utf16("srv"),
            vec![],
            utf16("lib"),
            vec![],
            utf16(db),
        ];
        let mut out = vec![0u8; 36];
        out[4..8].copy_from_slice(&0x7400_0004u32.to_le_bytes());
        out[8..12].copy_from_slice(&4096u32.to_le_bytes());
        let header_end = 36 + 9 * 4 + 6 + 3 * 4 + 4;
        let mut data = Vec::new();
        for f in &fields {
            let offset = header_end + data.len();
            out.extend_from_slice(&(offset as u16).to_le_bytes());
            out.extend_from_slice(&((f.len() / 2) as u16).to_le_bytes());
            data.extend_from_slice(f);
        }
        out.extend_from_slice(&[0u8; 6 + 3 * 4 + 4]);
        out.extend_from_slice(&data);
        let len = out.len() as u32;
        out[0..4].copy_from_slice(&len.to_le_bytes());
        out
    }

    #[test]
    fn decodes_user_password_and_database() {
        let login = parse(&login7("sa", "Hygge-Test-1", "lake")).unwrap();
        assert_eq!(login.user, "sa");
        assert_eq!(login.password, "Hygge-Test-1");
        assert_eq!(login.database, "lake");
        assert_eq!(login.packet_size, 4096);
        assert_eq!(login.app_name, "app");
    }
}
