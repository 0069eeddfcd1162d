//! bf16 <-> f32 on bit patterns, one value at a time: the definitions the
//! SIMD backends implement lane-wise, and the tests hold them to.
//! (The public API takes `half::bf16`; these work on its raw `u16` bits.)

/// The canonical quiet NaN every NaN output is written as.
pub(crate) const CANONICAL_NAN: u16 = 0x7FC0;

/// Widens a bf16 bit pattern to f32. Exact: bf16 is the top half of an f32.
#[inline(always)]
pub(crate) const fn widen(bits: u16) -> f32 {
    f32::from_bits((bits as u32) << 16)
}

/// Narrows an f32 to bf16, rounding to nearest, ties to even, on the bit
/// pattern (as `half::bf16::from_f32`), except that every NaN becomes
/// [`CANONICAL_NAN`].
#[inline(always)]
pub(crate) fn narrow(x: f32) -> u16 {
    let bits = x.to_bits();
    // No overflow: only NaN patterns lie above 0xFF80_0000, and they are replaced.
    let rounded = (bits.wrapping_add(0x7FFF + ((bits >> 16) & 1)) >> 16) as u16;
    if x.is_nan() {
        CANONICAL_NAN
    } else {
        rounded
    }
}

#[cfg(test)]
mod tests {
    use super::{narrow, widen, CANONICAL_NAN};
    use half::bf16;

    #[test]
    fn narrowing_rounds_ties_to_even() {
        assert_eq!(narrow(1.0), 0x3F80);
        assert_eq!(narrow(1.0 + 1.0 / 256.0), 0x3F80); // tie: down to the even pattern
        assert_eq!(narrow(1.0 + 3.0 / 256.0), 0x3F82); // tie: up to the even pattern
        assert_eq!(narrow(f32::from_bits(0xFFC1_2345)), CANONICAL_NAN);
    }

    /// Against half's narrowing, on a sweep of f32 patterns dense around
    /// every rounding boundary (the SIMD backends are held to it by the kernel
    /// tests).
    #[test]
    fn narrowing_matches_half_on_every_f32_class() {
        // splitmix64, as the integration tests' generator, from seed 9.
        let mut state = 9u64;
        for _ in 0..2_000_000 {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            let bits = (z ^ (z >> 31)) as u32;
            let bits = if bits & 1 == 0 {
                bits & 0xFFFF_0000 | (0x8000 + (bits >> 28) - 8)
            } else {
                bits
            };
            let x = f32::from_bits(bits);
            let expected = if x.is_nan() {
                CANONICAL_NAN
            } else {
                bf16::from_f32(x).to_bits()
            };
            assert_eq!(narrow(x), expected, "{bits:#010x}");
        }
    }

    #[test]
    fn widening_is_exact() {
        for b in 0..=u16::MAX {
            let x = widen(b);
            let reference = f32::from(bf16::from_bits(b));
            if reference.is_nan() {
                assert!(x.is_nan(), "{b:#06x}"); // half quiets signaling NaNs
            } else {
                assert_eq!(x.to_bits(), reference.to_bits(), "{b:#06x}");
            }
        }
    }
}
