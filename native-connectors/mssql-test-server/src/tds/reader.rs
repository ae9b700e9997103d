//! A bounds-checked little-endian reader over a byte slice.

/// Why decoding stopped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum DecodeError {
    /// The slice ends before the item does; more bytes may complete it.
    Incomplete,
    /// The bytes are not valid for the item.
    Invalid(String),
}

impl DecodeError {
    /// An invalid-data error.
    pub(crate) fn invalid(what: impl Into<String>) -> DecodeError {
        DecodeError::Invalid(what.into())
    }
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DecodeError::Incomplete => f.write_str("message ends in the middle of an item"),
            DecodeError::Invalid(what) => f.write_str(what),
        }
    }
}

/// Result of a decode step.
pub(crate) type DecodeResult<T> = Result<T, DecodeError>;

/// Cursor over a byte slice.
#[derive(Clone, Debug)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `buf`.
    pub(crate) fn new(buf: &'a [u8]) -> Reader<'a> {
        Reader { buf, pos: 0 }
    }

    /// Bytes consumed so far.
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    /// Moves to an absolute position.
    pub(crate) fn seek(&mut self, pos: usize) -> DecodeResult<()> {
        if pos > self.buf.len() {
            return Err(DecodeError::Incomplete);
        }
        self.pos = pos;
        Ok(())
    }

    /// Bytes left.
    pub(crate) fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// The whole underlying slice.
    pub(crate) fn slice(&self) -> &'a [u8] {
        self.buf
    }

    /// Takes `n` bytes.
    #[inline]
    pub(crate) fn bytes(&mut self, n: usize) -> DecodeResult<&'a [u8]> {
        let end = self.pos.checked_add(n).ok_or(DecodeError::Incomplete)?;
        let out = self.buf.get(self.pos..end).ok_or(DecodeError::Incomplete)?;
        self.pos = end;
        Ok(out)
    }

    /// Skips `n` bytes.
    #[inline]
    pub(crate) fn skip(&mut self, n: usize) -> DecodeResult<()> {
        self.bytes(n).map(|_| ())
    }

    /// Takes N bytes as an array.
    #[inline]
    pub(crate) fn array<const N: usize>(&mut self) -> DecodeResult<[u8; N]> {
        let b = self.bytes(N)?;
        let mut out = [0u8; N];
        out.copy_from_slice(b);
        Ok(out)
    }

    /// One byte.
    #[inline]
    pub(crate) fn u8(&mut self) -> DecodeResult<u8> {
        let b = *self.buf.get(self.pos).ok_or(DecodeError::Incomplete)?;
        self.pos += 1;
        Ok(b)
    }

    /// Little-endian u16.
    #[inline]
    pub(crate) fn u16(&mut self) -> DecodeResult<u16> {
        Ok(u16::from_le_bytes(self.array()?))
    }

    /// Big-endian u16.
    pub(crate) fn u16_be(&mut self) -> DecodeResult<u16> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    /// Little-endian u32.
    #[inline]
    pub(crate) fn u32(&mut self) -> DecodeResult<u32> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    /// Little-endian u64.
    #[inline]
    pub(crate) fn u64(&mut self) -> DecodeResult<u64> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    /// UTF-16LE text of `chars` code units.
    pub(crate) fn utf16(&mut self, chars: usize) -> DecodeResult<String> {
        let raw = self.bytes(chars.checked_mul(2).ok_or(DecodeError::Incomplete)?)?;
        utf16_to_string(raw)
    }

    /// B_VARCHAR: a one-byte character count and UTF-16LE text.
    pub(crate) fn b_varchar(&mut self) -> DecodeResult<String> {
        let n = self.u8()?;
        self.utf16(usize::from(n))
    }

    /// US_VARCHAR: a two-byte character count and UTF-16LE text.
    pub(crate) fn us_varchar(&mut self) -> DecodeResult<String> {
        let n = self.u16()?;
        self.utf16(usize::from(n))
    }
}

/// Decodes UTF-16LE bytes (an odd trailing byte or lone surrogate is invalid).
pub(crate) fn utf16_to_string(raw: &[u8]) -> DecodeResult<String> {
    if !raw.len().is_multiple_of(2) {
        return Err(DecodeError::invalid("odd length of UTF-16 data"));
    }
    let units = raw
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]));
    char::decode_utf16(units)
        .collect::<Result<String, _>>()
        .map_err(|_| DecodeError::invalid("invalid UTF-16 text"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_reports_incomplete() {
        let mut r = Reader::new(&[1, 2, 0, 3, 0, 0]);
        assert_eq!(r.u8(), Ok(1));
        assert_eq!(r.u16(), Ok(2));
        assert_eq!(r.u32(), Err(DecodeError::Incomplete));
        let mut r = Reader::new(&[2, b'h', 0, b'i', 0]);
        assert_eq!(r.b_varchar().unwrap(), "hi");
    }
}
