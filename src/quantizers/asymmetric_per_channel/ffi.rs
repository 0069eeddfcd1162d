//! Asymmetric per channel's C entry points, each one call (see `crate::ffi`), and
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

/// Asymmetric per-channel fake quantization (LSQ+ forward) of a row-major
/// matrix, one scale and offset per row: qat_asymmetric_per_group with each row
/// a group. weight and out hold rows x cols values; out may be weight (in
/// place).
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
    raw!(from_c(rows, cols, bit, eps, clip_val).forward(weight, (scale, offset), out))
}

/// qat_asymmetric_per_channel on data of the element type dtype (a QAT_DTYPE_*
/// value): the buffers typed void hold it, and the gradients of the scale and
/// offset are qat_bf16 with QAT_DTYPE_BF16, else float. An unknown dtype
/// returns QAT_ERR_DTYPE, before anything else is checked.
///
/// Safety: each non-null pointer must be valid for its count of elements.
#[no_mangle]
pub unsafe extern "C" fn qat_asymmetric_per_channel_dtype(
    dtype: i32,
    weight: *const c_void,
    scale: *const qat_bf16,
    offset: *const qat_bf16,
    out: *mut c_void,
    rows: usize,
    cols: usize,
    bit: u32,
    eps: f32,
    clip_val: f32,
) -> i32 {
    with_dtype!(dtype, |T, G| raw!(from_c(rows, cols, bit, eps, clip_val).forward(weight.cast::<T>(), (scale, offset), out.cast::<T>())), else unknown_dtype())
}

/// Gradients of qat_asymmetric_per_channel: grad_weight (one per weight),
/// grad_scale and grad_offset (one per row). An output may be exactly an input
/// of the same length; no other overlap is allowed.
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
    raw!(from_c(rows, cols, bit, eps, clip_val).backward(
        grad_output,
        weight,
        (scale, offset),
        grad_weight,
        (grad_scale, grad_offset)
    ))
}

/// qat_asymmetric_per_channel_backward on data of the element type dtype (a
/// QAT_DTYPE_* value): the buffers typed void hold it, and the gradients of the
/// scale and offset are qat_bf16 with QAT_DTYPE_BF16, else float. An unknown
/// dtype returns QAT_ERR_DTYPE, before anything else is checked.
///
/// Safety: each non-null pointer must be valid for its count of elements.
#[no_mangle]
pub unsafe extern "C" fn qat_asymmetric_per_channel_backward_dtype(
    dtype: i32,
    grad_output: *const c_void,
    weight: *const c_void,
    scale: *const qat_bf16,
    offset: *const qat_bf16,
    grad_weight: *mut c_void,
    grad_scale: *mut c_void,
    grad_offset: *mut c_void,
    rows: usize,
    cols: usize,
    bit: u32,
    eps: f32,
    clip_val: f32,
) -> i32 {
    with_dtype!(dtype, |T, G| raw!(from_c(rows, cols, bit, eps, clip_val).backward(grad_output.cast::<T>(), weight.cast::<T>(), (scale, offset), grad_weight.cast::<T>(), (grad_scale.cast::<G>(), grad_offset.cast::<G>()))), else unknown_dtype())
}

/// Export, as qat_asymmetric_per_group_quantize with each row a group.
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
    raw!(from_c(rows, cols, bit, eps, clip_val).quantize(weight, (scale, offset), codes))
}

/// qat_asymmetric_per_channel_quantize on data of the element type dtype (a
/// QAT_DTYPE_* value): the buffers typed void hold it, and the gradients of the
/// scale and offset are qat_bf16 with QAT_DTYPE_BF16, else float. An unknown
/// dtype returns QAT_ERR_DTYPE, before anything else is checked.
///
/// Safety: each non-null pointer must be valid for its count of elements.
#[no_mangle]
pub unsafe extern "C" fn qat_asymmetric_per_channel_quantize_dtype(
    dtype: i32,
    weight: *const c_void,
    scale: *const qat_bf16,
    offset: *const qat_bf16,
    codes: *mut u8,
    rows: usize,
    cols: usize,
    bit: u32,
    eps: f32,
    clip_val: f32,
) -> i32 {
    with_dtype!(dtype, |T, G| raw!(from_c(rows, cols, bit, eps, clip_val).quantize(weight.cast::<T>(), (scale, offset), codes)), else unknown_dtype())
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
    raw!(from_c(rows, cols, bit, eps, clip_val).dequantize(codes, (scale, offset), out))
}

/// qat_asymmetric_per_channel_dequantize on data of the element type dtype (a
/// QAT_DTYPE_* value): the buffers typed void hold it, and the gradients of the
/// scale and offset are qat_bf16 with QAT_DTYPE_BF16, else float. An unknown
/// dtype returns QAT_ERR_DTYPE, before anything else is checked.
///
/// Safety: each non-null pointer must be valid for its count of elements.
#[no_mangle]
pub unsafe extern "C" fn qat_asymmetric_per_channel_dequantize_dtype(
    dtype: i32,
    codes: *const u8,
    scale: *const qat_bf16,
    offset: *const qat_bf16,
    out: *mut c_void,
    rows: usize,
    cols: usize,
    bit: u32,
    eps: f32,
    clip_val: f32,
) -> i32 {
    with_dtype!(dtype, |T, G| raw!(from_c(rows, cols, bit, eps, clip_val).dequantize(codes, (scale, offset), out.cast::<T>())), else unknown_dtype())
}

/// qat_asymmetric_per_channel_backward for one shard: grad_weight, and each
/// row's two sums as block values (2 * qat_block_count(cols) per row) instead
/// of the scale and offset gradients, for qat_asymmetric_per_channel_finish
/// once the shards' values are combined.
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
    raw!(from_c(rows, cols, bit, eps, clip_val).backward_blocks(
        grad_output,
        weight,
        (scale, offset),
        grad_weight,
        block_sums
    ))
}

/// qat_asymmetric_per_channel_backward_blocks on data of the element type dtype
/// (a QAT_DTYPE_* value): the buffers typed void hold it, and the gradients of
/// the scale and offset are qat_bf16 with QAT_DTYPE_BF16, else float. An
/// unknown dtype returns QAT_ERR_DTYPE, before anything else is checked.
///
/// Safety: each non-null pointer must be valid for its count of elements.
#[no_mangle]
pub unsafe extern "C" fn qat_asymmetric_per_channel_backward_blocks_dtype(
    dtype: i32,
    grad_output: *const c_void,
    weight: *const c_void,
    scale: *const qat_bf16,
    offset: *const qat_bf16,
    grad_weight: *mut c_void,
    block_sums: *mut f64,
    rows: usize,
    cols: usize,
    bit: u32,
    eps: f32,
    clip_val: f32,
) -> i32 {
    with_dtype!(dtype, |T, G| raw!(from_c(rows, cols, bit, eps, clip_val).backward_blocks(grad_output.cast::<T>(), weight.cast::<T>(), (scale, offset), grad_weight.cast::<T>(), block_sums)), else unknown_dtype())
}

/// The scale and offset gradients that one qat_asymmetric_per_channel_backward
/// call gives, from the rows' block values (rows of cols weights). grad_scale
/// may be scale (in place).
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
    raw!(from_c(rows, cols, bit, eps, clip_val).finish(
        block_sums,
        scale,
        (grad_scale, grad_offset)
    ))
}

/// qat_asymmetric_per_channel_finish on data of the element type dtype (a
/// QAT_DTYPE_* value): the buffers typed void hold it, and the gradients of the
/// scale and offset are qat_bf16 with QAT_DTYPE_BF16, else float. An unknown
/// dtype returns QAT_ERR_DTYPE, before anything else is checked.
///
/// Safety: each non-null pointer must be valid for its count of elements.
#[no_mangle]
pub unsafe extern "C" fn qat_asymmetric_per_channel_finish_dtype(
    dtype: i32,
    block_sums: *const f64,
    scale: *const qat_bf16,
    grad_scale: *mut c_void,
    grad_offset: *mut c_void,
    rows: usize,
    cols: usize,
    bit: u32,
    eps: f32,
    clip_val: f32,
) -> i32 {
    with_dtype!(dtype, |T, G| raw!(from_c(rows, cols, bit, eps, clip_val).finish(block_sums, scale, (grad_scale.cast::<G>(), grad_offset.cast::<G>()))), else unknown_dtype())
}

/// Calibration per row, as qat_asymmetric_per_group_calibrate with each row a
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
    raw!(from_c(rows, cols, bit, eps, clip_val).calibrate(
        weight,
        (scale, offset),
        Calibration::from_code(mode)
    ))
}

/// qat_asymmetric_per_channel_calibrate on data of the element type dtype (a
/// QAT_DTYPE_* value): the buffers typed void hold it, and the gradients of the
/// scale and offset are qat_bf16 with QAT_DTYPE_BF16, else float. An unknown
/// dtype returns QAT_ERR_DTYPE, before anything else is checked.
///
/// Safety: each non-null pointer must be valid for its count of elements.
#[no_mangle]
pub unsafe extern "C" fn qat_asymmetric_per_channel_calibrate_dtype(
    dtype: i32,
    weight: *const c_void,
    scale: *mut qat_bf16,
    offset: *mut qat_bf16,
    rows: usize,
    cols: usize,
    bit: u32,
    eps: f32,
    clip_val: f32,
    mode: i32,
) -> i32 {
    with_dtype!(dtype, |T, G| raw!(from_c(rows, cols, bit, eps, clip_val).calibrate(weight.cast::<T>(), (scale, offset), Calibration::from_code(mode))), else unknown_dtype())
}

/// The entry points above in the tests' registry (`crate::registry`).
/// cbindgen:ignore
#[cfg(feature = "test-hooks")]
pub(crate) mod registry {
    use super::*;
    use crate::registry::{entry, scalar, slice, slice_mut, status, EntryPoint, Role};
    use crate::{AsymmetricPerChannel, Backend, Calibration};

    pub(crate) static ENTRY_POINTS: &[EntryPoint] = &[
        entry! {
            qat_asymmetric_per_channel(rows, cols, bit, eps, clip_val),
            Role::Train,
            Matrix, Asymmetric, None, calibration: false,
            [
                weight: Bf16 IN All,
                scale: Bf16 IN Unit,
                offset: Bf16 IN Unit,
                out: Bf16 OUT All,
            ],
            same_as: qat_asymmetric_per_group, |a| { let [rows, cols] = a.sizes; crate::registry::Args { sizes: [rows * cols, cols], ..*a } },
            rust: |p, a| Some(status(Backend::active().asymmetric_per_channel(
                slice::<half::bf16>(p[0]),
                slice(p[1]),
                slice(p[2]),
                slice_mut::<half::bf16>(p[3]),
                &AsymmetricPerChannel { bit: scalar!(a, bit), eps: scalar!(a, eps), clip_val: scalar!(a, clip_val) },
            ))),
        },
        entry! {
            qat_asymmetric_per_channel_dtype[Bf16](rows, cols, bit, eps, clip_val),
            Role::Train,
            Matrix, Asymmetric, None, calibration: false,
            [
                weight: Bf16 IN All,
                scale: Bf16 IN Unit,
                offset: Bf16 IN Unit,
                out: Bf16 OUT All,
            ],
        },
        entry! {
            qat_asymmetric_per_channel_dtype[F32](rows, cols, bit, eps, clip_val),
            Role::Train,
            Matrix, Asymmetric, None, calibration: false,
            [
                weight: F32 IN All,
                scale: Bf16 IN Unit,
                offset: Bf16 IN Unit,
                out: F32 OUT All,
            ],
        },
        entry! {
            qat_asymmetric_per_channel_dtype[F16](rows, cols, bit, eps, clip_val),
            Role::Train,
            Matrix, Asymmetric, None, calibration: false,
            [
                weight: F16 IN All,
                scale: Bf16 IN Unit,
                offset: Bf16 IN Unit,
                out: F16 OUT All,
            ],
        },
        entry! {
            qat_asymmetric_per_channel_backward(rows, cols, bit, eps, clip_val),
            Role::Train,
            Matrix, Asymmetric, None, calibration: false,
            [
                grad_output: Bf16 IN All,
                weight: Bf16 IN All,
                scale: Bf16 IN Unit,
                offset: Bf16 IN Unit,
                grad_weight: Bf16 OUT All,
                grad_scale: Bf16 OUT Unit,
                grad_offset: Bf16 OUT Unit,
            ],
            same_as: qat_asymmetric_per_group_backward, |a| { let [rows, cols] = a.sizes; crate::registry::Args { sizes: [rows * cols, cols], ..*a } },
            rust: |p, a| Some(status(Backend::active().asymmetric_per_channel_backward(
                slice::<half::bf16>(p[0]),
                slice::<half::bf16>(p[1]),
                slice(p[2]),
                slice(p[3]),
                slice_mut::<half::bf16>(p[4]),
                slice_mut::<half::bf16>(p[5]),
                slice_mut::<half::bf16>(p[6]),
                &AsymmetricPerChannel { bit: scalar!(a, bit), eps: scalar!(a, eps), clip_val: scalar!(a, clip_val) },
            ))),
        },
        entry! {
            qat_asymmetric_per_channel_backward_dtype[Bf16](rows, cols, bit, eps, clip_val),
            Role::Train,
            Matrix, Asymmetric, None, calibration: false,
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
            qat_asymmetric_per_channel_backward_dtype[F32](rows, cols, bit, eps, clip_val),
            Role::Train,
            Matrix, Asymmetric, None, calibration: false,
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
            qat_asymmetric_per_channel_backward_dtype[F16](rows, cols, bit, eps, clip_val),
            Role::Train,
            Matrix, Asymmetric, None, calibration: false,
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
            qat_asymmetric_per_channel_quantize(rows, cols, bit, eps, clip_val),
            Role::Quantize { forward: "qat_asymmetric_per_channel", dequantize: "qat_asymmetric_per_channel_dequantize" },
            Matrix, AsymmetricCodes, Finite, calibration: false,
            [
                weight: Bf16 IN All,
                scale: Bf16 IN Unit,
                offset: Bf16 IN Unit,
                codes: U8 OUT All,
            ],
            same_as: qat_asymmetric_per_group_quantize, |a| { let [rows, cols] = a.sizes; crate::registry::Args { sizes: [rows * cols, cols], ..*a } },
            rust: |p, a| Some(status(Backend::active().asymmetric_per_channel_quantize(
                slice::<half::bf16>(p[0]),
                slice(p[1]),
                slice(p[2]),
                slice_mut(p[3]),
                &AsymmetricPerChannel { bit: scalar!(a, bit), eps: scalar!(a, eps), clip_val: scalar!(a, clip_val) },
            ))),
        },
        entry! {
            qat_asymmetric_per_channel_quantize_dtype[Bf16](rows, cols, bit, eps, clip_val),
            Role::Quantize { forward: "qat_asymmetric_per_channel_dtype", dequantize: "qat_asymmetric_per_channel_dequantize_dtype" },
            Matrix, AsymmetricCodes, Finite, calibration: false,
            [
                weight: Bf16 IN All,
                scale: Bf16 IN Unit,
                offset: Bf16 IN Unit,
                codes: U8 OUT All,
            ],
        },
        entry! {
            qat_asymmetric_per_channel_quantize_dtype[F32](rows, cols, bit, eps, clip_val),
            Role::Quantize { forward: "qat_asymmetric_per_channel_dtype", dequantize: "qat_asymmetric_per_channel_dequantize_dtype" },
            Matrix, AsymmetricCodes, Finite, calibration: false,
            [
                weight: F32 IN All,
                scale: Bf16 IN Unit,
                offset: Bf16 IN Unit,
                codes: U8 OUT All,
            ],
        },
        entry! {
            qat_asymmetric_per_channel_quantize_dtype[F16](rows, cols, bit, eps, clip_val),
            Role::Quantize { forward: "qat_asymmetric_per_channel_dtype", dequantize: "qat_asymmetric_per_channel_dequantize_dtype" },
            Matrix, AsymmetricCodes, Finite, calibration: false,
            [
                weight: F16 IN All,
                scale: Bf16 IN Unit,
                offset: Bf16 IN Unit,
                codes: U8 OUT All,
            ],
        },
        entry! {
            qat_asymmetric_per_channel_dequantize(rows, cols, bit, eps, clip_val),
            Role::Dequantize,
            Matrix, AsymmetricCodes, Codes, calibration: false,
            [
                codes: U8 IN All,
                scale: Bf16 IN Unit,
                offset: Bf16 IN Unit,
                out: Bf16 OUT All,
            ],
            same_as: qat_asymmetric_per_group_dequantize, |a| { let [rows, cols] = a.sizes; crate::registry::Args { sizes: [rows * cols, cols], ..*a } },
            rust: |p, a| Some(status(Backend::active().asymmetric_per_channel_dequantize(
                slice(p[0]),
                slice(p[1]),
                slice(p[2]),
                slice_mut::<half::bf16>(p[3]),
                &AsymmetricPerChannel { bit: scalar!(a, bit), eps: scalar!(a, eps), clip_val: scalar!(a, clip_val) },
            ))),
        },
        entry! {
            qat_asymmetric_per_channel_dequantize_dtype[Bf16](rows, cols, bit, eps, clip_val),
            Role::Dequantize,
            Matrix, AsymmetricCodes, Codes, calibration: false,
            [
                codes: U8 IN All,
                scale: Bf16 IN Unit,
                offset: Bf16 IN Unit,
                out: Bf16 OUT All,
            ],
        },
        entry! {
            qat_asymmetric_per_channel_dequantize_dtype[F32](rows, cols, bit, eps, clip_val),
            Role::Dequantize,
            Matrix, AsymmetricCodes, Codes, calibration: false,
            [
                codes: U8 IN All,
                scale: Bf16 IN Unit,
                offset: Bf16 IN Unit,
                out: F32 OUT All,
            ],
        },
        entry! {
            qat_asymmetric_per_channel_dequantize_dtype[F16](rows, cols, bit, eps, clip_val),
            Role::Dequantize,
            Matrix, AsymmetricCodes, Codes, calibration: false,
            [
                codes: U8 IN All,
                scale: Bf16 IN Unit,
                offset: Bf16 IN Unit,
                out: F16 OUT All,
            ],
        },
        entry! {
            qat_asymmetric_per_channel_backward_blocks(rows, cols, bit, eps, clip_val),
            Role::Blocks { backward: "qat_asymmetric_per_channel_backward", finish: "qat_asymmetric_per_channel_finish" },
            Matrix, Asymmetric, None, calibration: false,
            [
                grad_output: Bf16 IN All,
                weight: Bf16 IN All,
                scale: Bf16 IN Unit,
                offset: Bf16 IN Unit,
                grad_weight: Bf16 OUT All,
                block_sums: F64 OUT Blocks,
            ],
            same_as: qat_asymmetric_per_group_backward_blocks, |a| { let [rows, cols] = a.sizes; crate::registry::Args { sizes: [rows * cols, cols], ..*a } },
            rust: |p, a| Some(status(Backend::active().asymmetric_per_channel_backward_blocks(
                slice::<half::bf16>(p[0]),
                slice::<half::bf16>(p[1]),
                slice(p[2]),
                slice(p[3]),
                slice_mut::<half::bf16>(p[4]),
                slice_mut(p[5]),
                &AsymmetricPerChannel { bit: scalar!(a, bit), eps: scalar!(a, eps), clip_val: scalar!(a, clip_val) },
            ))),
        },
        entry! {
            qat_asymmetric_per_channel_backward_blocks_dtype[Bf16](rows, cols, bit, eps, clip_val),
            Role::Blocks { backward: "qat_asymmetric_per_channel_backward_dtype", finish: "qat_asymmetric_per_channel_finish_dtype" },
            Matrix, Asymmetric, None, calibration: false,
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
            qat_asymmetric_per_channel_backward_blocks_dtype[F32](rows, cols, bit, eps, clip_val),
            Role::Blocks { backward: "qat_asymmetric_per_channel_backward_dtype", finish: "qat_asymmetric_per_channel_finish_dtype" },
            Matrix, Asymmetric, None, calibration: false,
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
            qat_asymmetric_per_channel_backward_blocks_dtype[F16](rows, cols, bit, eps, clip_val),
            Role::Blocks { backward: "qat_asymmetric_per_channel_backward_dtype", finish: "qat_asymmetric_per_channel_finish_dtype" },
            Matrix, Asymmetric, None, calibration: false,
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
            qat_asymmetric_per_channel_finish(rows, cols, bit, eps, clip_val),
            Role::Finish,
            Matrix, Asymmetric, None, calibration: false,
            [
                block_sums: F64 IN Blocks,
                scale: Bf16 IN Unit,
                grad_scale: Bf16 OUT Unit,
                grad_offset: Bf16 OUT Unit,
            ],
            same_as: qat_asymmetric_per_group_finish, |a| { let [rows, cols] = a.sizes; crate::registry::Args { sizes: [rows * cols, cols], ..*a } },
            rust: |p, a| Some(status(asymmetric_per_channel_finish(
                slice(p[0]),
                slice(p[1]),
                slice_mut::<half::bf16>(p[2]),
                slice_mut::<half::bf16>(p[3]),
                scalar!(a, cols),
                &AsymmetricPerChannel { bit: scalar!(a, bit), eps: scalar!(a, eps), clip_val: scalar!(a, clip_val) },
            ))),
        },
        entry! {
            qat_asymmetric_per_channel_finish_dtype[Bf16](rows, cols, bit, eps, clip_val),
            Role::Finish,
            Matrix, Asymmetric, None, calibration: false,
            [
                block_sums: F64 IN Blocks,
                scale: Bf16 IN Unit,
                grad_scale: Bf16 OUT Unit,
                grad_offset: Bf16 OUT Unit,
            ],
        },
        entry! {
            qat_asymmetric_per_channel_finish_dtype[F32](rows, cols, bit, eps, clip_val),
            Role::Finish,
            Matrix, Asymmetric, None, calibration: false,
            [
                block_sums: F64 IN Blocks,
                scale: Bf16 IN Unit,
                grad_scale: F32 OUT Unit,
                grad_offset: F32 OUT Unit,
            ],
        },
        entry! {
            qat_asymmetric_per_channel_finish_dtype[F16](rows, cols, bit, eps, clip_val),
            Role::Finish,
            Matrix, Asymmetric, None, calibration: false,
            [
                block_sums: F64 IN Blocks,
                scale: Bf16 IN Unit,
                grad_scale: F32 OUT Unit,
                grad_offset: F32 OUT Unit,
            ],
        },
        entry! {
            qat_asymmetric_per_channel_calibrate(rows, cols, bit, eps, clip_val, mode),
            Role::Calibrate,
            Matrix, Asymmetric, Finite, calibration: true,
            [
                weight: Bf16 IN All,
                scale: Bf16 OUT Unit,
                offset: Bf16 OUT Unit,
            ],
            same_as: qat_asymmetric_per_group_calibrate, |a| { let [rows, cols] = a.sizes; crate::registry::Args { sizes: [rows * cols, cols], ..*a } },
            rust: |p, a| Some(status(Backend::active().asymmetric_per_channel_calibrate(
                slice::<half::bf16>(p[0]),
                slice_mut(p[1]),
                slice_mut(p[2]),
                &AsymmetricPerChannel { bit: scalar!(a, bit), eps: scalar!(a, eps), clip_val: scalar!(a, clip_val) },
                Calibration::from_code(a.mode)?,
            ))),
        },
        entry! {
            qat_asymmetric_per_channel_calibrate_dtype[Bf16](rows, cols, bit, eps, clip_val, mode),
            Role::Calibrate,
            Matrix, Asymmetric, Finite, calibration: true,
            [
                weight: Bf16 IN All,
                scale: Bf16 OUT Unit,
                offset: Bf16 OUT Unit,
            ],
        },
        entry! {
            qat_asymmetric_per_channel_calibrate_dtype[F32](rows, cols, bit, eps, clip_val, mode),
            Role::Calibrate,
            Matrix, Asymmetric, Finite, calibration: true,
            [
                weight: F32 IN All,
                scale: Bf16 OUT Unit,
                offset: Bf16 OUT Unit,
            ],
        },
        entry! {
            qat_asymmetric_per_channel_calibrate_dtype[F16](rows, cols, bit, eps, clip_val, mode),
            Role::Calibrate,
            Matrix, Asymmetric, Finite, calibration: true,
            [
                weight: F16 IN All,
                scale: Bf16 OUT Unit,
                offset: Bf16 OUT Unit,
            ],
        },
    ];
}
