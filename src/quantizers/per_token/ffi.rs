//! Per-token activations: the C entry points, each one call (see `crate::ffi`).
#![allow(clippy::missing_safety_doc)]

use crate::boundary::Raw;
use crate::call::{Call, Shape};
use crate::dispatch;
use crate::ffi::qat_bf16;
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

/// The entry points above in the tests' registry (`crate::registry`).
/// cbindgen:ignore
#[cfg(feature = "test-hooks")]
pub(crate) mod registry {
    use super::*;
    use crate::registry::{entry, EntryPoint, Role};

    /// Its entry points.
    pub(crate) static ENTRY_POINTS: &[EntryPoint] = &[
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
    ];
}
