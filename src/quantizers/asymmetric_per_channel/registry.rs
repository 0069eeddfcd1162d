//! This quantizer's entry points in the tests' registry
//! (`crate::registry`).

use super::ffi::*;
use crate::registry::{entry, EntryPoint, Role};

/// Its entry points.
pub static ENTRY_POINTS: &[EntryPoint] = &[
    entry! {
        qat_asymmetric_per_channel(rows, cols, bit, eps, clip_val),
        Role::Train,
        Matrix, Asymmetric, None, calibration: false,
        [
            weight: Bf16 IN All,
            scale: Bf16 IN Unit,
            offset: Bf16 IN Unit,
            out: Bf16 OUT All,
        ]
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
        ]
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
        ]
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
        ]
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
        ]
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
        ]
    },
    entry! {
        qat_asymmetric_per_channel_calibrate(rows, cols, bit, eps, clip_val, mode),
        Role::Calibrate,
        Matrix, Asymmetric, Finite, calibration: true,
        [
            weight: Bf16 IN All,
            scale: Bf16 OUT Unit,
            offset: Bf16 OUT Unit,
        ]
    },
];
