//! Per-token activations: the C entry points, each one call (see `crate::ffi`).
#![allow(clippy::missing_safety_doc)]

use core::ffi::c_void;

use crate::boundary::Raw;
use crate::call::{Call, Shape};
use crate::dispatch;
use crate::ffi::{qat_bf16, unknown_dtype};
use crate::float::with_dtype;
use crate::PerToken;

/// A per-token call from C on `rows` tokens of `cols`, on the active backend.
fn per_token(rows: usize, cols: usize, bit: u32, eps: f32) -> Call<Raw, PerToken> {
    Call::new(
        dispatch::active(),
        Shape::rows(rows, cols),
        PerToken { bit, eps },
    )
}

/// Dynamic per-token fake quantization of a row-major rows x cols
/// activation (one row per token), asymmetric: on the grid qmin..qmax =
/// -2^(bit-1)..2^(bit-1)-1 (bit 2..8), each row's
/// scale = max((max(max(x), 0) - min(min(x), 0)) / (qmax - qmin), eps) and
/// zero point zp = clip(qmin - round(min(min(x), 0) / scale), qmin, qmax),
/// written to scale and zero_point (one per row); then
/// out = (clip(round(x / scale) + zp, qmin, qmax) - zp) * scale, in f32, one
/// operation at a time, narrowed to bf16. A row with a NaN gets a NaN scale,
/// zero point 0 and NaN values. out may be input.
///
/// Safety: each non-null pointer must be valid for its count of elements.
#[no_mangle]
pub unsafe extern "C" fn qat_per_token_asymmetric(
    input: *const qat_bf16,
    out: *mut qat_bf16,
    scale: *mut f32,
    zero_point: *mut i32,
    rows: usize,
    cols: usize,
    bit: u32,
    eps: f32,
) -> i32 {
    raw!(per_token(rows, cols, bit, eps).forward(false, input, out, scale, zero_point))
}

/// qat_per_token_asymmetric, symmetric: each row's
/// scale = max(max(-min(min(x), 0), max(max(x), 0)) / ((qmax - qmin) / 2), eps)
/// and zero point 0 (written).
///
/// Safety: each non-null pointer must be valid for its count of elements.
#[no_mangle]
pub unsafe extern "C" fn qat_per_token_symmetric(
    input: *const qat_bf16,
    out: *mut qat_bf16,
    scale: *mut f32,
    zero_point: *mut i32,
    rows: usize,
    cols: usize,
    bit: u32,
    eps: f32,
) -> i32 {
    raw!(per_token(rows, cols, bit, eps).forward(true, input, out, scale, zero_point))
}

/// Backward of qat_per_token_asymmetric and qat_per_token_symmetric, from
/// the scales and zero points they wrote: the straight-through estimator,
/// grad_input = grad_output where qmin <= round(x / scale) + zp <= qmax,
/// else 0 (NaN where x is NaN). grad_input may be grad_output or input.
///
/// Safety: each non-null pointer must be valid for its count of elements.
#[no_mangle]
pub unsafe extern "C" fn qat_per_token_backward(
    grad_output: *const qat_bf16,
    input: *const qat_bf16,
    scale: *const f32,
    zero_point: *const i32,
    grad_input: *mut qat_bf16,
    rows: usize,
    cols: usize,
    bit: u32,
) -> i32 {
    raw!(per_token(rows, cols, bit, 1.0).backward(
        grad_output,
        input,
        scale,
        zero_point,
        grad_input,
    ))
}

/// qat_per_token_asymmetric on activations of the element type dtype (a
/// QAT_DTYPE_* value): input and out hold it. An unknown dtype returns
/// QAT_ERR_DTYPE, before anything else is checked.
///
/// Safety: each non-null pointer must be valid for its count of elements.
#[no_mangle]
pub unsafe extern "C" fn qat_per_token_asymmetric_dtype(
    dtype: i32,
    input: *const c_void,
    out: *mut c_void,
    scale: *mut f32,
    zero_point: *mut i32,
    rows: usize,
    cols: usize,
    bit: u32,
    eps: f32,
) -> i32 {
    with_dtype!(
        dtype,
        |T, G| raw!(per_token(rows, cols, bit, eps).forward(
            false,
            input.cast::<T>(),
            out.cast::<T>(),
            scale,
            zero_point
        )),
        else unknown_dtype()
    )
}

/// qat_per_token_symmetric on activations of the element type dtype, as
/// qat_per_token_asymmetric_dtype.
///
/// Safety: each non-null pointer must be valid for its count of elements.
#[no_mangle]
pub unsafe extern "C" fn qat_per_token_symmetric_dtype(
    dtype: i32,
    input: *const c_void,
    out: *mut c_void,
    scale: *mut f32,
    zero_point: *mut i32,
    rows: usize,
    cols: usize,
    bit: u32,
    eps: f32,
) -> i32 {
    with_dtype!(
        dtype,
        |T, G| raw!(per_token(rows, cols, bit, eps).forward(
            true,
            input.cast::<T>(),
            out.cast::<T>(),
            scale,
            zero_point
        )),
        else unknown_dtype()
    )
}

/// qat_per_token_backward on data of the element type dtype (a QAT_DTYPE_*
/// value): grad_output, input and grad_input hold it. An unknown dtype
/// returns QAT_ERR_DTYPE, before anything else is checked.
///
/// Safety: each non-null pointer must be valid for its count of elements.
#[no_mangle]
pub unsafe extern "C" fn qat_per_token_backward_dtype(
    dtype: i32,
    grad_output: *const c_void,
    input: *const c_void,
    scale: *const f32,
    zero_point: *const i32,
    grad_input: *mut c_void,
    rows: usize,
    cols: usize,
    bit: u32,
) -> i32 {
    with_dtype!(
        dtype,
        |T, G| raw!(per_token(rows, cols, bit, 1.0).backward(
            grad_output.cast::<T>(),
            input.cast::<T>(),
            scale,
            zero_point,
            grad_input.cast::<T>(),
        )),
        else unknown_dtype()
    )
}

/// The entry points above in the tests' registry (`crate::registry`).
/// cbindgen:ignore
#[cfg(feature = "test-hooks")]
pub(crate) mod registry {
    use super::*;
    use crate::registry::{entry, EntryPoint, Role};

    /// Its entry points: the bf16 ones, then their dtype forms with each
    /// dtype (whose name is also the data's element).
    macro_rules! entry_points {
        ($($dtype:ident),*) => {
            &[
                entry! {
                    qat_per_token_asymmetric(rows, cols, bit, eps),
                    Role::Train,
                    Matrix, Token, None, calibration: false,
                    [
                        input: Bf16 IN All,
                        out: Bf16 OUT All,
                        scale: F32 OUT Unit,
                        zero_point: I32 OUT Unit,
                    ]
                },
                entry! {
                    qat_per_token_symmetric(rows, cols, bit, eps),
                    Role::Train,
                    Matrix, Token, None, calibration: false,
                    [
                        input: Bf16 IN All,
                        out: Bf16 OUT All,
                        scale: F32 OUT Unit,
                        zero_point: I32 OUT Unit,
                    ]
                },
                entry! {
                    qat_per_token_backward(rows, cols, bit),
                    Role::Train,
                    Matrix, TokenBits, None, calibration: false,
                    [
                        grad_output: Bf16 IN All,
                        input: Bf16 IN All,
                        scale: F32 IN Unit,
                        zero_point: I32 IN Unit,
                        grad_input: Bf16 OUT All,
                    ]
                },
                $(
                    entry! {
                        qat_per_token_asymmetric_dtype[$dtype](rows, cols, bit, eps),
                        Role::Train,
                        Matrix, Token, None, calibration: false,
                        [
                            input: $dtype IN All,
                            out: $dtype OUT All,
                            scale: F32 OUT Unit,
                            zero_point: I32 OUT Unit,
                        ]
                    },
                    entry! {
                        qat_per_token_symmetric_dtype[$dtype](rows, cols, bit, eps),
                        Role::Train,
                        Matrix, Token, None, calibration: false,
                        [
                            input: $dtype IN All,
                            out: $dtype OUT All,
                            scale: F32 OUT Unit,
                            zero_point: I32 OUT Unit,
                        ]
                    },
                    entry! {
                        qat_per_token_backward_dtype[$dtype](rows, cols, bit),
                        Role::Train,
                        Matrix, TokenBits, None, calibration: false,
                        [
                            grad_output: $dtype IN All,
                            input: $dtype IN All,
                            scale: F32 IN Unit,
                            zero_point: I32 IN Unit,
                            grad_input: $dtype OUT All,
                        ]
                    },
                )*
            ]
        };
    }

    pub(crate) static ENTRY_POINTS: &[EntryPoint] = entry_points!(Bf16, F32, F16);
}
