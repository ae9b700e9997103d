//! `compression` and `compression_level` for Parquet stores.

use hygge_runtime::contract::ConfigProblem;
use parquet::basic::{BrotliLevel, Compression, GzipLevel, ZstdLevel};

/// The codec for `name` (snappy, zstd, gzip, lz4, brotli, none), at `level` where the codec
/// has levels. `zstd(3)` is accepted as well.
pub fn parse_compression(name: &str, level: Option<i32>) -> Result<Compression, ConfigProblem> {
    let lower = name.trim().to_ascii_lowercase();
    let (codec, inline_level) = match lower.split_once('(') {
        Some((codec, rest)) => {
            let level = rest
                .trim_end_matches(')')
                .trim()
                .parse::<i32>()
                .map_err(|_| {
                    ConfigProblem::key("compression", format!("`{name}` has an invalid level"))
                        .hint("write e.g. `zstd(3)`")
                })?;
            (codec.to_string(), Some(level))
        }
        None => (lower, None),
    };
    let level = level.or(inline_level);
    let bad_level = |range: &str| {
        ConfigProblem::key(
            "compression_level",
            format!("{} is out of range for {codec}", level.unwrap_or_default()),
        )
        .hint(format!("use a level in {range}"))
    };
    let no_level = || {
        ConfigProblem::key("compression_level", format!("{codec} has no levels"))
            .hint("remove compression_level")
    };
    Ok(match codec.as_str() {
        "snappy" => level.map_or(Ok(Compression::SNAPPY), |_| Err(no_level()))?,
        "lz4" | "lz4_raw" => level.map_or(Ok(Compression::LZ4_RAW), |_| Err(no_level()))?,
        "none" | "uncompressed" => {
            level.map_or(Ok(Compression::UNCOMPRESSED), |_| Err(no_level()))?
        }
        "zstd" => Compression::ZSTD(
            ZstdLevel::try_new(level.unwrap_or(3)).map_err(|_| bad_level("1..=22"))?,
        ),
        "gzip" => Compression::GZIP(
            GzipLevel::try_new(u32::try_from(level.unwrap_or(6)).map_err(|_| bad_level("0..=9"))?)
                .map_err(|_| bad_level("0..=9"))?,
        ),
        "brotli" => Compression::BROTLI(
            BrotliLevel::try_new(
                u32::try_from(level.unwrap_or(1)).map_err(|_| bad_level("0..=11"))?,
            )
            .map_err(|_| bad_level("0..=11"))?,
        ),
        other => {
            return Err(
                ConfigProblem::key("compression", format!("unknown codec `{other}`"))
                    .hint("use snappy, zstd, gzip, lz4, brotli or none"),
            );
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codecs_and_levels() {
        assert_eq!(
            parse_compression("snappy", None).unwrap(),
            Compression::SNAPPY
        );
        assert_eq!(
            parse_compression("ZSTD", Some(7)).unwrap(),
            Compression::ZSTD(ZstdLevel::try_new(7).unwrap())
        );
        assert_eq!(
            parse_compression("zstd(9)", None).unwrap(),
            Compression::ZSTD(ZstdLevel::try_new(9).unwrap())
        );
        assert_eq!(
            parse_compression("gzip", None).unwrap(),
            Compression::GZIP(GzipLevel::try_new(6).unwrap())
        );
        assert_eq!(
            parse_compression("none", None).unwrap(),
            Compression::UNCOMPRESSED
        );
        assert_eq!(
            parse_compression("lz4", None).unwrap(),
            Compression::LZ4_RAW
        );
    }

    #[test]
    fn bad_codecs_and_levels_name_the_key() {
        let p = parse_compression("zip", None).unwrap_err();
        assert_eq!(p.key.as_deref(), Some("compression"));
        let p = parse_compression("zstd", Some(99)).unwrap_err();
        assert_eq!(p.key.as_deref(), Some("compression_level"));
        let p = parse_compression("snappy", Some(3)).unwrap_err();
        assert!(p.message.contains("no levels"));
    }
}
