//! Symmetric per tensor: the C entry points, each one call (see `crate::ffi`).
#![allow(clippy::missing_safety_doc)]

use crate::ffi::qat_bf16;
use crate::quantizers::symmetric_per_channel::ffi::per_channel;
use crate::quantizers::Calibration;

/// Symmetric per-tensor fake quantization: one scale (scale[0]) for all
/// numel weights. out may be weight. scale[0] must be valid even when numel
/// is 0.
///
/// Safety: each non-null pointer must be valid for its count of elements.
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
    raw!(per_channel(1, numel, eps, min_v, max_v).forward(weight, scale, out))
}

/// Backward of qat_symmetric_per_tensor: writes grad_weight (numel values) and
/// grad_scale[0], the gradient summed over every element (+0.0 when numel is 0).
/// scale[0] is read and grad_scale[0] written even when numel is 0, so both
/// pointers must be valid.
///
/// Safety: each non-null pointer must be valid for its count of elements.
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
    raw!(per_channel(1, numel, eps, min_v, max_v).backward(
        grad_output,
        weight,
        scale,
        grad_weight,
        grad_scale,
    ))
}

/// qat_symmetric_per_channel_quantize with one scale (scale[0], read even
/// when numel is 0) for all numel weights.
///
/// Safety: each non-null pointer must be valid for its count of elements.
#[no_mangle]
pub unsafe extern "C" fn qat_symmetric_per_tensor_quantize(
    weight: *const qat_bf16,
    scale: *const qat_bf16,
    codes: *mut i8,
    numel: usize,
    eps: f32,
    min_v: f32,
    max_v: f32,
) -> i32 {
    raw!(per_channel(1, numel, eps, min_v, max_v).quantize(weight, scale, codes))
}

/// qat_symmetric_per_channel_dequantize with one scale (scale[0], read even
/// when numel is 0).
///
/// Safety: each non-null pointer must be valid for its count of elements.
#[no_mangle]
pub unsafe extern "C" fn qat_symmetric_per_tensor_dequantize(
    codes: *const i8,
    scale: *const qat_bf16,
    out: *mut qat_bf16,
    numel: usize,
    eps: f32,
    min_v: f32,
    max_v: f32,
) -> i32 {
    raw!(per_channel(1, numel, eps, min_v, max_v).dequantize(codes, scale, out))
}

/// qat_symmetric_per_tensor_backward for one shard: the two sums as block
/// values (2 * qat_block_count(numel)) instead of the scale gradient, for
/// qat_symmetric_per_tensor_finish.
///
/// Safety: each non-null pointer must be valid for its count of elements.
#[no_mangle]
pub unsafe extern "C" fn qat_symmetric_per_tensor_backward_blocks(
    grad_output: *const qat_bf16,
    weight: *const qat_bf16,
    scale: *const qat_bf16,
    grad_weight: *mut qat_bf16,
    block_sums: *mut f64,
    numel: usize,
    eps: f32,
    min_v: f32,
    max_v: f32,
) -> i32 {
    raw!(per_channel(1, numel, eps, min_v, max_v).backward_blocks(
        grad_output,
        weight,
        scale,
        grad_weight,
        block_sums,
    ))
}

/// The scale gradient that one qat_symmetric_per_tensor_backward call over
/// numel weights gives, from the tensor's block values.
///
/// Safety: each non-null pointer must be valid for its count of elements.
#[no_mangle]
pub unsafe extern "C" fn qat_symmetric_per_tensor_finish(
    block_sums: *const f64,
    scale: *const qat_bf16,
    grad_scale: *mut qat_bf16,
    numel: usize,
    eps: f32,
    min_v: f32,
    max_v: f32,
) -> i32 {
    raw!(per_channel(1, numel, eps, min_v, max_v).finish(block_sums, scale, grad_scale))
}

/// Calibration per tensor: writes scale[0].
///
/// Safety: each non-null pointer must be valid for its count of elements.
#[no_mangle]
pub unsafe extern "C" fn qat_symmetric_per_tensor_calibrate(
    weight: *const qat_bf16,
    scale: *mut qat_bf16,
    numel: usize,
    eps: f32,
    min_v: f32,
    max_v: f32,
    mode: i32,
) -> i32 {
    raw!(per_channel(1, numel, eps, min_v, max_v).calibrate(
        weight,
        scale,
        Calibration::from_code(mode),
    ))
}
