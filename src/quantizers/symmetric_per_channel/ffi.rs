//! Symmetric per channel: the C entry points, each one call (see `crate::ffi`).
#![allow(clippy::missing_safety_doc)]

use crate::boundary::Raw;
use crate::call::{Call, Shape};
use crate::dispatch;
use crate::ffi::qat_bf16;
use crate::quantizers::Calibration;
use crate::Symmetric;

/// A symmetric call from C on `rows` rows of `cols` (per tensor: one row),
/// on the active path.
pub(crate) fn per_channel(
    rows: usize,
    cols: usize,
    eps: f32,
    min_v: f32,
    max_v: f32,
) -> Call<Raw, Symmetric> {
    let params = Symmetric { eps, min_v, max_v };
    Call::new(dispatch::active(), Shape::rows(rows, cols), params)
}

/// Symmetric per-channel fake quantization (LSQ forward) of a row-major
/// rows x cols matrix, one scale per row. out may be weight.
///
/// Safety: each non-null pointer must be valid for its count of elements.
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
    raw!(per_channel(rows, cols, eps, min_v, max_v).forward(weight, scale, out))
}

/// Backward of qat_symmetric_per_channel: writes grad_weight (rows x cols) and
/// grad_scale (one per row).
///
/// Safety: each non-null pointer must be valid for its count of elements.
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
    raw!(per_channel(rows, cols, eps, min_v, max_v).backward(
        grad_output,
        weight,
        scale,
        grad_weight,
        grad_scale,
    ))
}

/// Export: the integer code c = clip(round(x / ps), min_v, max_v) of each
/// weight of a rows x cols matrix, one scale per row; min_v and max_v must
/// lie in -128..=127 (else QAT_ERR_RANGE). Succeeds exactly when every
/// value qat_symmetric_per_channel gives is finite; otherwise (a NaN weight
/// or scale, an infinite scale, c * ps past bf16's range) returns
/// QAT_ERR_NON_FINITE and writes nothing.
///
/// Safety: each non-null pointer must be valid for its count of elements.
#[no_mangle]
pub unsafe extern "C" fn qat_symmetric_per_channel_quantize(
    weight: *const qat_bf16,
    scale: *const qat_bf16,
    codes: *mut i8,
    rows: usize,
    cols: usize,
    eps: f32,
    min_v: f32,
    max_v: f32,
) -> i32 {
    raw!(per_channel(rows, cols, eps, min_v, max_v).quantize(weight, scale, codes))
}

/// The values of codes from qat_symmetric_per_channel_quantize: out[i] =
/// codes[i] * max(scale, eps), narrowed to bf16. QAT_ERR_CODE, writing
/// nothing, for a code outside [min_v, max_v].
///
/// Safety: each non-null pointer must be valid for its count of elements.
#[no_mangle]
pub unsafe extern "C" fn qat_symmetric_per_channel_dequantize(
    codes: *const i8,
    scale: *const qat_bf16,
    out: *mut qat_bf16,
    rows: usize,
    cols: usize,
    eps: f32,
    min_v: f32,
    max_v: f32,
) -> i32 {
    raw!(per_channel(rows, cols, eps, min_v, max_v).dequantize(codes, scale, out))
}

/// qat_symmetric_per_channel_backward for one shard: each row's two sums
/// as block values (2 * qat_block_count(cols) per row) instead of the scale
/// gradients, for qat_symmetric_per_channel_finish.
///
/// Safety: each non-null pointer must be valid for its count of elements.
#[no_mangle]
pub unsafe extern "C" fn qat_symmetric_per_channel_backward_blocks(
    grad_output: *const qat_bf16,
    weight: *const qat_bf16,
    scale: *const qat_bf16,
    grad_weight: *mut qat_bf16,
    block_sums: *mut f64,
    rows: usize,
    cols: usize,
    eps: f32,
    min_v: f32,
    max_v: f32,
) -> i32 {
    raw!(per_channel(rows, cols, eps, min_v, max_v).backward_blocks(
        grad_output,
        weight,
        scale,
        grad_weight,
        block_sums,
    ))
}

/// The scale gradients that one qat_symmetric_per_channel_backward call
/// gives, from the rows' block values. grad_scale may be scale (in place).
///
/// Safety: each non-null pointer must be valid for its count of elements.
#[no_mangle]
pub unsafe extern "C" fn qat_symmetric_per_channel_finish(
    block_sums: *const f64,
    scale: *const qat_bf16,
    grad_scale: *mut qat_bf16,
    rows: usize,
    cols: usize,
    eps: f32,
    min_v: f32,
    max_v: f32,
) -> i32 {
    raw!(per_channel(rows, cols, eps, min_v, max_v).finish(block_sums, scale, grad_scale))
}

/// Calibration per channel: writes each row's scale, as
/// qat_asymmetric_per_group_calibrate (candidates: fractions of
/// max|w| / max_v).
///
/// Safety: each non-null pointer must be valid for its count of elements.
#[no_mangle]
pub unsafe extern "C" fn qat_symmetric_per_channel_calibrate(
    weight: *const qat_bf16,
    scale: *mut qat_bf16,
    rows: usize,
    cols: usize,
    eps: f32,
    min_v: f32,
    max_v: f32,
    mode: i32,
) -> i32 {
    raw!(per_channel(rows, cols, eps, min_v, max_v).calibrate(
        weight,
        scale,
        Calibration::from_code(mode),
    ))
}
