//! This quantizer's entry points in the tests' registry
//! (`crate::registry`).

use super::ffi::*;
use crate::registry::{entry, EntryPoint, Role};

/// Its entry points.
pub static ENTRY_POINTS: &[EntryPoint] = &[
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
