//! Asymmetric per group: the C entry points, each one call (see `crate::ffi`).
#![allow(clippy::missing_safety_doc)]

use crate::boundary::Raw;
use crate::call::{Call, Shape};
use crate::dispatch;
use crate::ffi::qat_bf16;
use crate::quantizers::Calibration;
use crate::AsymmetricPerGroup;

/// A per-group call from C, on the active path.
fn per_group(
    numel: usize,
    group_size: usize,
    bit: u32,
    eps: f32,
    clip_val: f32,
) -> Call<Raw, AsymmetricPerGroup> {
    let params = AsymmetricPerGroup {
        group_size,
        bit,
        eps,
        clip_val,
    };
    Call::new(dispatch::active(), Shape::groups(numel, group_size), params)
}

/// Asymmetric per-group fake quantization (LSQ+ forward).
///
/// weight and out hold numel values, scale and offset one per group of
/// group_size consecutive weights. out may be weight (in place).
/// Typical values: group_size 128, bit 4, eps 1e-4, clip_val 0.99.
///
/// Safety: each non-null pointer must be valid for its count of elements.
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
    raw!(per_group(numel, group_size, bit, eps, clip_val).forward(weight, (scale, offset), out))
}

/// Backward of qat_asymmetric_per_group: writes grad_weight (numel values),
/// grad_scale and grad_offset (one per group).
///
/// An output may be exactly an input of the same length (grad_weight =
/// grad_output, say); no other overlap is allowed.
///
/// Safety: each non-null pointer must be valid for its count of elements.
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
    raw!(per_group(numel, group_size, bit, eps, clip_val).backward(
        grad_output,
        weight,
        (scale, offset),
        grad_weight,
        (grad_scale, grad_offset),
    ))
}

/// Export: the integer code of each weight, q = r + n in 0..2^bit (bit at
/// most 8), where r is the level qat_asymmetric_per_group snaps the weight
/// to, so that qat_asymmetric_per_group_dequantize gives back its output bit
/// for bit. codes holds numel bytes. Succeeds exactly when every value
/// qat_asymmetric_per_group gives is finite; otherwise (a NaN weight, scale
/// or offset, infinities meeting, a level past bf16's range) returns
/// QAT_ERR_NON_FINITE and writes nothing. Infinite weights whose value is
/// finite clip like large ones.
///
/// Safety: each non-null pointer must be valid for its count of elements.
#[no_mangle]
pub unsafe extern "C" fn qat_asymmetric_per_group_quantize(
    weight: *const qat_bf16,
    scale: *const qat_bf16,
    offset: *const qat_bf16,
    codes: *mut u8,
    numel: usize,
    group_size: usize,
    bit: u32,
    eps: f32,
    clip_val: f32,
) -> i32 {
    raw!(per_group(numel, group_size, bit, eps, clip_val).quantize(weight, (scale, offset), codes))
}

/// The values of codes (numel bytes) from qat_asymmetric_per_group_quantize:
/// out[i] = ((codes[i] - n) + 0.5) * max(scale, eps) + offset, in f32, one
/// operation at a time, narrowed to bf16. Returns QAT_ERR_CODE, writing
/// nothing, for a code of 2^bit or more.
///
/// Safety: each non-null pointer must be valid for its count of elements.
#[no_mangle]
pub unsafe extern "C" fn qat_asymmetric_per_group_dequantize(
    codes: *const u8,
    scale: *const qat_bf16,
    offset: *const qat_bf16,
    out: *mut qat_bf16,
    numel: usize,
    group_size: usize,
    bit: u32,
    eps: f32,
    clip_val: f32,
) -> i32 {
    raw!(per_group(numel, group_size, bit, eps, clip_val).dequantize(codes, (scale, offset), out))
}

/// qat_asymmetric_per_group_backward for one shard of a sharded weight:
/// writes grad_weight, and instead of the scale and offset gradients each
/// group's two sums as f64 block values (2 * qat_block_count(group_size)
/// per group: the offset sum's, then the scale sum's), for
/// qat_asymmetric_per_group_finish once the shards' values are combined.
///
/// Safety: each non-null pointer must be valid for its count of elements.
#[no_mangle]
pub unsafe extern "C" fn qat_asymmetric_per_group_backward_blocks(
    grad_output: *const qat_bf16,
    weight: *const qat_bf16,
    scale: *const qat_bf16,
    offset: *const qat_bf16,
    grad_weight: *mut qat_bf16,
    block_sums: *mut f64,
    numel: usize,
    group_size: usize,
    bit: u32,
    eps: f32,
    clip_val: f32,
) -> i32 {
    raw!(
        per_group(numel, group_size, bit, eps, clip_val).backward_blocks(
            grad_output,
            weight,
            (scale, offset),
            grad_weight,
            block_sums,
        )
    )
}

/// The scale and offset gradients that one qat_asymmetric_per_group_backward
/// call over numel weights gives, from the groups' block values (those of
/// qat_asymmetric_per_group_backward_blocks, combined across shards).
/// grad_scale may be scale (in place).
///
/// Safety: each non-null pointer must be valid for its count of elements.
#[no_mangle]
pub unsafe extern "C" fn qat_asymmetric_per_group_finish(
    block_sums: *const f64,
    scale: *const qat_bf16,
    grad_scale: *mut qat_bf16,
    grad_offset: *mut qat_bf16,
    numel: usize,
    group_size: usize,
    bit: u32,
    eps: f32,
    clip_val: f32,
) -> i32 {
    raw!(per_group(numel, group_size, bit, eps, clip_val).finish(
        block_sums,
        scale,
        (grad_scale, grad_offset),
    ))
}

/// Calibration per group: writes each group's scale and offset, those whose
/// forward pass is closest to the group's weights (mode QAT_CALIBRATE_SEARCH:
/// 64 fractions of the min/max scale, the offset at the middle of the
/// range, ties to the smaller scale) or LSQ's rule (QAT_CALIBRATE_LSQ).
/// QAT_ERR_NON_FINITE, writing nothing, for a NaN or infinite weight;
/// QAT_ERR_MODE for an unknown mode.
///
/// Safety: each non-null pointer must be valid for its count of elements.
#[no_mangle]
pub unsafe extern "C" fn qat_asymmetric_per_group_calibrate(
    weight: *const qat_bf16,
    scale: *mut qat_bf16,
    offset: *mut qat_bf16,
    numel: usize,
    group_size: usize,
    bit: u32,
    eps: f32,
    clip_val: f32,
    mode: i32,
) -> i32 {
    raw!(per_group(numel, group_size, bit, eps, clip_val).calibrate(
        weight,
        (scale, offset),
        Calibration::from_code(mode),
    ))
}
