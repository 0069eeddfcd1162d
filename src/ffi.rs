//! The C ABI: a thin layer over [`Backend`]'s validated entry points.
//!
//! Every function checks its pointers, sizes and parameters before touching
//! memory, writes nothing unless it returns `QAT_OK`, and cannot panic.
#![allow(non_camel_case_types)]

use core::ffi::c_char;

use crate::error::status_text;
use crate::{set_isa, AsymmetricPerGroup, Backend, Error, Isa, Symmetric};

/// A bfloat16 value as its 16-bit pattern (the top half of an IEEE f32).
pub type qat_bf16 = u16;

// The numbers below are literals so that cbindgen writes them into the header;
// a test checks that they equal `Error::code` and `Isa as i32`.

/// Success.
pub const QAT_OK: i32 = 0;
/// A pointer is null with a nonzero count, not 2-byte aligned, or its buffer
/// would wrap around the address space.
pub const QAT_ERR_POINTER: i32 = 1;
/// group_size is 0 or does not divide numel, or a size overflows or exceeds
/// PTRDIFF_MAX bytes.
pub const QAT_ERR_SHAPE: i32 = 2;
/// bit is outside 1..=16.
pub const QAT_ERR_BIT_WIDTH: i32 = 3;
/// eps is not finite and positive.
pub const QAT_ERR_EPS: i32 = 4;
/// clip_val is not finite with 0 < clip_val < 1.
pub const QAT_ERR_CLIP: i32 = 5;
/// min_v, max_v are not finite integers with min_v <= max_v and |v| <= 2^24.
pub const QAT_ERR_RANGE: i32 = 6;
/// Buffers overlap, other than an output being exactly an input of the same
/// length (an in-place call).
pub const QAT_ERR_OVERLAP: i32 = 7;
/// The requested instruction set is not supported by this CPU or build.
pub const QAT_ERR_UNSUPPORTED_ISA: i32 = 8;

/// The best instruction set available (the default).
pub const QAT_ISA_AUTO: i32 = 0;
/// The portable path, available everywhere.
pub const QAT_ISA_SCALAR: i32 = 1;
/// AVX2 (x86, x86-64).
pub const QAT_ISA_AVX2: i32 = 2;
/// NEON (aarch64).
pub const QAT_ISA_NEON: i32 = 3;
/// AVX-512 F, BW and VL, with AVX2 (x86, x86-64); an extension of SPEC's list, the best
/// path where the CPU has it.
pub const QAT_ISA_AVX512: i32 = 4;

fn status(result: Result<(), Error>) -> i32 {
    match result {
        Ok(()) => QAT_OK,
        Err(error) => error.code(),
    }
}

/// Asymmetric per-group fake quantization (LSQ+ forward).
///
/// `weight` and `out` hold `numel` values, `scale` and `offset` one per group
/// of `group_size` consecutive weights. `out` may be `weight` (in place).
/// Defaults of the reference: group_size 128, bit 4, eps 1e-4, clip_val 0.99.
///
/// # Safety
/// Each non-null pointer must be valid for its count of elements.
#[no_mangle]
pub unsafe extern "C" fn qat_asymmetric_per_group(
    weight: *const qat_bf16,
    scale: *const qat_bf16,
    offset: *const qat_bf16,
    out: *mut qat_bf16,
    numel: usize,
    group_size: usize,
    bit: u32,
    eps: f32,
    clip_val: f32,
) -> i32 {
    let params = AsymmetricPerGroup {
        group_size,
        bit,
        eps,
        clip_val,
    };
    // SAFETY: the caller's pointers are valid for their counts; the call
    // checks everything else.
    status(unsafe {
        Backend::active().asymmetric_per_group_raw(weight, scale, offset, out, numel, &params)
    })
}

/// Backward of qat_asymmetric_per_group: writes grad_weight (numel values),
/// grad_scale and grad_offset (one per group).
///
/// An output may be exactly an input of the same length (grad_weight =
/// grad_output, say); no other overlap is allowed.
///
/// # Safety
/// Each non-null pointer must be valid for its count of elements.
#[no_mangle]
pub unsafe extern "C" fn qat_asymmetric_per_group_backward(
    grad_output: *const qat_bf16,
    weight: *const qat_bf16,
    scale: *const qat_bf16,
    offset: *const qat_bf16,
    grad_weight: *mut qat_bf16,
    grad_scale: *mut qat_bf16,
    grad_offset: *mut qat_bf16,
    numel: usize,
    group_size: usize,
    bit: u32,
    eps: f32,
    clip_val: f32,
) -> i32 {
    let params = AsymmetricPerGroup {
        group_size,
        bit,
        eps,
        clip_val,
    };
    // SAFETY: as in qat_asymmetric_per_group.
    status(unsafe {
        Backend::active().asymmetric_per_group_backward_raw(
            grad_output,
            weight,
            scale,
            offset,
            grad_weight,
            grad_scale,
            grad_offset,
            numel,
            &params,
        )
    })
}

/// Symmetric per-channel fake quantization (LSQ forward) of a row-major
/// rows x cols matrix, one scale per row. `out` may be `weight`.
///
/// # Safety
/// Each non-null pointer must be valid for its count of elements.
#[no_mangle]
pub unsafe extern "C" fn qat_symmetric_per_channel(
    weight: *const qat_bf16,
    scale: *const qat_bf16,
    out: *mut qat_bf16,
    rows: usize,
    cols: usize,
    eps: f32,
    min_v: f32,
    max_v: f32,
) -> i32 {
    let params = Symmetric { eps, min_v, max_v };
    // SAFETY: as in qat_asymmetric_per_group.
    status(unsafe { Backend::active().symmetric_raw(weight, scale, out, rows, cols, &params) })
}

/// Backward of qat_symmetric_per_channel: writes grad_weight (rows x cols) and
/// grad_scale (one per row).
///
/// # Safety
/// Each non-null pointer must be valid for its count of elements.
#[no_mangle]
pub unsafe extern "C" fn qat_symmetric_per_channel_backward(
    grad_output: *const qat_bf16,
    weight: *const qat_bf16,
    scale: *const qat_bf16,
    grad_weight: *mut qat_bf16,
    grad_scale: *mut qat_bf16,
    rows: usize,
    cols: usize,
    eps: f32,
    min_v: f32,
    max_v: f32,
) -> i32 {
    let params = Symmetric { eps, min_v, max_v };
    // SAFETY: as in qat_asymmetric_per_group.
    status(unsafe {
        Backend::active().symmetric_backward_raw(
            grad_output,
            weight,
            scale,
            grad_weight,
            grad_scale,
            rows,
            cols,
            &params,
        )
    })
}

/// Symmetric per-tensor fake quantization: one scale (`scale[0]`) for all
/// `numel` weights. `out` may be `weight`.
///
/// # Safety
/// Each non-null pointer must be valid for its count of elements.
#[no_mangle]
pub unsafe extern "C" fn qat_symmetric_per_tensor(
    weight: *const qat_bf16,
    scale: *const qat_bf16,
    out: *mut qat_bf16,
    numel: usize,
    eps: f32,
    min_v: f32,
    max_v: f32,
) -> i32 {
    let params = Symmetric { eps, min_v, max_v };
    // SAFETY: as in qat_asymmetric_per_group.
    status(unsafe { Backend::active().symmetric_raw(weight, scale, out, 1, numel, &params) })
}

/// Backward of qat_symmetric_per_tensor: writes grad_weight (numel values) and
/// `grad_scale[0]`, the gradient summed over every element (+0.0 when numel is 0).
///
/// # Safety
/// Each non-null pointer must be valid for its count of elements.
#[no_mangle]
pub unsafe extern "C" fn qat_symmetric_per_tensor_backward(
    grad_output: *const qat_bf16,
    weight: *const qat_bf16,
    scale: *const qat_bf16,
    grad_weight: *mut qat_bf16,
    grad_scale: *mut qat_bf16,
    numel: usize,
    eps: f32,
    min_v: f32,
    max_v: f32,
) -> i32 {
    let params = Symmetric { eps, min_v, max_v };
    // SAFETY: as in qat_asymmetric_per_group.
    status(unsafe {
        Backend::active().symmetric_backward_raw(
            grad_output,
            weight,
            scale,
            grad_weight,
            grad_scale,
            1,
            numel,
            &params,
        )
    })
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
    status_text(status).as_ptr().cast()
}

/// The library version, e.g. "0.1.0" (static, NUL-terminated).
#[no_mangle]
pub extern "C" fn qat_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}
