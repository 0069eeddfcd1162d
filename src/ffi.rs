//! The C ABI: each quantizer's entry points (in its module of
//! `quantizers`, re-exported here), and the library's own: the ISA, status
//! messages, the version, the reduction's block count.
//!
//! Every function checks its pointers, sizes and parameters before touching
//! memory, writes nothing unless it returns `QAT_OK`, and cannot panic. The
//! status codes and ISA values are the discriminants of [`Error`] and
//! [`Isa`], which cbindgen writes into the header as `QAT_ERR_*` and
//! `QAT_ISA_*`.
#![allow(non_camel_case_types)]
// The functions' docs are the header's, written for C readers: each states
// its pointer contract in a "Safety:" paragraph.
#![allow(clippy::missing_safety_doc)]

use core::ffi::c_char;

use crate::boundary::status;
use crate::{set_isa, Error, Isa};

pub use crate::quantizers::c::*;

/// A bfloat16 value as its 16-bit pattern (the top half of an IEEE f32).
pub type qat_bf16 = u16;

pub use crate::error::QAT_OK;

/// Blocks in the reduction of len terms: len / 4096 rounded up. The block
/// values of a group, row or tensor of len elements number
/// 2 * qat_block_count(len).
#[no_mangle]
pub extern "C" fn qat_block_count(len: usize) -> usize {
    crate::block_count(len)
}

/// Selects the instruction set every later call takes, process-wide and
/// thread-safe (QAT_ISA_AUTO: the best available). Returns
/// QAT_ERR_UNSUPPORTED_ISA, changing nothing, if this CPU or build lacks it or
/// the code is unknown.
#[no_mangle]
pub extern "C" fn qat_set_isa(isa: i32) -> i32 {
    status(
        Isa::from_code(isa)
            .ok_or(Error::UnsupportedIsa)
            .and_then(set_isa),
    )
}

/// The instruction set calls take now (never QAT_ISA_AUTO).
#[no_mangle]
pub extern "C" fn qat_active_isa() -> i32 {
    crate::active_isa() as i32
}

/// A static, NUL-terminated description of a status code (never NULL; unknown
/// codes get "unknown status code").
#[no_mangle]
pub extern "C" fn qat_status_message(status: i32) -> *const c_char {
    let message = match Error::from_code(status) {
        Some(error) => error.c_message(),
        None if status == QAT_OK => c"ok",
        None => c"unknown status code",
    };
    message.as_ptr()
}

/// The library version, e.g. "0.1.0" (static, NUL-terminated).
#[no_mangle]
pub extern "C" fn qat_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}
