//! The part of the `zstd` crate's API that the `parquet` crate calls, on `ruzstd`.
//!
//! The real `zstd` crate binds zstd's C library, and building C for wasm32 needs clang and
//! its WebAssembly backend on every machine that builds hygge. The Wasm Parquet component
//! uses this crate instead (through `[patch.crates-io]` in `components/Cargo.toml`), so it
//! reads every ZSTD page and writes valid ZSTD frames with nothing but the Rust toolchain.
//! ruzstd is a well-kept pure-Rust zstd (the `object` crate uses it); this crate is only the
//! glue. When parquet is upgraded, check its calls (`parquet/src/compression.rs`,
//! `zstd_codec`) against this API.
//!
//! `ruzstd` decodes all of zstd; its encoder implements one level, about zstd's level 1, so
//! every requested level compresses at that level.

#![forbid(unsafe_code)]

use std::io;

/// Single-shot compression and decompression with reusable contexts.
pub mod bulk {
    use std::io::{self, Write};
    use std::marker::PhantomData;

    use ruzstd::decoding::{BlockDecodingStrategy, FrameDecoder};
    use ruzstd::encoding::{CompressionLevel, compress};

    use crate::invalid;

    /// Compresses whole buffers into zstd frames.
    pub struct Compressor<'a> {
        _dictionary: PhantomData<&'a [u8]>,
    }

    impl Compressor<'_> {
        /// A compressor; `level` is accepted for the API's sake (see the crate docs).
        pub fn new(level: i32) -> io::Result<Self> {
            let _ = level;
            Ok(Compressor {
                _dictionary: PhantomData,
            })
        }

        /// Compresses `source` as one frame and appends it to `destination`; returns its size.
        pub fn compress_to_buffer<W: Write + ?Sized>(
            &mut self,
            source: &[u8],
            destination: &mut W,
        ) -> io::Result<usize> {
            let mut frame = Vec::with_capacity(crate::zstd_safe::compress_bound(source.len()));
            compress(source, &mut frame, CompressionLevel::Fastest);
            destination.write_all(&frame)?;
            Ok(frame.len())
        }
    }

    /// Decompresses whole buffers of zstd frames.
    pub struct Decompressor<'a> {
        decoder: FrameDecoder,
        _dictionary: PhantomData<&'a [u8]>,
    }

    impl Decompressor<'_> {
        /// A decompressor.
        pub fn new() -> io::Result<Self> {
            Ok(Decompressor {
                decoder: FrameDecoder::new(),
                _dictionary: PhantomData,
            })
        }

        /// Decompresses every frame in `source` and appends the bytes to `destination`;
        /// returns how many were written.
        pub fn decompress_to_buffer<W: Write + ?Sized>(
            &mut self,
            source: &[u8],
            destination: &mut W,
        ) -> io::Result<usize> {
            let mut input = source;
            let mut written = 0;
            while !input.is_empty() {
                self.decoder.init(&mut input).map_err(invalid)?;
                self.decoder
                    .decode_blocks(&mut input, BlockDecodingStrategy::All)
                    .map_err(invalid)?;
                if !self.decoder.is_finished() {
                    return Err(invalid("the zstd frame ends early"));
                }
                let bytes = self.decoder.collect().unwrap_or_default();
                destination.write_all(&bytes)?;
                written += bytes.len();
            }
            Ok(written)
        }
    }
}

/// Sizes, as the `zstd-safe` crate reports them.
pub mod zstd_safe {
    /// The largest a frame of `source_size` bytes can compress to (zstd's `ZSTD_COMPRESSBOUND`).
    pub fn compress_bound(source_size: usize) -> usize {
        let small = if source_size < (128 << 10) {
            ((128 << 10) - source_size) >> 11
        } else {
            0
        };
        source_size + (source_size >> 8) + small
    }

    /// The frame content size from a frame header. Always `Ok(None)` ("unknown"): parquet then
    /// uses the page header's uncompressed size, which every page states.
    pub fn get_frame_content_size(source: &[u8]) -> Result<Option<u64>, ContentSizeError> {
        let _ = source;
        Ok(None)
    }

    /// The content size could not be read.
    #[derive(Debug, Clone, Copy)]
    pub struct ContentSizeError;
}

fn invalid(error: impl std::fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, error.to_string())
}

#[cfg(test)]
mod tests {
    use super::bulk::{Compressor, Decompressor};

    #[test]
    fn a_compressed_buffer_decompresses_to_the_same_bytes() {
        let text: Vec<u8> = (0..200_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect();
        let mut frame = Vec::new();
        let size = Compressor::new(3)
            .unwrap()
            .compress_to_buffer(&text, &mut frame)
            .unwrap();
        assert_eq!(size, frame.len());
        assert!(
            frame.len() < text.len() / 4,
            "{} of {}",
            frame.len(),
            text.len()
        );
        let mut out = b"prefix".to_vec();
        let mut cursor = std::io::Cursor::new(&mut out);
        cursor.set_position(6);
        let n = Decompressor::new()
            .unwrap()
            .decompress_to_buffer(&frame, &mut cursor)
            .unwrap();
        assert_eq!(n, text.len());
        assert_eq!(&out[6..], &text[..]);
    }

    #[test]
    fn a_truncated_frame_is_an_error() {
        let mut frame = Vec::new();
        Compressor::new(1)
            .unwrap()
            .compress_to_buffer(&[7u8; 10_000], &mut frame)
            .unwrap();
        frame.truncate(frame.len() / 2);
        assert!(
            Decompressor::new()
                .unwrap()
                .decompress_to_buffer(&frame, &mut Vec::new())
                .is_err()
        );
    }
}
