//! bf16 <-> f32 on bit patterns, one value at a time.
//!
//! The SIMD backends implement the same two functions lane-wise; tests hold them
//! to these definitions.

/// The canonical quiet NaN every NaN output is written as.
pub const CANONICAL_NAN: u16 = 0x7FC0;

/// Widens a bf16 bit pattern to f32. Exact: bf16 is the top half of an f32.
#[inline(always)]
pub const fn widen(bits: u16) -> f32 {
    f32::from_bits((bits as u32) << 16)
}

/// Narrows an f32 to bf16, rounding to nearest, ties to even, on the bit pattern
/// (as `half::bf16::from_f32`), except that every NaN becomes [`CANONICAL_NAN`].
///
/// ```
/// use qat_kernels::bf16::{narrow, CANONICAL_NAN};
/// assert_eq!(narrow(1.0), 0x3F80);
/// assert_eq!(narrow(1.0 + 1.0 / 256.0), 0x3F80); // tie: down to the even pattern
/// assert_eq!(narrow(1.0 + 3.0 / 256.0), 0x3F82); // tie: up to the even pattern
/// assert_eq!(narrow(f32::from_bits(0xFFC1_2345)), CANONICAL_NAN);
/// ```
#[inline(always)]
pub fn narrow(x: f32) -> u16 {
    let bits = x.to_bits();
    // No overflow: only NaN patterns lie above 0xFF80_0000, and they are replaced.
    let rounded = (bits.wrapping_add(0x7FFF + ((bits >> 16) & 1)) >> 16) as u16;
    if x.is_nan() {
        CANONICAL_NAN
    } else {
        rounded
    }
}
