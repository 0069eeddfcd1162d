//! This quantizer's entry points in the tests' registry
//! (`crate::registry`).

use super::ffi::*;
use crate::registry::{entry, EntryPoint, Role};

/// Its entry points.
pub static ENTRY_POINTS: &[EntryPoint] = &[
    entry! {
        qat_symmetric_per_channel(rows, cols, eps, min_v, max_v),
        Role::Train,
        Matrix, Symmetric, None, calibration: false,
        [
            weight: Bf16 IN All,
            scale: Bf16 IN Unit,
            out: Bf16 OUT All,
        ]
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
        ]
    },
    entry! {
        qat_symmetric_per_channel_quantize(rows, cols, eps, min_v, max_v),
        Role::Quantize { forward: "qat_symmetric_per_channel", dequantize: "qat_symmetric_per_channel_dequantize" },
        Matrix, SymmetricCodes, Finite, calibration: false,
        [
            weight: Bf16 IN All,
            scale: Bf16 IN Unit,
            codes: I8 OUT All,
        ]
    },
    entry! {
        qat_symmetric_per_channel_dequantize(rows, cols, eps, min_v, max_v),
        Role::Dequantize,
        Matrix, SymmetricCodes, Codes, calibration: false,
        [
            codes: I8 IN All,
            scale: Bf16 IN Unit,
            out: Bf16 OUT All,
        ]
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
        ]
    },
    entry! {
        qat_symmetric_per_channel_finish(rows, cols, eps, min_v, max_v),
        Role::Finish,
        Matrix, Symmetric, None, calibration: false,
        [
            block_sums: F64 IN Blocks,
            scale: Bf16 IN Unit,
            grad_scale: Bf16 OUT Unit,
        ]
    },
    entry! {
        qat_symmetric_per_channel_calibrate(rows, cols, eps, min_v, max_v, mode),
        Role::Calibrate,
        Matrix, Symmetric, Finite, calibration: true,
        [
            weight: Bf16 IN All,
            scale: Bf16 OUT Unit,
        ]
    },
];
