//! Packing of integer codes at 1, 2, 4 or 8 bits: the functions on slices
//! and, in `ffi`, the C entry points.

use crate::boundary::{input, output, Boundary, In, Out, Slices};
use crate::codes::{self, Packable};
use crate::{Argument, Error, Rule};

pub(crate) mod ffi;

/// Bytes that `count` codes of `bits` bits take packed ([`pack_codes`]):
/// `None` unless `bits` is 1, 2, 4 or 8.
///
/// ```
/// assert_eq!(qat_kernels::packed_len(1001, 4), Some(501));
/// assert_eq!(qat_kernels::packed_len(8, 3), None);
/// ```
pub fn packed_len(count: usize, bits: u32) -> Option<usize> {
    codes::packed_len(count, bits)
}

/// Packs codes of `bits` bits (1, 2, 4 or 8) densely: the first code in the
/// lowest bits of the first byte; the last byte's unused bits are zero.
/// `packed` must hold [`packed_len`] bytes ([`Status::Shape`]); a code of
/// `2^bits` or more gives [`Status::Code`], and a width other than 1, 2, 4
/// or 8 [`Status::BitWidth`], with nothing written.
///
/// [`Status::Shape`]: crate::Status::Shape
/// [`Status::Code`]: crate::Status::Code
/// [`Status::BitWidth`]: crate::Status::BitWidth
///
/// ```
/// let mut packed = [0u8; 2];
/// qat_kernels::pack_codes(&[1, 2, 15], 4, &mut packed).unwrap();
/// assert_eq!(packed, [0x21, 0x0F]);
/// let mut codes = [0u8; 3];
/// qat_kernels::unpack_codes(&packed, 4, &mut codes).unwrap();
/// assert_eq!(codes, [1, 2, 15]);
/// ```
pub fn pack_codes(codes: &[u8], bits: u32, packed: &mut [u8]) -> Result<(), Error> {
    slices!(pack::<Slices, u8>(codes, codes.len(), bits, packed))
}

/// The codes [`pack_codes`] packed: `codes.len()` of them from
/// [`packed_len`] bytes.
pub fn unpack_codes(packed: &[u8], bits: u32, codes: &mut [u8]) -> Result<(), Error> {
    let count = codes.len();
    slices!(unpack::<Slices, u8>(packed, bits, Out::from(codes), count))
}

/// [`pack_codes`] for signed codes (the symmetric quantizers'), each stored
/// as its two's complement in `bits` bits: codes must lie in
/// `-2^(bits-1)..2^(bits-1)`.
///
/// ```
/// let mut packed = [0u8; 1];
/// qat_kernels::pack_signed_codes(&[-8, 7], 4, &mut packed).unwrap();
/// assert_eq!(packed, [0x78]);
/// let mut codes = [0i8; 2];
/// qat_kernels::unpack_signed_codes(&packed, 4, &mut codes).unwrap();
/// assert_eq!(codes, [-8, 7]);
/// ```
pub fn pack_signed_codes(codes: &[i8], bits: u32, packed: &mut [u8]) -> Result<(), Error> {
    slices!(pack::<Slices, i8>(codes, codes.len(), bits, packed))
}

/// The codes [`pack_signed_codes`] packed, sign-extended.
pub fn unpack_signed_codes(packed: &[u8], bits: u32, codes: &mut [i8]) -> Result<(), Error> {
    let count = codes.len();
    slices!(unpack::<Slices, i8>(packed, bits, Out::from(codes), count))
}

/// The packed length of `count` codes of `bits` bits, after the width
/// ([`Rule::PackingWidth`]) and then the count ([`Rule::TooLarge`]
/// beyond `isize::MAX`).
fn checked_packed_len(count: usize, bits: u32) -> Result<usize, Error> {
    let len =
        codes::packed_len(count, bits).ok_or(Error::new(Argument::Bits, Rule::PackingWidth))?;
    if count > isize::MAX as usize {
        return Err(Error::new(Argument::Count, Rule::TooLarge));
    }
    Ok(len)
}

/// Validates and packs `count` codes of `bits` bits into `packed`: the
/// width, the lengths, the boundary's checks, then every code's fit
/// ([`Status::Code`](crate::Status::Code)).
///
/// # Safety
/// Each pointer that passes `B`'s checks must be valid for its count.
pub(crate) unsafe fn pack<B: Boundary, C: Packable>(
    codes: impl Into<In<C, B::Len>>,
    count: usize,
    bits: u32,
    packed: impl Into<Out<u8, B::Len>>,
) -> B::Status {
    let (codes, packed) = (codes.into(), packed.into());
    B::status((|| {
        let len = checked_packed_len(count, bits)?;
        B::check(
            || {
                [
                    input(Argument::Codes, codes, count),
                    output(Argument::Packed, packed, len),
                ]
            },
            || Ok(()),
        )?;
        // SAFETY: valid and not overlapping (caller, checked); the codes fit
        // before anything is written. Signed codes pack as their bytes' low
        // bits, their two's complement fields.
        unsafe {
            codes::codes_fit(codes.ptr, count, bits)?;
            codes::pack(codes.ptr.cast(), count, bits, packed.ptr);
        }
        Ok(())
    })())
}

/// Validates and unpacks `count` codes of `bits` bits from `packed`: the
/// width, the lengths, the boundary's checks.
///
/// # Safety
/// Each pointer that passes `B`'s checks must be valid for its count.
pub(crate) unsafe fn unpack<B: Boundary, C: Packable>(
    packed: impl Into<In<u8, B::Len>>,
    bits: u32,
    codes: impl Into<Out<C, B::Len>>,
    count: usize,
) -> B::Status {
    let (packed, codes) = (packed.into(), codes.into());
    B::status((|| {
        let len = checked_packed_len(count, bits)?;
        B::check(
            || {
                [
                    input(Argument::Packed, packed, len),
                    output(Argument::Codes, codes, count),
                ]
            },
            || Ok(()),
        )?;
        // SAFETY: valid and not overlapping (caller, checked).
        unsafe { codes::unpack(packed.ptr, count, bits, codes.ptr) };
        Ok(())
    })())
}
