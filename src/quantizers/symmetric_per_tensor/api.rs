//! Symmetric per tensor's operations on slices: [`Backend`] methods and the free
//! functions derived from them.
//! Generated from interface.txt by `QAT_BLESS=1 cargo test --test
//! interface`, which fails while this file is stale: do not edit.

use half::bf16;

use super::*;
use crate::boundary::Out;
use crate::{Backend, Calibration, Error};

api! {
    /// Symmetric per-tensor fake quantization: one scale for every weight.
    pub fn symmetric_per_tensor(
        self,
        weight: &[bf16],
        scale: bf16,
        out: &mut [bf16],
        params: &Symmetric,
    ) -> Result<(), Error> {
        slices!(self.per_tensor(weight.len(), params).forward(
            weight,
            core::slice::from_ref(&scale),
            out
        ))
    }

    /// [`Self::symmetric_per_tensor`] writing over `weight`.
    pub fn symmetric_per_tensor_in_place(
        self,
        weight: &mut [bf16],
        scale: bf16,
        params: &Symmetric,
    ) -> Result<(), Error> {
        let (n, w) = (weight.len(), Out::from(weight));
        slices!(self
            .per_tensor(n, params)
            .forward(w.reading(), core::slice::from_ref(&scale), w))
    }

    /// Gradients of [`Self::symmetric_per_tensor`]: `grad_weight` and the one
    /// `grad_scale`, summed over every element (+0.0 when there are none).
    pub fn symmetric_per_tensor_backward(
        self,
        grad_output: &[bf16],
        weight: &[bf16],
        scale: bf16,
        grad_weight: &mut [bf16],
        grad_scale: &mut bf16,
        params: &Symmetric,
    ) -> Result<(), Error> {
        slices!(self.per_tensor(weight.len(), params).backward(
            grad_output,
            weight,
            core::slice::from_ref(&scale),
            grad_weight,
            core::slice::from_mut(grad_scale)
        ))
    }

    /// [`Self::symmetric_per_tensor_backward`] with `grad` holding the output
    /// gradient on entry and the weight gradient on return.
    pub fn symmetric_per_tensor_backward_in_place(
        self,
        grad: &mut [bf16],
        weight: &[bf16],
        scale: bf16,
        grad_scale: &mut bf16,
        params: &Symmetric,
    ) -> Result<(), Error> {
        let w = Out::from(grad);
        slices!(self.per_tensor(weight.len(), params).backward(
            w.reading(),
            weight,
            core::slice::from_ref(&scale),
            w,
            core::slice::from_mut(grad_scale)
        ))
    }

    /// [`Self::symmetric_per_channel_quantize`] with one scale for every
    /// weight.
    pub fn symmetric_per_tensor_quantize(
        self,
        weight: &[bf16],
        scale: bf16,
        codes: &mut [i8],
        params: &Symmetric,
    ) -> Result<(), Error> {
        slices!(self.per_tensor(weight.len(), params).quantize(
            weight,
            core::slice::from_ref(&scale),
            codes
        ))
    }

    /// [`Self::symmetric_per_channel_dequantize`] with one scale for every
    /// code.
    pub fn symmetric_per_tensor_dequantize(
        self,
        codes: &[i8],
        scale: bf16,
        out: &mut [bf16],
        params: &Symmetric,
    ) -> Result<(), Error> {
        slices!(self.per_tensor(codes.len(), params).dequantize(
            codes,
            core::slice::from_ref(&scale),
            out
        ))
    }

    /// [`Self::symmetric_per_tensor_backward`] for one shard: the two sums as
    /// block values (2 * [`block_count`](crate::block_count)(numel)) instead of
    /// the scale gradient, for
    /// [`symmetric_per_tensor_finish`](crate::symmetric_per_tensor_finish).
    pub fn symmetric_per_tensor_backward_blocks(
        self,
        grad_output: &[bf16],
        weight: &[bf16],
        scale: bf16,
        grad_weight: &mut [bf16],
        block_sums: &mut [f64],
        params: &Symmetric,
    ) -> Result<(), Error> {
        slices!(self.per_tensor(weight.len(), params).backward_blocks(
            grad_output,
            weight,
            core::slice::from_ref(&scale),
            grad_weight,
            block_sums
        ))
    }

    /// Calibration per tensor: one scale, as
    /// [`Self::symmetric_per_channel_calibrate`].
    pub fn symmetric_per_tensor_calibrate(
        self,
        weight: &[bf16],
        scale: &mut bf16,
        params: &Symmetric,
        mode: Calibration,
    ) -> Result<(), Error> {
        slices!(self.per_tensor(weight.len(), params).calibrate(
            weight,
            core::slice::from_mut(scale),
            Some(mode)
        ))
    }
}

/// The scale gradient that one [`Backend::symmetric_per_tensor_backward`] call
/// over `numel` weights gives, from the tensor's block values.
pub fn symmetric_per_tensor_finish(
    block_sums: &[f64],
    scale: bf16,
    grad_scale: &mut bf16,
    numel: usize,
    params: &Symmetric,
) -> Result<(), Error> {
    slices!(Backend::active().per_tensor(numel, params).finish(
        block_sums,
        core::slice::from_ref(&scale),
        core::slice::from_mut(grad_scale)
    ))
}
