//! Asymmetric per channel: the C entry points, each one call (see
//! `crate::ffi`), on the per-group call with each row a group.
#![allow(clippy::missing_safety_doc)]

use super::rows_as_groups;
use crate::boundary::Raw;
use crate::call::{Call, Shape};
use crate::ffi::qat_bf16;
use crate::quantizers::Calibration;
use crate::{dispatch, AsymmetricPerChannel, AsymmetricPerGroup};

/// A per-channel call from C on `rows` rows of `cols`, on the active path.
fn per_row(
    rows: usize,
    cols: usize,
    bit: u32,
    eps: f32,
    clip_val: f32,
) -> Call<Raw, AsymmetricPerGroup> {
    let params = AsymmetricPerChannel { bit, eps, clip_val };
    rows_as_groups(
        |s, p| Call::new(dispatch::active(), s, p),
        Shape::rows(rows, cols),
        &params,
    )
}

/// Asymmetric per-channel fake quantization (LSQ+ forward) of a row-major
/// rows x cols matrix, one scale and offset per row: qat_asymmetric_per_group
/// with each row a group. out may be weight (in place).
///
/// Safety: each non-null pointer must be valid for its count of elements.
#[no_mangle]
pub unsafe extern "C" fn qat_asymmetric_per_channel(
    weight: *const qat_bf16,
    scale: *const qat_bf16,
    offset: *const qat_bf16,
    out: *mut qat_bf16,
    rows: usize,
    cols: usize,
    bit: u32,
    eps: f32,
    clip_val: f32,
) -> i32 {
    raw!(per_row(rows, cols, bit, eps, clip_val).forward(weight, (scale, offset), out))
}

/// Backward of qat_asymmetric_per_channel: writes grad_weight (rows x cols),
/// grad_scale and grad_offset (one per row). An output may be exactly an
/// input of the same length; no other overlap is allowed.
///
/// Safety: each non-null pointer must be valid for its count of elements.
#[no_mangle]
pub unsafe extern "C" fn qat_asymmetric_per_channel_backward(
    grad_output: *const qat_bf16,
    weight: *const qat_bf16,
    scale: *const qat_bf16,
    offset: *const qat_bf16,
    grad_weight: *mut qat_bf16,
    grad_scale: *mut qat_bf16,
    grad_offset: *mut qat_bf16,
    rows: usize,
    cols: usize,
    bit: u32,
    eps: f32,
    clip_val: f32,
) -> i32 {
    raw!(per_row(rows, cols, bit, eps, clip_val).backward(
        grad_output,
        weight,
        (scale, offset),
        grad_weight,
        (grad_scale, grad_offset),
    ))
}

/// Export: qat_asymmetric_per_group_quantize with each row a group (codes
/// holds rows x cols bytes).
///
/// Safety: each non-null pointer must be valid for its count of elements.
#[no_mangle]
pub unsafe extern "C" fn qat_asymmetric_per_channel_quantize(
    weight: *const qat_bf16,
    scale: *const qat_bf16,
    offset: *const qat_bf16,
    codes: *mut u8,
    rows: usize,
    cols: usize,
    bit: u32,
    eps: f32,
    clip_val: f32,
) -> i32 {
    raw!(per_row(rows, cols, bit, eps, clip_val).quantize(weight, (scale, offset), codes))
}

/// The values of codes from qat_asymmetric_per_channel_quantize, as
/// qat_asymmetric_per_group_dequantize with each row a group.
///
/// Safety: each non-null pointer must be valid for its count of elements.
#[no_mangle]
pub unsafe extern "C" fn qat_asymmetric_per_channel_dequantize(
    codes: *const u8,
    scale: *const qat_bf16,
    offset: *const qat_bf16,
    out: *mut qat_bf16,
    rows: usize,
    cols: usize,
    bit: u32,
    eps: f32,
    clip_val: f32,
) -> i32 {
    raw!(per_row(rows, cols, bit, eps, clip_val).dequantize(codes, (scale, offset), out))
}

/// qat_asymmetric_per_channel_backward for one shard: grad_weight, and each
/// row's two sums as f64 block values (2 * qat_block_count(cols) per row),
/// for qat_asymmetric_per_channel_finish once the shards' values are
/// combined.
///
/// Safety: each non-null pointer must be valid for its count of elements.
#[no_mangle]
pub unsafe extern "C" fn qat_asymmetric_per_channel_backward_blocks(
    grad_output: *const qat_bf16,
    weight: *const qat_bf16,
    scale: *const qat_bf16,
    offset: *const qat_bf16,
    grad_weight: *mut qat_bf16,
    block_sums: *mut f64,
    rows: usize,
    cols: usize,
    bit: u32,
    eps: f32,
    clip_val: f32,
) -> i32 {
    raw!(per_row(rows, cols, bit, eps, clip_val).backward_blocks(
        grad_output,
        weight,
        (scale, offset),
        grad_weight,
        block_sums,
    ))
}

/// The scale and offset gradients that one qat_asymmetric_per_channel_backward
/// call over rows x cols weights gives, from the rows' block values.
/// grad_scale may be scale (in place).
///
/// Safety: each non-null pointer must be valid for its count of elements.
#[no_mangle]
pub unsafe extern "C" fn qat_asymmetric_per_channel_finish(
    block_sums: *const f64,
    scale: *const qat_bf16,
    grad_scale: *mut qat_bf16,
    grad_offset: *mut qat_bf16,
    rows: usize,
    cols: usize,
    bit: u32,
    eps: f32,
    clip_val: f32,
) -> i32 {
    raw!(per_row(rows, cols, bit, eps, clip_val).finish(
        block_sums,
        scale,
        (grad_scale, grad_offset)
    ))
}

/// Calibration per row: qat_asymmetric_per_group_calibrate with each row a
/// group.
///
/// Safety: each non-null pointer must be valid for its count of elements.
#[no_mangle]
pub unsafe extern "C" fn qat_asymmetric_per_channel_calibrate(
    weight: *const qat_bf16,
    scale: *mut qat_bf16,
    offset: *mut qat_bf16,
    rows: usize,
    cols: usize,
    bit: u32,
    eps: f32,
    clip_val: f32,
    mode: i32,
) -> i32 {
    raw!(per_row(rows, cols, bit, eps, clip_val).calibrate(
        weight,
        (scale, offset),
        Calibration::from_code(mode)
    ))
}
