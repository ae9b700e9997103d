//! Word-at-a-time `memcmp` and `bcmp` for the guest. wasi-libc's compare one byte per loop
//! turn, and the Parquet writer's dictionary compares every value it interns: with these,
//! the component's store spends markedly less time comparing (see BENCHMARKS.md).
//!
//! Defining the symbols here keeps the linker from taking wasi-libc's from its archive.

/// The first `n` bytes at `a` and `b` compared as unsigned bytes: <0, 0 or >0.
///
/// # Safety
/// `a` and `b` must be valid for reads of `n` bytes (the C contract).
#[unsafe(no_mangle)]
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
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    // SAFETY: the caller's contract is memcmp's.
    unsafe { memcmp(a, b, n) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_like_bytes() {
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
        ];
        for (a, b) in cases {
            let got = unsafe { memcmp(a.as_ptr(), b.as_ptr(), a.len()) }.signum();
            assert_eq!(got, a.cmp(b) as i32, "{a:?} vs {b:?}");
        }
    }
}
