//! Symmetric per channel's C entry points, each one call (see `crate::ffi`), and
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

/// Symmetric per-channel fake quantization (LSQ forward) of a row-major matrix,
/// one scale per row. weight and out hold rows x cols values; out may be weight
/// (in place).
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
    raw!(from_c(rows, cols, eps, min_v, max_v).forward(weight, scale, out))
}

/// qat_symmetric_per_channel on data of the element type dtype (a QAT_DTYPE_*
/// value): the buffers typed void hold it, and the gradients of the scale are
/// qat_bf16 with QAT_DTYPE_BF16, else float. An unknown dtype returns
/// QAT_ERR_DTYPE, before anything else is checked.
///
/// Safety: each non-null pointer must be valid for its count of elements.
#[no_mangle]
pub unsafe extern "C" fn qat_symmetric_per_channel_dtype(
    dtype: i32,
    weight: *const c_void,
    scale: *const qat_bf16,
    out: *mut c_void,
    rows: usize,
    cols: usize,
    eps: f32,
    min_v: f32,
    max_v: f32,
) -> i32 {
    with_dtype!(dtype, |T, G| raw!(from_c(rows, cols, eps, min_v, max_v).forward(weight.cast::<T>(), scale, out.cast::<T>())), else unknown_dtype())
}

/// Gradients of qat_symmetric_per_channel: grad_weight (one per weight) and
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
    raw!(from_c(rows, cols, eps, min_v, max_v).backward(
        grad_output,
        weight,
        scale,
        grad_weight,
        grad_scale
    ))
}

/// qat_symmetric_per_channel_backward on data of the element type dtype (a
/// QAT_DTYPE_* value): the buffers typed void hold it, and the gradients of the
/// scale are qat_bf16 with QAT_DTYPE_BF16, else float. An unknown dtype returns
/// QAT_ERR_DTYPE, before anything else is checked.
///
/// Safety: each non-null pointer must be valid for its count of elements.
#[no_mangle]
pub unsafe extern "C" fn qat_symmetric_per_channel_backward_dtype(
    dtype: i32,
    grad_output: *const c_void,
    weight: *const c_void,
    scale: *const qat_bf16,
    grad_weight: *mut c_void,
    grad_scale: *mut c_void,
    rows: usize,
    cols: usize,
    eps: f32,
    min_v: f32,
    max_v: f32,
) -> i32 {
    with_dtype!(dtype, |T, G| raw!(from_c(rows, cols, eps, min_v, max_v).backward(grad_output.cast::<T>(), weight.cast::<T>(), scale, grad_weight.cast::<T>(), grad_scale.cast::<G>())), else unknown_dtype())
}

/// Export: the integer code c = clip(round(x / ps), min_v, max_v) of each
/// weight, one scale per row; min_v and max_v must lie in -128..=127 (else
/// QAT_ERR_RANGE). Succeeds exactly when every value qat_symmetric_per_channel
/// gives is finite; otherwise (a NaN weight or scale, an infinite scale, c * ps
/// past bf16's range) QAT_ERR_NON_FINITE, with nothing written.
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
    raw!(from_c(rows, cols, eps, min_v, max_v).quantize(weight, scale, codes))
}

/// qat_symmetric_per_channel_quantize on data of the element type dtype (a
/// QAT_DTYPE_* value): the buffers typed void hold it, and the gradients of the
/// scale are qat_bf16 with QAT_DTYPE_BF16, else float. An unknown dtype returns
/// QAT_ERR_DTYPE, before anything else is checked.
///
/// Safety: each non-null pointer must be valid for its count of elements.
#[no_mangle]
pub unsafe extern "C" fn qat_symmetric_per_channel_quantize_dtype(
    dtype: i32,
    weight: *const c_void,
    scale: *const qat_bf16,
    codes: *mut i8,
    rows: usize,
    cols: usize,
    eps: f32,
    min_v: f32,
    max_v: f32,
) -> i32 {
    with_dtype!(dtype, |T, G| raw!(from_c(rows, cols, eps, min_v, max_v).quantize(weight.cast::<T>(), scale, codes)), else unknown_dtype())
}

/// The values of codes from qat_symmetric_per_channel_quantize: out[i] =
/// codes[i] * max(scale, eps), narrowed to bf16. QAT_ERR_CODE, with nothing
/// written, for a code outside [min_v, max_v].
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
    raw!(from_c(rows, cols, eps, min_v, max_v).dequantize(codes, scale, out))
}

/// qat_symmetric_per_channel_dequantize on data of the element type dtype (a
/// QAT_DTYPE_* value): the buffers typed void hold it, and the gradients of the
/// scale are qat_bf16 with QAT_DTYPE_BF16, else float. An unknown dtype returns
/// QAT_ERR_DTYPE, before anything else is checked.
///
/// Safety: each non-null pointer must be valid for its count of elements.
#[no_mangle]
pub unsafe extern "C" fn qat_symmetric_per_channel_dequantize_dtype(
    dtype: i32,
    codes: *const i8,
    scale: *const qat_bf16,
    out: *mut c_void,
    rows: usize,
    cols: usize,
    eps: f32,
    min_v: f32,
    max_v: f32,
) -> i32 {
    with_dtype!(dtype, |T, G| raw!(from_c(rows, cols, eps, min_v, max_v).dequantize(codes, scale, out.cast::<T>())), else unknown_dtype())
}

/// qat_symmetric_per_channel_backward for one shard: grad_weight, and each
/// row's two sums as block values (2 * qat_block_count(cols) per row) instead
/// of the scale gradients, for qat_symmetric_per_channel_finish once the
/// shards' values are combined.
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
    raw!(from_c(rows, cols, eps, min_v, max_v).backward_blocks(
        grad_output,
        weight,
        scale,
        grad_weight,
        block_sums
    ))
}

/// qat_symmetric_per_channel_backward_blocks on data of the element type dtype
/// (a QAT_DTYPE_* value): the buffers typed void hold it, and the gradients of
/// the scale are qat_bf16 with QAT_DTYPE_BF16, else float. An unknown dtype
/// returns QAT_ERR_DTYPE, before anything else is checked.
///
/// Safety: each non-null pointer must be valid for its count of elements.
#[no_mangle]
pub unsafe extern "C" fn qat_symmetric_per_channel_backward_blocks_dtype(
    dtype: i32,
    grad_output: *const c_void,
    weight: *const c_void,
    scale: *const qat_bf16,
    grad_weight: *mut c_void,
    block_sums: *mut f64,
    rows: usize,
    cols: usize,
    eps: f32,
    min_v: f32,
    max_v: f32,
) -> i32 {
    with_dtype!(dtype, |T, G| raw!(from_c(rows, cols, eps, min_v, max_v).backward_blocks(grad_output.cast::<T>(), weight.cast::<T>(), scale, grad_weight.cast::<T>(), block_sums)), else unknown_dtype())
}

/// The scale gradients that one qat_symmetric_per_channel_backward call gives,
/// from the rows' block values (rows of cols weights). grad_scale may be scale
/// (in place).
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
    raw!(from_c(rows, cols, eps, min_v, max_v).finish(block_sums, scale, grad_scale))
}

/// qat_symmetric_per_channel_finish on data of the element type dtype (a
/// QAT_DTYPE_* value): the buffers typed void hold it, and the gradients of the
/// scale are qat_bf16 with QAT_DTYPE_BF16, else float. An unknown dtype returns
/// QAT_ERR_DTYPE, before anything else is checked.
///
/// Safety: each non-null pointer must be valid for its count of elements.
#[no_mangle]
pub unsafe extern "C" fn qat_symmetric_per_channel_finish_dtype(
    dtype: i32,
    block_sums: *const f64,
    scale: *const qat_bf16,
    grad_scale: *mut c_void,
    rows: usize,
    cols: usize,
    eps: f32,
    min_v: f32,
    max_v: f32,
) -> i32 {
    with_dtype!(dtype, |T, G| raw!(from_c(rows, cols, eps, min_v, max_v).finish(block_sums, scale, grad_scale.cast::<G>())), else unknown_dtype())
}

/// Calibration per channel: writes each row's scale, as
/// qat_asymmetric_per_group_calibrate (candidates: 64 fractions of max|w| /
/// max_v).
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
    raw!(from_c(rows, cols, eps, min_v, max_v).calibrate(
        weight,
        scale,
        Calibration::from_code(mode)
    ))
}

/// qat_symmetric_per_channel_calibrate on data of the element type dtype (a
/// QAT_DTYPE_* value): the buffers typed void hold it, and the gradients of the
/// scale are qat_bf16 with QAT_DTYPE_BF16, else float. An unknown dtype returns
/// QAT_ERR_DTYPE, before anything else is checked.
///
/// Safety: each non-null pointer must be valid for its count of elements.
#[no_mangle]
pub unsafe extern "C" fn qat_symmetric_per_channel_calibrate_dtype(
    dtype: i32,
    weight: *const c_void,
    scale: *mut qat_bf16,
    rows: usize,
    cols: usize,
    eps: f32,
    min_v: f32,
    max_v: f32,
    mode: i32,
) -> i32 {
    with_dtype!(dtype, |T, G| raw!(from_c(rows, cols, eps, min_v, max_v).calibrate(weight.cast::<T>(), scale, Calibration::from_code(mode))), else unknown_dtype())
}

/// The entry points above in the tests' registry (`crate::registry`).
/// cbindgen:ignore
#[cfg(feature = "test-hooks")]
pub(crate) mod registry {
    use super::*;
    use crate::registry::{entry, scalar, slice, slice_mut, status, EntryPoint, Role};
    use crate::{Backend, Calibration, Symmetric};

    pub(crate) static ENTRY_POINTS: &[EntryPoint] = &[
        entry! {
            qat_symmetric_per_channel(rows, cols, eps, min_v, max_v),
            Role::Train,
            Matrix, Symmetric, None, calibration: false,
            [
                weight: Bf16 IN All,
                scale: Bf16 IN Unit,
                out: Bf16 OUT All,
            ],
            rust: |p, a| Some(status(Backend::active().symmetric_per_channel(
                slice::<half::bf16>(p[0]),
                slice(p[1]),
                slice_mut::<half::bf16>(p[2]),
                &Symmetric { eps: scalar!(a, eps), min_v: scalar!(a, min_v), max_v: scalar!(a, max_v) },
            ))),
        },
        entry! {
            qat_symmetric_per_channel_dtype[Bf16](rows, cols, eps, min_v, max_v),
            Role::Train,
            Matrix, Symmetric, None, calibration: false,
            [
                weight: Bf16 IN All,
                scale: Bf16 IN Unit,
                out: Bf16 OUT All,
            ],
        },
        entry! {
            qat_symmetric_per_channel_dtype[F32](rows, cols, eps, min_v, max_v),
            Role::Train,
            Matrix, Symmetric, None, calibration: false,
            [
                weight: F32 IN All,
                scale: Bf16 IN Unit,
                out: F32 OUT All,
            ],
        },
        entry! {
            qat_symmetric_per_channel_dtype[F16](rows, cols, eps, min_v, max_v),
            Role::Train,
            Matrix, Symmetric, None, calibration: false,
            [
                weight: F16 IN All,
                scale: Bf16 IN Unit,
                out: F16 OUT All,
            ],
        },
        entry! {
            qat_symmetric_per_channel_backward(rows, cols, eps, min_v, max_v),
            Role::Train,
            Matrix, Symmetric, None, calibration: false,
            [
                grad_output: Bf16 IN All,
                weight: Bf16 IN All,
                scale: Bf16 IN Unit,
                grad_weight: Bf16 OUT All,
                grad_scale: Bf16 OUT Unit,
            ],
            rust: |p, a| Some(status(Backend::active().symmetric_per_channel_backward(
                slice::<half::bf16>(p[0]),
                slice::<half::bf16>(p[1]),
                slice(p[2]),
                slice_mut::<half::bf16>(p[3]),
                slice_mut::<half::bf16>(p[4]),
                &Symmetric { eps: scalar!(a, eps), min_v: scalar!(a, min_v), max_v: scalar!(a, max_v) },
            ))),
        },
        entry! {
            qat_symmetric_per_channel_backward_dtype[Bf16](rows, cols, eps, min_v, max_v),
            Role::Train,
            Matrix, Symmetric, None, calibration: false,
            [
                grad_output: Bf16 IN All,
                weight: Bf16 IN All,
                scale: Bf16 IN Unit,
                grad_weight: Bf16 OUT All,
                grad_scale: Bf16 OUT Unit,
            ],
        },
        entry! {
            qat_symmetric_per_channel_backward_dtype[F32](rows, cols, eps, min_v, max_v),
            Role::Train,
            Matrix, Symmetric, None, calibration: false,
            [
                grad_output: F32 IN All,
                weight: F32 IN All,
                scale: Bf16 IN Unit,
                grad_weight: F32 OUT All,
                grad_scale: F32 OUT Unit,
            ],
        },
        entry! {
            qat_symmetric_per_channel_backward_dtype[F16](rows, cols, eps, min_v, max_v),
            Role::Train,
            Matrix, Symmetric, None, calibration: false,
            [
                grad_output: F16 IN All,
                weight: F16 IN All,
                scale: Bf16 IN Unit,
                grad_weight: F16 OUT All,
                grad_scale: F32 OUT Unit,
            ],
        },
        entry! {
            qat_symmetric_per_channel_quantize(rows, cols, eps, min_v, max_v),
            Role::Quantize { forward: "qat_symmetric_per_channel", dequantize: "qat_symmetric_per_channel_dequantize" },
            Matrix, SymmetricCodes, Finite, calibration: false,
            [
                weight: Bf16 IN All,
                scale: Bf16 IN Unit,
                codes: I8 OUT All,
            ],
            rust: |p, a| Some(status(Backend::active().symmetric_per_channel_quantize(
                slice::<half::bf16>(p[0]),
                slice(p[1]),
                slice_mut(p[2]),
                &Symmetric { eps: scalar!(a, eps), min_v: scalar!(a, min_v), max_v: scalar!(a, max_v) },
            ))),
        },
        entry! {
            qat_symmetric_per_channel_quantize_dtype[Bf16](rows, cols, eps, min_v, max_v),
            Role::Quantize { forward: "qat_symmetric_per_channel_dtype", dequantize: "qat_symmetric_per_channel_dequantize_dtype" },
            Matrix, SymmetricCodes, Finite, calibration: false,
            [
                weight: Bf16 IN All,
                scale: Bf16 IN Unit,
                codes: I8 OUT All,
            ],
        },
        entry! {
            qat_symmetric_per_channel_quantize_dtype[F32](rows, cols, eps, min_v, max_v),
            Role::Quantize { forward: "qat_symmetric_per_channel_dtype", dequantize: "qat_symmetric_per_channel_dequantize_dtype" },
            Matrix, SymmetricCodes, Finite, calibration: false,
            [
                weight: F32 IN All,
                scale: Bf16 IN Unit,
                codes: I8 OUT All,
            ],
        },
        entry! {
            qat_symmetric_per_channel_quantize_dtype[F16](rows, cols, eps, min_v, max_v),
            Role::Quantize { forward: "qat_symmetric_per_channel_dtype", dequantize: "qat_symmetric_per_channel_dequantize_dtype" },
            Matrix, SymmetricCodes, Finite, calibration: false,
            [
                weight: F16 IN All,
                scale: Bf16 IN Unit,
                codes: I8 OUT All,
            ],
        },
        entry! {
            qat_symmetric_per_channel_dequantize(rows, cols, eps, min_v, max_v),
            Role::Dequantize,
            Matrix, SymmetricCodes, Codes, calibration: false,
            [
                codes: I8 IN All,
                scale: Bf16 IN Unit,
                out: Bf16 OUT All,
            ],
            rust: |p, a| Some(status(Backend::active().symmetric_per_channel_dequantize(
                slice(p[0]),
                slice(p[1]),
                slice_mut::<half::bf16>(p[2]),
                &Symmetric { eps: scalar!(a, eps), min_v: scalar!(a, min_v), max_v: scalar!(a, max_v) },
            ))),
        },
        entry! {
            qat_symmetric_per_channel_dequantize_dtype[Bf16](rows, cols, eps, min_v, max_v),
            Role::Dequantize,
            Matrix, SymmetricCodes, Codes, calibration: false,
            [
                codes: I8 IN All,
                scale: Bf16 IN Unit,
                out: Bf16 OUT All,
            ],
        },
        entry! {
            qat_symmetric_per_channel_dequantize_dtype[F32](rows, cols, eps, min_v, max_v),
            Role::Dequantize,
            Matrix, SymmetricCodes, Codes, calibration: false,
            [
                codes: I8 IN All,
                scale: Bf16 IN Unit,
                out: F32 OUT All,
            ],
        },
        entry! {
            qat_symmetric_per_channel_dequantize_dtype[F16](rows, cols, eps, min_v, max_v),
            Role::Dequantize,
            Matrix, SymmetricCodes, Codes, calibration: false,
            [
                codes: I8 IN All,
                scale: Bf16 IN Unit,
                out: F16 OUT All,
            ],
        },
        entry! {
            qat_symmetric_per_channel_backward_blocks(rows, cols, eps, min_v, max_v),
            Role::Blocks { backward: "qat_symmetric_per_channel_backward", finish: "qat_symmetric_per_channel_finish" },
            Matrix, Symmetric, None, calibration: false,
            [
                grad_output: Bf16 IN All,
                weight: Bf16 IN All,
                scale: Bf16 IN Unit,
                grad_weight: Bf16 OUT All,
                block_sums: F64 OUT Blocks,
            ],
            rust: |p, a| Some(status(Backend::active().symmetric_per_channel_backward_blocks(
                slice::<half::bf16>(p[0]),
                slice::<half::bf16>(p[1]),
                slice(p[2]),
                slice_mut::<half::bf16>(p[3]),
                slice_mut(p[4]),
                &Symmetric { eps: scalar!(a, eps), min_v: scalar!(a, min_v), max_v: scalar!(a, max_v) },
            ))),
        },
        entry! {
            qat_symmetric_per_channel_backward_blocks_dtype[Bf16](rows, cols, eps, min_v, max_v),
            Role::Blocks { backward: "qat_symmetric_per_channel_backward_dtype", finish: "qat_symmetric_per_channel_finish_dtype" },
            Matrix, Symmetric, None, calibration: false,
            [
                grad_output: Bf16 IN All,
                weight: Bf16 IN All,
                scale: Bf16 IN Unit,
                grad_weight: Bf16 OUT All,
                block_sums: F64 OUT Blocks,
            ],
        },
        entry! {
            qat_symmetric_per_channel_backward_blocks_dtype[F32](rows, cols, eps, min_v, max_v),
            Role::Blocks { backward: "qat_symmetric_per_channel_backward_dtype", finish: "qat_symmetric_per_channel_finish_dtype" },
            Matrix, Symmetric, None, calibration: false,
            [
                grad_output: F32 IN All,
                weight: F32 IN All,
                scale: Bf16 IN Unit,
                grad_weight: F32 OUT All,
                block_sums: F64 OUT Blocks,
            ],
        },
        entry! {
            qat_symmetric_per_channel_backward_blocks_dtype[F16](rows, cols, eps, min_v, max_v),
            Role::Blocks { backward: "qat_symmetric_per_channel_backward_dtype", finish: "qat_symmetric_per_channel_finish_dtype" },
            Matrix, Symmetric, None, calibration: false,
            [
                grad_output: F16 IN All,
                weight: F16 IN All,
                scale: Bf16 IN Unit,
                grad_weight: F16 OUT All,
                block_sums: F64 OUT Blocks,
            ],
        },
        entry! {
            qat_symmetric_per_channel_finish(rows, cols, eps, min_v, max_v),
            Role::Finish,
            Matrix, Symmetric, None, calibration: false,
            [
                block_sums: F64 IN Blocks,
                scale: Bf16 IN Unit,
                grad_scale: Bf16 OUT Unit,
            ],
            rust: |p, a| Some(status(symmetric_per_channel_finish(
                slice(p[0]),
                slice(p[1]),
                slice_mut::<half::bf16>(p[2]),
                scalar!(a, cols),
                &Symmetric { eps: scalar!(a, eps), min_v: scalar!(a, min_v), max_v: scalar!(a, max_v) },
            ))),
        },
        entry! {
            qat_symmetric_per_channel_finish_dtype[Bf16](rows, cols, eps, min_v, max_v),
            Role::Finish,
            Matrix, Symmetric, None, calibration: false,
            [
                block_sums: F64 IN Blocks,
                scale: Bf16 IN Unit,
                grad_scale: Bf16 OUT Unit,
            ],
        },
        entry! {
            qat_symmetric_per_channel_finish_dtype[F32](rows, cols, eps, min_v, max_v),
            Role::Finish,
            Matrix, Symmetric, None, calibration: false,
            [
                block_sums: F64 IN Blocks,
                scale: Bf16 IN Unit,
                grad_scale: F32 OUT Unit,
            ],
        },
        entry! {
            qat_symmetric_per_channel_finish_dtype[F16](rows, cols, eps, min_v, max_v),
            Role::Finish,
            Matrix, Symmetric, None, calibration: false,
            [
                block_sums: F64 IN Blocks,
                scale: Bf16 IN Unit,
                grad_scale: F32 OUT Unit,
            ],
        },
        entry! {
            qat_symmetric_per_channel_calibrate(rows, cols, eps, min_v, max_v, mode),
            Role::Calibrate,
            Matrix, Symmetric, Finite, calibration: true,
            [
                weight: Bf16 IN All,
                scale: Bf16 OUT Unit,
            ],
            rust: |p, a| Some(status(Backend::active().symmetric_per_channel_calibrate(
                slice::<half::bf16>(p[0]),
                slice_mut(p[1]),
                &Symmetric { eps: scalar!(a, eps), min_v: scalar!(a, min_v), max_v: scalar!(a, max_v) },
                Calibration::from_code(a.mode)?,
            ))),
        },
        entry! {
            qat_symmetric_per_channel_calibrate_dtype[Bf16](rows, cols, eps, min_v, max_v, mode),
            Role::Calibrate,
            Matrix, Symmetric, Finite, calibration: true,
            [
                weight: Bf16 IN All,
                scale: Bf16 OUT Unit,
            ],
        },
        entry! {
            qat_symmetric_per_channel_calibrate_dtype[F32](rows, cols, eps, min_v, max_v, mode),
            Role::Calibrate,
            Matrix, Symmetric, Finite, calibration: true,
            [
                weight: F32 IN All,
                scale: Bf16 OUT Unit,
            ],
        },
        entry! {
            qat_symmetric_per_channel_calibrate_dtype[F16](rows, cols, eps, min_v, max_v, mode),
            Role::Calibrate,
            Matrix, Symmetric, Finite, calibration: true,
            [
                weight: F16 IN All,
                scale: Bf16 OUT Unit,
            ],
        },
    ];
}
