//! Windows-1252, the code page of the server's `Latin1_General` collation
//! (LCID 0x0409) used by `char`, `varchar` and `text`.

/// Characters of bytes 0x80..=0x9F; the five undefined bytes map to U+0080..U+009F
/// like the WHATWG decoder (and tiberius' encoding_rs) does.
const HIGH: [char; 32] = [
    '\u{20AC}', '\u{0081}', '\u{201A}', '\u{0192}', '\u{201E}', '\u{2026}', '\u{2020}', '\u{2021}',
    '\u{02C6}', '\u{2030}', '\u{0160}', '\u{2039}', '\u{0152}', '\u{008D}', '\u{017D}', '\u{008F}',
    '\u{0090}', '\u{2018}', '\u{2019}', '\u{201C}', '\u{201D}', '\u{2022}', '\u{2013}', '\u{2014}',
    '\u{02DC}', '\u{2122}', '\u{0161}', '\u{203A}', '\u{0153}', '\u{009D}', '\u{017E}', '\u{0178}',
];

/// Decodes Windows-1252 bytes.
pub(crate) fn decode(bytes: &[u8]) -> String {
    if bytes.is_ascii() {
        // All ASCII: the bytes are valid UTF-8 as they are.
        return String::from_utf8_lossy(bytes).into_owned();
    }
    bytes
        .iter()
        .map(|&b| match b {
            0x80..=0x9F => HIGH[usize::from(b - 0x80)],
            _ => char::from(b),
        })
        .collect()
}

/// The byte of a character, if Windows-1252 has it.
pub(crate) fn byte_of(c: char) -> Option<u8> {
    let code = u32::from(c);
    if code < 0x80 || (0xA0..=0xFF).contains(&code) {
        return Some(code as u8);
    }
    HIGH.iter().position(|&h| h == c).map(|i| 0x80 + i as u8)
}

/// Encodes text; characters outside the code page become `?`, as SQL Server does.
pub(crate) fn encode_into(text: &str, out: &mut Vec<u8>) {
    if text.is_ascii() {
        out.extend_from_slice(text.as_bytes());
        return;
    }
    out.extend(text.chars().map(|c| byte_of(c).unwrap_or(b'?')));
}

/// Replaces characters outside the code page by `?`.
pub(crate) fn sanitize(text: &str) -> String {
    if text.is_ascii() {
        return text.to_string();
    }
    text.chars()
        .map(|c| if byte_of(c).is_some() { c } else { '?' })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_the_high_half() {
        let text = "café €5 – “quoted” 😀";
        let mut bytes = Vec::new();
        encode_into(text, &mut bytes);
        assert_eq!(decode(&bytes), "café €5 – “quoted” ?");
        assert_eq!(byte_of('€'), Some(0x80));
        assert_eq!(byte_of('é'), Some(0xE9));
    }
}
