//! Word-at-a-time `memcmp` and `bcmp` for the guest. wasi-libc's compare one byte per loop
//! turn, and the Parquet writer's dictionary compares every value it interns: with these,
//! the component's store spends markedly less time comparing (see BENCHMARKS.md).
//!
//! Defining the symbols here keeps the linker from taking wasi-libc's from its archive.
//! They are exported under the C names only in the Wasm build; on the host they are plain
//! functions, so that their tests run on the host (`.ci/run` does).

/// The first `n` bytes at `a` and `b` compared as unsigned bytes: <0, 0 or >0.
///
/// # Safety
/// `a` and `b` must be valid for reads of `n` bytes (the C contract).
#[cfg_attr(target_family = "wasm", unsafe(no_mangle))]
pub unsafe extern "C" fn memcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    let mut i = 0;
    while i + 8 <= n {
        // SAFETY: i + 8 <= n, and both pointers are valid for n bytes.
        let (x, y) = unsafe {
            (
                a.add(i).cast::<u64>().read_unaligned(),
                b.add(i).cast::<u64>().read_unaligned(),
            )
        };
        if x != y {
            // Little-endian: the first differing byte is the lowest differing one.
            let shift = (x ^ y).trailing_zeros() / 8 * 8;
            return i32::from((x >> shift) as u8) - i32::from((y >> shift) as u8);
        }
        i += 8;
    }
    while i < n {
        // SAFETY: i < n.
        let (x, y) = unsafe { (*a.add(i), *b.add(i)) };
        if x != y {
            return i32::from(x) - i32::from(y);
        }
        i += 1;
    }
    0
}

/// Zero when the first `n` bytes at `a` and `b` are equal.
///
/// # Safety
/// As [`memcmp`].
#[cfg_attr(target_family = "wasm", unsafe(no_mangle))]
pub unsafe extern "C" fn bcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    // SAFETY: the caller's contract is memcmp's.
    unsafe { memcmp(a, b, n) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sign(a: &[u8], b: &[u8]) -> i32 {
        assert_eq!(a.len(), b.len());
        // SAFETY: both slices hold a.len() bytes.
        let ordered = unsafe { memcmp(a.as_ptr(), b.as_ptr(), a.len()) }.signum();
        // SAFETY: as above.
        let equal = unsafe { bcmp(a.as_ptr(), b.as_ptr(), a.len()) } == 0;
        assert_eq!(equal, ordered == 0, "{a:?} vs {b:?}");
        ordered
    }

    #[test]
    fn orders_like_byte_slices() {
        let cases: &[(&[u8], &[u8])] = &[
            (b"", b""),
            (b"abcdefgh", b"abcdefgh"),
            (b"abcdefghij", b"abcdefghik"),
            (b"abcdefgz", b"abcdefga"),
            (
                b"\x01\x00\x00\x00\x00\x00\x00\x00",
                b"\x00\x01\x00\x00\x00\x00\x00\x00",
            ),
            (b"a\xff", b"a\x01"),
            (b"same first word, then \x80", b"same first word, then \x7f"),
        ];
        for (a, b) in cases {
            assert_eq!(sign(a, b), a.cmp(b) as i32, "{a:?} vs {b:?}");
            assert_eq!(sign(b, a), b.cmp(a) as i32, "{b:?} vs {a:?}");
        }
    }

    #[test]
    fn every_position_and_length_up_to_40_bytes() {
        for len in 0..40 {
            let base: Vec<u8> = (0..len as u8).map(|i| i.wrapping_mul(37)).collect();
            assert_eq!(sign(&base, &base), 0);
            for at in 0..len {
                for delta in [1u8, 0x80] {
                    let mut other = base.clone();
                    other[at] = other[at].wrapping_add(delta);
                    assert_eq!(
                        sign(&base, &other),
                        base.cmp(&other) as i32,
                        "len {len} at {at}"
                    );
                }
            }
        }
    }
}
