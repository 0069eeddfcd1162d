//! Asymmetric per group's C entry points, each one call (see `crate::ffi`), and
//! their entries in the tests' registry.
//! Generated from interface.txt by `QAT_BLESS=1 cargo test --test
//! interface`, which fails while this file is stale: do not edit.
// The docs are the header's, written for C readers: `out[i]` is no link,
// and each states its pointer contract in a "Safety:" paragraph.
#![allow(rustdoc::broken_intra_doc_links, clippy::missing_safety_doc)]

use core::ffi::c_void;

use super::*;
use crate::ffi::{qat_bf16, unknown_dtype};
use crate::float::with_dtype;
use crate::quantizers::Calibration;

/// Asymmetric per-group fake quantization (LSQ+ forward): out[i] is weight[i]
/// snapped to its group's grid of 2^bit levels. scale and offset hold one value
/// per group of group_size consecutive weights. weight and out hold numel
/// values; out may be weight (in place). Typical values: group_size 128, bit 4,
/// eps 1e-4, clip_val 0.99.
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
    raw!(from_c(numel, group_size, bit, eps, clip_val).forward(weight, (scale, offset), out))
}

/// qat_asymmetric_per_group on data of the element type dtype (a QAT_DTYPE_*
/// value): the buffers typed void hold it, and the gradients of the scale and
/// offset are qat_bf16 with QAT_DTYPE_BF16, else float. An unknown dtype
/// returns QAT_ERR_DTYPE, before anything else is checked.
///
/// Safety: each non-null pointer must be valid for its count of elements.
#[no_mangle]
pub unsafe extern "C" fn qat_asymmetric_per_group_dtype(
    dtype: i32,
    weight: *const c_void,
    scale: *const qat_bf16,
    offset: *const qat_bf16,
    out: *mut c_void,
    numel: usize,
    group_size: usize,
    bit: u32,
    eps: f32,
    clip_val: f32,
) -> i32 {
    with_dtype!(dtype, |T, G| raw!(from_c(numel, group_size, bit, eps, clip_val).forward(weight.cast::<T>(), (scale, offset), out.cast::<T>())), else unknown_dtype())
}

/// Gradients of qat_asymmetric_per_group given the gradient of its output:
/// grad_weight (one per weight), grad_scale and grad_offset (one per group). An
/// output may be exactly an input of the same length (grad_weight =
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
    raw!(from_c(numel, group_size, bit, eps, clip_val).backward(
        grad_output,
        weight,
        (scale, offset),
        grad_weight,
        (grad_scale, grad_offset)
    ))
}

/// qat_asymmetric_per_group_backward on data of the element type dtype (a
/// QAT_DTYPE_* value): the buffers typed void hold it, and the gradients of the
/// scale and offset are qat_bf16 with QAT_DTYPE_BF16, else float. An unknown
/// dtype returns QAT_ERR_DTYPE, before anything else is checked.
///
/// Safety: each non-null pointer must be valid for its count of elements.
#[no_mangle]
pub unsafe extern "C" fn qat_asymmetric_per_group_backward_dtype(
    dtype: i32,
    grad_output: *const c_void,
    weight: *const c_void,
    scale: *const qat_bf16,
    offset: *const qat_bf16,
    grad_weight: *mut c_void,
    grad_scale: *mut c_void,
    grad_offset: *mut c_void,
    numel: usize,
    group_size: usize,
    bit: u32,
    eps: f32,
    clip_val: f32,
) -> i32 {
    with_dtype!(dtype, |T, G| raw!(from_c(numel, group_size, bit, eps, clip_val).backward(grad_output.cast::<T>(), weight.cast::<T>(), (scale, offset), grad_weight.cast::<T>(), (grad_scale.cast::<G>(), grad_offset.cast::<G>()))), else unknown_dtype())
}

/// Export: the integer code of each weight, q = r + n in 0..2^bit (bit at most
/// 8, else QAT_ERR_BIT_WIDTH), where r is the level qat_asymmetric_per_group
/// snaps the weight to, so that qat_asymmetric_per_group_dequantize gives back
/// its output bit for bit. Succeeds exactly when every value
/// qat_asymmetric_per_group gives is finite; otherwise (a NaN weight, scale or
/// offset, infinities meeting, a level past bf16's range) QAT_ERR_NON_FINITE,
/// with nothing written. Infinite weights whose value is finite clip like large
/// ones.
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
    raw!(from_c(numel, group_size, bit, eps, clip_val).quantize(weight, (scale, offset), codes))
}

/// qat_asymmetric_per_group_quantize on data of the element type dtype (a
/// QAT_DTYPE_* value): the buffers typed void hold it, and the gradients of the
/// scale and offset are qat_bf16 with QAT_DTYPE_BF16, else float. An unknown
/// dtype returns QAT_ERR_DTYPE, before anything else is checked.
///
/// Safety: each non-null pointer must be valid for its count of elements.
#[no_mangle]
pub unsafe extern "C" fn qat_asymmetric_per_group_quantize_dtype(
    dtype: i32,
    weight: *const c_void,
    scale: *const qat_bf16,
    offset: *const qat_bf16,
    codes: *mut u8,
    numel: usize,
    group_size: usize,
    bit: u32,
    eps: f32,
    clip_val: f32,
) -> i32 {
    with_dtype!(dtype, |T, G| raw!(from_c(numel, group_size, bit, eps, clip_val).quantize(weight.cast::<T>(), (scale, offset), codes)), else unknown_dtype())
}

/// The values of codes from qat_asymmetric_per_group_quantize: out[i] =
/// ((codes[i] - n) + 0.5) * max(scale, eps) + offset, in f32, one operation at
/// a time, narrowed to bf16: bit for bit the forward pass of the weights they
/// came from. QAT_ERR_CODE, with nothing written, for a code of 2^bit or more.
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
    raw!(from_c(numel, group_size, bit, eps, clip_val).dequantize(codes, (scale, offset), out))
}

/// qat_asymmetric_per_group_dequantize on data of the element type dtype (a
/// QAT_DTYPE_* value): the buffers typed void hold it, and the gradients of the
/// scale and offset are qat_bf16 with QAT_DTYPE_BF16, else float. An unknown
/// dtype returns QAT_ERR_DTYPE, before anything else is checked.
///
/// Safety: each non-null pointer must be valid for its count of elements.
#[no_mangle]
pub unsafe extern "C" fn qat_asymmetric_per_group_dequantize_dtype(
    dtype: i32,
    codes: *const u8,
    scale: *const qat_bf16,
    offset: *const qat_bf16,
    out: *mut c_void,
    numel: usize,
    group_size: usize,
    bit: u32,
    eps: f32,
    clip_val: f32,
) -> i32 {
    with_dtype!(dtype, |T, G| raw!(from_c(numel, group_size, bit, eps, clip_val).dequantize(codes, (scale, offset), out.cast::<T>())), else unknown_dtype())
}

/// qat_asymmetric_per_group_backward for one shard of a sharded weight: writes
/// grad_weight, and instead of the scale and offset gradients each group's two
/// sums as f64 block values (2 * qat_block_count(group_size) per group: the
/// offset sum's, then the scale sum's), for qat_asymmetric_per_group_finish
/// once the shards' values are combined (see docs/kernels.md, "Gradients across
/// shards").
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
        from_c(numel, group_size, bit, eps, clip_val).backward_blocks(
            grad_output,
            weight,
            (scale, offset),
            grad_weight,
            block_sums
        )
    )
}

/// qat_asymmetric_per_group_backward_blocks on data of the element type dtype
/// (a QAT_DTYPE_* value): the buffers typed void hold it, and the gradients of
/// the scale and offset are qat_bf16 with QAT_DTYPE_BF16, else float. An
/// unknown dtype returns QAT_ERR_DTYPE, before anything else is checked.
///
/// Safety: each non-null pointer must be valid for its count of elements.
#[no_mangle]
pub unsafe extern "C" fn qat_asymmetric_per_group_backward_blocks_dtype(
    dtype: i32,
    grad_output: *const c_void,
    weight: *const c_void,
    scale: *const qat_bf16,
    offset: *const qat_bf16,
    grad_weight: *mut c_void,
    block_sums: *mut f64,
    numel: usize,
    group_size: usize,
    bit: u32,
    eps: f32,
    clip_val: f32,
) -> i32 {
    with_dtype!(dtype, |T, G| raw!(from_c(numel, group_size, bit, eps, clip_val).backward_blocks(grad_output.cast::<T>(), weight.cast::<T>(), (scale, offset), grad_weight.cast::<T>(), block_sums)), else unknown_dtype())
}

/// The scale and offset gradients that one qat_asymmetric_per_group_backward
/// call gives, from the groups' block values (those of
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
    raw!(from_c(numel, group_size, bit, eps, clip_val).finish(
        block_sums,
        scale,
        (grad_scale, grad_offset)
    ))
}

/// qat_asymmetric_per_group_finish on data of the element type dtype (a
/// QAT_DTYPE_* value): the buffers typed void hold it, and the gradients of the
/// scale and offset are qat_bf16 with QAT_DTYPE_BF16, else float. An unknown
/// dtype returns QAT_ERR_DTYPE, before anything else is checked.
///
/// Safety: each non-null pointer must be valid for its count of elements.
#[no_mangle]
pub unsafe extern "C" fn qat_asymmetric_per_group_finish_dtype(
    dtype: i32,
    block_sums: *const f64,
    scale: *const qat_bf16,
    grad_scale: *mut c_void,
    grad_offset: *mut c_void,
    numel: usize,
    group_size: usize,
    bit: u32,
    eps: f32,
    clip_val: f32,
) -> i32 {
    with_dtype!(dtype, |T, G| raw!(from_c(numel, group_size, bit, eps, clip_val).finish(block_sums, scale, (grad_scale.cast::<G>(), grad_offset.cast::<G>()))), else unknown_dtype())
}

/// Calibration per group: writes each group's scale and offset, those whose
/// forward pass is closest to the group's weights (mode QAT_CALIBRATE_SEARCH:
/// 64 fractions of the min/max scale, the offset at the middle of the range,
/// ties to the smaller scale) or LSQ's rule (QAT_CALIBRATE_LSQ).
/// QAT_ERR_NON_FINITE, with nothing written, for a NaN or infinite weight.
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
    raw!(from_c(numel, group_size, bit, eps, clip_val).calibrate(
        weight,
        (scale, offset),
        Calibration::from_code(mode)
    ))
}

/// qat_asymmetric_per_group_calibrate on data of the element type dtype (a
/// QAT_DTYPE_* value): the buffers typed void hold it, and the gradients of the
/// scale and offset are qat_bf16 with QAT_DTYPE_BF16, else float. An unknown
/// dtype returns QAT_ERR_DTYPE, before anything else is checked.
///
/// Safety: each non-null pointer must be valid for its count of elements.
#[no_mangle]
pub unsafe extern "C" fn qat_asymmetric_per_group_calibrate_dtype(
    dtype: i32,
    weight: *const c_void,
    scale: *mut qat_bf16,
    offset: *mut qat_bf16,
    numel: usize,
    group_size: usize,
    bit: u32,
    eps: f32,
    clip_val: f32,
    mode: i32,
) -> i32 {
    with_dtype!(dtype, |T, G| raw!(from_c(numel, group_size, bit, eps, clip_val).calibrate(weight.cast::<T>(), (scale, offset), Calibration::from_code(mode))), else unknown_dtype())
}

/// The entry points above in the tests' registry (`crate::registry`).
/// cbindgen:ignore
#[cfg(feature = "test-hooks")]
pub(crate) mod registry {
    use super::*;
    use crate::registry::{entry, scalar, slice, slice_mut, status, EntryPoint, Role};
    use crate::{AsymmetricPerGroup, Backend, Calibration};

    pub(crate) static ENTRY_POINTS: &[EntryPoint] = &[
        entry! {
            qat_asymmetric_per_group(numel, group_size, bit, eps, clip_val),
            Role::Train,
            Group, Asymmetric, None, calibration: false,
            [
                weight: Bf16 IN All,
                scale: Bf16 IN Unit,
                offset: Bf16 IN Unit,
                out: Bf16 OUT All,
            ],
            rust: |p, a| Some(status(Backend::active().asymmetric_per_group(
                slice::<half::bf16>(p[0]),
                slice(p[1]),
                slice(p[2]),
                slice_mut::<half::bf16>(p[3]),
                &AsymmetricPerGroup { group_size: scalar!(a, group_size), bit: scalar!(a, bit), eps: scalar!(a, eps), clip_val: scalar!(a, clip_val) },
            ))),
        },
        entry! {
            qat_asymmetric_per_group_dtype[Bf16](numel, group_size, bit, eps, clip_val),
            Role::Train,
            Group, Asymmetric, None, calibration: false,
            [
                weight: Bf16 IN All,
                scale: Bf16 IN Unit,
                offset: Bf16 IN Unit,
                out: Bf16 OUT All,
            ],
        },
        entry! {
            qat_asymmetric_per_group_dtype[F32](numel, group_size, bit, eps, clip_val),
            Role::Train,
            Group, Asymmetric, None, calibration: false,
            [
                weight: F32 IN All,
                scale: Bf16 IN Unit,
                offset: Bf16 IN Unit,
                out: F32 OUT All,
            ],
        },
        entry! {
            qat_asymmetric_per_group_dtype[F16](numel, group_size, bit, eps, clip_val),
            Role::Train,
            Group, Asymmetric, None, calibration: false,
            [
                weight: F16 IN All,
                scale: Bf16 IN Unit,
                offset: Bf16 IN Unit,
                out: F16 OUT All,
            ],
        },
        entry! {
            qat_asymmetric_per_group_backward(numel, group_size, bit, eps, clip_val),
            Role::Train,
            Group, Asymmetric, None, calibration: false,
            [
                grad_output: Bf16 IN All,
                weight: Bf16 IN All,
                scale: Bf16 IN Unit,
                offset: Bf16 IN Unit,
                grad_weight: Bf16 OUT All,
                grad_scale: Bf16 OUT Unit,
                grad_offset: Bf16 OUT Unit,
            ],
            rust: |p, a| Some(status(Backend::active().asymmetric_per_group_backward(
                slice::<half::bf16>(p[0]),
                slice::<half::bf16>(p[1]),
                slice(p[2]),
                slice(p[3]),
                slice_mut::<half::bf16>(p[4]),
                slice_mut::<half::bf16>(p[5]),
                slice_mut::<half::bf16>(p[6]),
                &AsymmetricPerGroup { group_size: scalar!(a, group_size), bit: scalar!(a, bit), eps: scalar!(a, eps), clip_val: scalar!(a, clip_val) },
            ))),
        },
        entry! {
            qat_asymmetric_per_group_backward_dtype[Bf16](numel, group_size, bit, eps, clip_val),
            Role::Train,
            Group, Asymmetric, None, calibration: false,
            [
                grad_output: Bf16 IN All,
                weight: Bf16 IN All,
                scale: Bf16 IN Unit,
                offset: Bf16 IN Unit,
                grad_weight: Bf16 OUT All,
                grad_scale: Bf16 OUT Unit,
                grad_offset: Bf16 OUT Unit,
            ],
        },
        entry! {
            qat_asymmetric_per_group_backward_dtype[F32](numel, group_size, bit, eps, clip_val),
            Role::Train,
            Group, Asymmetric, None, calibration: false,
            [
                grad_output: F32 IN All,
                weight: F32 IN All,
                scale: Bf16 IN Unit,
                offset: Bf16 IN Unit,
                grad_weight: F32 OUT All,
                grad_scale: F32 OUT Unit,
                grad_offset: F32 OUT Unit,
            ],
        },
        entry! {
            qat_asymmetric_per_group_backward_dtype[F16](numel, group_size, bit, eps, clip_val),
            Role::Train,
            Group, Asymmetric, None, calibration: false,
            [
                grad_output: F16 IN All,
                weight: F16 IN All,
                scale: Bf16 IN Unit,
                offset: Bf16 IN Unit,
                grad_weight: F16 OUT All,
                grad_scale: F32 OUT Unit,
                grad_offset: F32 OUT Unit,
            ],
        },
        entry! {
            qat_asymmetric_per_group_quantize(numel, group_size, bit, eps, clip_val),
            Role::Quantize { forward: "qat_asymmetric_per_group", dequantize: "qat_asymmetric_per_group_dequantize" },
            Group, AsymmetricCodes, Finite, calibration: false,
            [
                weight: Bf16 IN All,
                scale: Bf16 IN Unit,
                offset: Bf16 IN Unit,
                codes: U8 OUT All,
            ],
            rust: |p, a| Some(status(Backend::active().asymmetric_per_group_quantize(
                slice::<half::bf16>(p[0]),
                slice(p[1]),
                slice(p[2]),
                slice_mut(p[3]),
                &AsymmetricPerGroup { group_size: scalar!(a, group_size), bit: scalar!(a, bit), eps: scalar!(a, eps), clip_val: scalar!(a, clip_val) },
            ))),
        },
        entry! {
            qat_asymmetric_per_group_quantize_dtype[Bf16](numel, group_size, bit, eps, clip_val),
            Role::Quantize { forward: "qat_asymmetric_per_group_dtype", dequantize: "qat_asymmetric_per_group_dequantize_dtype" },
            Group, AsymmetricCodes, Finite, calibration: false,
            [
                weight: Bf16 IN All,
                scale: Bf16 IN Unit,
                offset: Bf16 IN Unit,
                codes: U8 OUT All,
            ],
        },
        entry! {
            qat_asymmetric_per_group_quantize_dtype[F32](numel, group_size, bit, eps, clip_val),
            Role::Quantize { forward: "qat_asymmetric_per_group_dtype", dequantize: "qat_asymmetric_per_group_dequantize_dtype" },
            Group, AsymmetricCodes, Finite, calibration: false,
            [
                weight: F32 IN All,
                scale: Bf16 IN Unit,
                offset: Bf16 IN Unit,
                codes: U8 OUT All,
            ],
        },
        entry! {
            qat_asymmetric_per_group_quantize_dtype[F16](numel, group_size, bit, eps, clip_val),
            Role::Quantize { forward: "qat_asymmetric_per_group_dtype", dequantize: "qat_asymmetric_per_group_dequantize_dtype" },
            Group, AsymmetricCodes, Finite, calibration: false,
            [
                weight: F16 IN All,
                scale: Bf16 IN Unit,
                offset: Bf16 IN Unit,
                codes: U8 OUT All,
            ],
        },
        entry! {
            qat_asymmetric_per_group_dequantize(numel, group_size, bit, eps, clip_val),
            Role::Dequantize,
            Group, AsymmetricCodes, Codes, calibration: false,
            [
                codes: U8 IN All,
                scale: Bf16 IN Unit,
                offset: Bf16 IN Unit,
                out: Bf16 OUT All,
            ],
            rust: |p, a| Some(status(Backend::active().asymmetric_per_group_dequantize(
                slice(p[0]),
                slice(p[1]),
                slice(p[2]),
                slice_mut::<half::bf16>(p[3]),
                &AsymmetricPerGroup { group_size: scalar!(a, group_size), bit: scalar!(a, bit), eps: scalar!(a, eps), clip_val: scalar!(a, clip_val) },
            ))),
        },
        entry! {
            qat_asymmetric_per_group_dequantize_dtype[Bf16](numel, group_size, bit, eps, clip_val),
            Role::Dequantize,
            Group, AsymmetricCodes, Codes, calibration: false,
            [
                codes: U8 IN All,
                scale: Bf16 IN Unit,
                offset: Bf16 IN Unit,
                out: Bf16 OUT All,
            ],
        },
        entry! {
            qat_asymmetric_per_group_dequantize_dtype[F32](numel, group_size, bit, eps, clip_val),
            Role::Dequantize,
            Group, AsymmetricCodes, Codes, calibration: false,
            [
                codes: U8 IN All,
                scale: Bf16 IN Unit,
                offset: Bf16 IN Unit,
                out: F32 OUT All,
            ],
        },
        entry! {
            qat_asymmetric_per_group_dequantize_dtype[F16](numel, group_size, bit, eps, clip_val),
            Role::Dequantize,
            Group, AsymmetricCodes, Codes, calibration: false,
            [
                codes: U8 IN All,
                scale: Bf16 IN Unit,
                offset: Bf16 IN Unit,
                out: F16 OUT All,
            ],
        },
        entry! {
            qat_asymmetric_per_group_backward_blocks(numel, group_size, bit, eps, clip_val),
            Role::Blocks { backward: "qat_asymmetric_per_group_backward", finish: "qat_asymmetric_per_group_finish" },
            Group, Asymmetric, None, calibration: false,
            [
                grad_output: Bf16 IN All,
                weight: Bf16 IN All,
                scale: Bf16 IN Unit,
                offset: Bf16 IN Unit,
                grad_weight: Bf16 OUT All,
                block_sums: F64 OUT Blocks,
            ],
            rust: |p, a| Some(status(Backend::active().asymmetric_per_group_backward_blocks(
                slice::<half::bf16>(p[0]),
                slice::<half::bf16>(p[1]),
                slice(p[2]),
                slice(p[3]),
                slice_mut::<half::bf16>(p[4]),
                slice_mut(p[5]),
                &AsymmetricPerGroup { group_size: scalar!(a, group_size), bit: scalar!(a, bit), eps: scalar!(a, eps), clip_val: scalar!(a, clip_val) },
            ))),
        },
        entry! {
            qat_asymmetric_per_group_backward_blocks_dtype[Bf16](numel, group_size, bit, eps, clip_val),
            Role::Blocks { backward: "qat_asymmetric_per_group_backward_dtype", finish: "qat_asymmetric_per_group_finish_dtype" },
            Group, Asymmetric, None, calibration: false,
            [
                grad_output: Bf16 IN All,
                weight: Bf16 IN All,
                scale: Bf16 IN Unit,
                offset: Bf16 IN Unit,
                grad_weight: Bf16 OUT All,
                block_sums: F64 OUT Blocks,
            ],
        },
        entry! {
            qat_asymmetric_per_group_backward_blocks_dtype[F32](numel, group_size, bit, eps, clip_val),
            Role::Blocks { backward: "qat_asymmetric_per_group_backward_dtype", finish: "qat_asymmetric_per_group_finish_dtype" },
            Group, Asymmetric, None, calibration: false,
            [
                grad_output: F32 IN All,
                weight: F32 IN All,
                scale: Bf16 IN Unit,
                offset: Bf16 IN Unit,
                grad_weight: F32 OUT All,
                block_sums: F64 OUT Blocks,
            ],
        },
        entry! {
            qat_asymmetric_per_group_backward_blocks_dtype[F16](numel, group_size, bit, eps, clip_val),
            Role::Blocks { backward: "qat_asymmetric_per_group_backward_dtype", finish: "qat_asymmetric_per_group_finish_dtype" },
            Group, Asymmetric, None, calibration: false,
            [
                grad_output: F16 IN All,
                weight: F16 IN All,
                scale: Bf16 IN Unit,
                offset: Bf16 IN Unit,
                grad_weight: F16 OUT All,
                block_sums: F64 OUT Blocks,
            ],
        },
        entry! {
            qat_asymmetric_per_group_finish(numel, group_size, bit, eps, clip_val),
            Role::Finish,
            Group, Asymmetric, None, calibration: false,
            [
                block_sums: F64 IN Blocks,
                scale: Bf16 IN Unit,
                grad_scale: Bf16 OUT Unit,
                grad_offset: Bf16 OUT Unit,
            ],
            rust: |p, a| Some(status(asymmetric_per_group_finish(
                slice(p[0]),
                slice(p[1]),
                slice_mut::<half::bf16>(p[2]),
                slice_mut::<half::bf16>(p[3]),
                &AsymmetricPerGroup { group_size: scalar!(a, group_size), bit: scalar!(a, bit), eps: scalar!(a, eps), clip_val: scalar!(a, clip_val) },
            ))),
        },
        entry! {
            qat_asymmetric_per_group_finish_dtype[Bf16](numel, group_size, bit, eps, clip_val),
            Role::Finish,
            Group, Asymmetric, None, calibration: false,
            [
                block_sums: F64 IN Blocks,
                scale: Bf16 IN Unit,
                grad_scale: Bf16 OUT Unit,
                grad_offset: Bf16 OUT Unit,
            ],
        },
        entry! {
            qat_asymmetric_per_group_finish_dtype[F32](numel, group_size, bit, eps, clip_val),
            Role::Finish,
            Group, Asymmetric, None, calibration: false,
            [
                block_sums: F64 IN Blocks,
                scale: Bf16 IN Unit,
                grad_scale: F32 OUT Unit,
                grad_offset: F32 OUT Unit,
            ],
        },
        entry! {
            qat_asymmetric_per_group_finish_dtype[F16](numel, group_size, bit, eps, clip_val),
            Role::Finish,
            Group, Asymmetric, None, calibration: false,
            [
                block_sums: F64 IN Blocks,
                scale: Bf16 IN Unit,
                grad_scale: F32 OUT Unit,
                grad_offset: F32 OUT Unit,
            ],
        },
        entry! {
            qat_asymmetric_per_group_calibrate(numel, group_size, bit, eps, clip_val, mode),
            Role::Calibrate,
            Group, Asymmetric, Finite, calibration: true,
            [
                weight: Bf16 IN All,
                scale: Bf16 OUT Unit,
                offset: Bf16 OUT Unit,
            ],
            rust: |p, a| Some(status(Backend::active().asymmetric_per_group_calibrate(
                slice::<half::bf16>(p[0]),
                slice_mut(p[1]),
                slice_mut(p[2]),
                &AsymmetricPerGroup { group_size: scalar!(a, group_size), bit: scalar!(a, bit), eps: scalar!(a, eps), clip_val: scalar!(a, clip_val) },
                Calibration::from_code(a.mode)?,
            ))),
        },
        entry! {
            qat_asymmetric_per_group_calibrate_dtype[Bf16](numel, group_size, bit, eps, clip_val, mode),
            Role::Calibrate,
            Group, Asymmetric, Finite, calibration: true,
            [
                weight: Bf16 IN All,
                scale: Bf16 OUT Unit,
                offset: Bf16 OUT Unit,
            ],
        },
        entry! {
            qat_asymmetric_per_group_calibrate_dtype[F32](numel, group_size, bit, eps, clip_val, mode),
            Role::Calibrate,
            Group, Asymmetric, Finite, calibration: true,
            [
                weight: F32 IN All,
                scale: Bf16 OUT Unit,
                offset: Bf16 OUT Unit,
            ],
        },
        entry! {
            qat_asymmetric_per_group_calibrate_dtype[F16](numel, group_size, bit, eps, clip_val, mode),
            Role::Calibrate,
            Group, Asymmetric, Finite, calibration: true,
            [
                weight: F16 IN All,
                scale: Bf16 OUT Unit,
                offset: Bf16 OUT Unit,
            ],
        },
    ];
}
