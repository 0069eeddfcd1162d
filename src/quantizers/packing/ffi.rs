//! Packing: the C entry points, each one call (see `crate::ffi`).
#![allow(clippy::missing_safety_doc)]

use super::{pack, unpack};
use crate::boundary::Raw;

/// Bytes that count codes of bits bits take packed: (count * bits + 7) / 8
/// without overflow; 0 unless bits is 1, 2, 4 or 8.
#[no_mangle]
pub extern "C" fn qat_packed_size(count: usize, bits: u32) -> usize {
    crate::packed_len(count, bits).unwrap_or(0)
}

/// Packs count codes of bits bits (1, 2, 4 or 8, else QAT_ERR_BIT_WIDTH)
/// densely into qat_packed_size(count, bits) bytes: the first code in the
/// lowest bits of the first byte, the last byte's unused bits zero. A code
/// of 2^bits or more gives QAT_ERR_CODE, writing nothing.
///
/// Safety: each non-null pointer must be valid for its count of elements.
#[no_mangle]
pub unsafe extern "C" fn qat_pack_codes(
    codes: *const u8,
    count: usize,
    bits: u32,
    packed: *mut u8,
) -> i32 {
    raw!(pack::<Raw, u8>(codes, count, bits, packed))
}

/// Unpacks count codes of bits bits from qat_packed_size(count, bits) bytes,
/// as qat_pack_codes wrote them.
///
/// Safety: each non-null pointer must be valid for its count of elements.
#[no_mangle]
pub unsafe extern "C" fn qat_unpack_codes(
    packed: *const u8,
    count: usize,
    bits: u32,
    codes: *mut u8,
) -> i32 {
    raw!(unpack::<Raw, u8>(packed, bits, codes, count))
}

/// qat_pack_codes for signed codes (the symmetric quantizers'), each stored
/// as its two's complement in bits bits: codes must lie in
/// -2^(bits-1)..2^(bits-1)-1, else QAT_ERR_CODE.
///
/// Safety: each non-null pointer must be valid for its count of elements.
#[no_mangle]
pub unsafe extern "C" fn qat_pack_signed_codes(
    codes: *const i8,
    count: usize,
    bits: u32,
    packed: *mut u8,
) -> i32 {
    raw!(pack::<Raw, i8>(codes, count, bits, packed))
}

/// Unpacks signed codes packed by qat_pack_signed_codes, sign-extended.
///
/// Safety: each non-null pointer must be valid for its count of elements.
#[no_mangle]
pub unsafe extern "C" fn qat_unpack_signed_codes(
    packed: *const u8,
    count: usize,
    bits: u32,
    codes: *mut i8,
) -> i32 {
    raw!(unpack::<Raw, i8>(packed, bits, codes, count))
}

/// The entry points above in the tests' registry (`crate::registry`).
/// cbindgen:ignore
#[cfg(feature = "test-hooks")]
pub(crate) mod registry {
    use super::*;
    use crate::registry::Count::*;
    use crate::registry::Elem::*;
    use crate::registry::*;

    /// Its entry points.
    pub(crate) static ENTRY_POINTS: &[EntryPoint] = &[
        EntryPoint {
            name: "qat_pack_codes",
            dtype: None,
            role: Role::Pack {
                unpack: "qat_unpack_codes",
            },
            shape: Shape::Pack,
            params: Params::Width,
            contents: Contents::Codes,
            calibration: false,
            reference: None,
            rust: None,
            buffers: &[buf("codes", U8, IN, Codes), buf("packed", U8, OUT, Packed)],
            // SAFETY: the caller's addresses are valid for the buffers' counts.
            call: |p, a| unsafe {
                qat_pack_codes(p!(p, 0), a.sizes[0], a.sizes[1] as u32, p!(p, 1))
            },
        },
        EntryPoint {
            name: "qat_unpack_codes",
            dtype: None,
            role: Role::Unpack,
            shape: Shape::Pack,
            params: Params::Width,
            contents: Contents::None,
            calibration: false,
            reference: None,
            rust: None,
            buffers: &[buf("packed", U8, IN, Packed), buf("codes", U8, OUT, Codes)],
            // SAFETY: the caller's addresses are valid for the buffers' counts.
            call: |p, a| unsafe {
                qat_unpack_codes(p!(p, 0), a.sizes[0], a.sizes[1] as u32, p!(p, 1))
            },
        },
        EntryPoint {
            name: "qat_pack_signed_codes",
            dtype: None,
            role: Role::Pack {
                unpack: "qat_unpack_signed_codes",
            },
            shape: Shape::Pack,
            params: Params::Width,
            contents: Contents::Codes,
            calibration: false,
            reference: None,
            rust: None,
            buffers: &[buf("codes", I8, IN, Codes), buf("packed", U8, OUT, Packed)],
            // SAFETY: the caller's addresses are valid for the buffers' counts.
            call: |p, a| unsafe {
                qat_pack_signed_codes(p!(p, 0), a.sizes[0], a.sizes[1] as u32, p!(p, 1))
            },
        },
        EntryPoint {
            name: "qat_unpack_signed_codes",
            dtype: None,
            role: Role::Unpack,
            shape: Shape::Pack,
            params: Params::Width,
            contents: Contents::None,
            calibration: false,
            reference: None,
            rust: None,
            buffers: &[buf("packed", U8, IN, Packed), buf("codes", I8, OUT, Codes)],
            // SAFETY: the caller's addresses are valid for the buffers' counts.
            call: |p, a| unsafe {
                qat_unpack_signed_codes(p!(p, 0), a.sizes[0], a.sizes[1] as u32, p!(p, 1))
            },
        },
    ];
}
