//! This quantizer's entry points in the tests' registry
//! (`crate::registry`).

use super::ffi::*;
use crate::registry::{entry, EntryPoint, Role};

/// Its entry points.
pub static ENTRY_POINTS: &[EntryPoint] = &[
    entry! {
        qat_symmetric_per_tensor(numel, eps, min_v, max_v),
        Role::Train,
        Tensor, Symmetric, None, calibration: false,
        [
            weight: Bf16 IN All,
            scale: Bf16 IN Unit,
            out: Bf16 OUT All,
        ]
    },
    entry! {
        qat_symmetric_per_tensor_backward(numel, eps, min_v, max_v),
        Role::Train,
        Tensor, Symmetric, None, calibration: false,
        [
            grad_output: Bf16 IN All,
            weight: Bf16 IN All,
            scale: Bf16 IN Unit,
            grad_weight: Bf16 OUT All,
            grad_scale: Bf16 OUT Unit,
        ]
    },
    entry! {
        qat_symmetric_per_tensor_quantize(numel, eps, min_v, max_v),
        Role::Quantize { forward: "qat_symmetric_per_tensor", dequantize: "qat_symmetric_per_tensor_dequantize" },
        Tensor, SymmetricCodes, Finite, calibration: false,
        [
            weight: Bf16 IN All,
            scale: Bf16 IN Unit,
            codes: I8 OUT All,
        ]
    },
    entry! {
        qat_symmetric_per_tensor_dequantize(numel, eps, min_v, max_v),
        Role::Dequantize,
        Tensor, SymmetricCodes, Codes, calibration: false,
        [
            codes: I8 IN All,
            scale: Bf16 IN Unit,
            out: Bf16 OUT All,
        ]
    },
    entry! {
        qat_symmetric_per_tensor_backward_blocks(numel, eps, min_v, max_v),
        Role::Blocks { backward: "qat_symmetric_per_tensor_backward", finish: "qat_symmetric_per_tensor_finish" },
        Tensor, Symmetric, None, calibration: false,
        [
            grad_output: Bf16 IN All,
            weight: Bf16 IN All,
            scale: Bf16 IN Unit,
            grad_weight: Bf16 OUT All,
            block_sums: F64 OUT Blocks,
        ]
    },
    entry! {
        qat_symmetric_per_tensor_finish(numel, eps, min_v, max_v),
        Role::Finish,
        Tensor, Symmetric, None, calibration: false,
        [
            block_sums: F64 IN Blocks,
            scale: Bf16 IN Unit,
            grad_scale: Bf16 OUT Unit,
        ]
    },
    entry! {
        qat_symmetric_per_tensor_calibrate(numel, eps, min_v, max_v, mode),
        Role::Calibrate,
        Tensor, Symmetric, Finite, calibration: true,
        [
            weight: Bf16 IN All,
            scale: Bf16 OUT Unit,
        ]
    },
];
