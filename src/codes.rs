//! The dense packing of integer codes of 1, 2, 4 or 8 bits into bytes.

use crate::kernels::scan::elements;
use crate::{Argument, Error, Rule};

/// `log2(bits)` for a packing width of 1, 2, 4 or 8 bits, else `None`.
/// Shifts by it stand for divisions, so that no path divides by zero.
fn width_log2(bits: u32) -> Option<u32> {
    matches!(bits, 1 | 2 | 4 | 8).then(|| bits.trailing_zeros())
}

/// Bytes that `count` codes of `bits` bits (1, 2, 4 or 8) take packed, or
/// `None` for another width.
pub(crate) fn packed_len(count: usize, bits: u32) -> Option<usize> {
    let per_byte_log2 = 3 - width_log2(bits)?;
    let rest = count & ((1 << per_byte_log2) - 1);
    Some((count >> per_byte_log2) + usize::from(rest != 0))
}

/// A code type's packing: which values fit a field of `bits` bits, and the
/// value a field's bits stand for.
pub(crate) trait Packable: Copy {
    /// Whether the code fits a field of `bits` bits (1 to 8).
    fn fits(self, bits: u32) -> bool;
    /// Sign-extends a field of `bits` bits read as an unsigned code (`u8`:
    /// nothing to do).
    fn extend(code: u8, bits: u32) -> Self;
}

impl Packable for u8 {
    #[inline(always)]
    fn fits(self, bits: u32) -> bool {
        u32::from(self) >> bits == 0
    }
    #[inline(always)]
    fn extend(code: u8, _: u32) -> Self {
        code
    }
}

impl Packable for i8 {
    #[inline(always)]
    fn fits(self, bits: u32) -> bool {
        // In -2^(bits-1)..2^(bits-1): the bits above the field's sign bit
        // all copy it.
        let above = i32::from(self) >> (bits - 1);
        above == 0 || above == -1
    }
    #[inline(always)]
    fn extend(code: u8, bits: u32) -> Self {
        ((code << (8 - bits)) as i8) >> (8 - bits)
    }
}

/// `Ok` if every code fits in `bits` bits (1 to 8).
///
/// # Safety
/// `codes` is valid for reading `count` codes.
pub(crate) unsafe fn codes_fit<C: Packable>(
    codes: *const C,
    count: usize,
    bits: u32,
) -> Result<(), Error> {
    // SAFETY: the caller's.
    let codes = unsafe { elements(codes, count) };
    if codes.iter().all(|c| c.fits(bits)) {
        Ok(())
    } else {
        Err(Error::new(Argument::Codes, Rule::TooWide))
    }
}

/// Packs `count` codes' lowest `bits` bits (their two's complement fields,
/// for signed codes), the first code in the lowest bits of the first byte;
/// the last byte's unused high bits are zero.
///
/// # Safety
/// `bits` is 1, 2, 4 or 8; `codes` is valid for reading `count` bytes,
/// `packed` for writing `packed_len(count, bits)` bytes, and the two do not
/// overlap.
pub(crate) unsafe fn pack(codes: *const u8, count: usize, bits: u32, packed: *mut u8) {
    let Some(log2) = width_log2(bits) else { return };
    let per_byte_log2 = 3 - log2;
    let mask = ((1u32 << bits) - 1) as u8;
    // SAFETY: the caller's.
    let codes = unsafe { elements(codes, count) };
    let mut byte = 0u8;
    for (i, &code) in codes.iter().enumerate() {
        let slot = i & ((1 << per_byte_log2) - 1);
        byte |= (code & mask) << ((slot as u32) << log2);
        if slot == (1 << per_byte_log2) - 1 || i + 1 == count {
            // SAFETY: byte `i >> per_byte_log2` is below `packed_len(count,
            // bits)` (caller).
            unsafe { packed.add(i >> per_byte_log2).write(byte) };
            byte = 0;
        }
    }
}

/// Unpacks `count` codes of `bits` bits, as [`pack`] wrote them, each
/// sign-extended for a signed `C`.
///
/// # Safety
/// `bits` is 1, 2, 4 or 8; `packed` is valid for reading `packed_len(count,
/// bits)` bytes, `codes` for writing `count` codes, and the two do not
/// overlap.
pub(crate) unsafe fn unpack<C: Packable>(
    packed: *const u8,
    count: usize,
    bits: u32,
    codes: *mut C,
) {
    let Some(log2) = width_log2(bits) else { return };
    let per_byte_log2 = 3 - log2;
    let mask = ((1u32 << bits) - 1) as u8;
    for i in 0..count {
        let slot = (i & ((1 << per_byte_log2) - 1)) as u32;
        // SAFETY: byte `i >> per_byte_log2` is below `packed_len(count,
        // bits)`, and code `i` below `count` (caller).
        unsafe {
            let byte = packed.add(i >> per_byte_log2).read();
            codes
                .add(i)
                .write(C::extend((byte >> (slot << log2)) & mask, bits));
        }
    }
}
