//! Symmetric per tensor's operations on slices: [`Backend`] methods and the free
//! functions derived from them.
//! Generated from interface.txt by `QAT_BLESS=1 cargo test --test
//! interface`, which fails while this file is stale: do not edit.

use half::bf16;

use super::*;
// The conversions of data slices.
use crate::float::sealed::Float as _;
use crate::{Backend, Calibration, Error, Float};

api! {
    /// Symmetric per-tensor fake quantization: one scale for every weight.
    pub fn symmetric_per_tensor<T: Float>(
        self,
        weight: &[T],
        scale: bf16,
        out: &mut [T],
        params: &Symmetric,
    ) -> Result<(), Error> {
        slices!(self.per_tensor(weight.len(), params).forward(
            <T>::input(weight),
            core::slice::from_ref(&scale),
            <T>::output(out)
        ))
    }

    /// [`Self::symmetric_per_tensor`] writing over `weight`.
    pub fn symmetric_per_tensor_in_place<T: Float>(
        self,
        weight: &mut [T],
        scale: bf16,
        params: &Symmetric,
    ) -> Result<(), Error> {
        let (n, w) = (weight.len(), T::output(weight));
        slices!(self
            .per_tensor(n, params)
            .forward(w.reading(), core::slice::from_ref(&scale), w))
    }

    /// Gradients of [`Self::symmetric_per_tensor`]: `grad_weight` and the one
    /// `grad_scale`, summed over every element (+0.0 when there are none).
    pub fn symmetric_per_tensor_backward<T: Float>(
        self,
        grad_output: &[T],
        weight: &[T],
        scale: bf16,
        grad_weight: &mut [T],
        grad_scale: &mut T::Grad,
        params: &Symmetric,
    ) -> Result<(), Error> {
        slices!(self.per_tensor(weight.len(), params).backward(
            <T>::input(grad_output),
            <T>::input(weight),
            core::slice::from_ref(&scale),
            <T>::output(grad_weight),
            <T::Grad>::output(core::slice::from_mut(grad_scale))
        ))
    }

    /// [`Self::symmetric_per_tensor_backward`] with `grad` holding the output
    /// gradient on entry and the weight gradient on return.
    pub fn symmetric_per_tensor_backward_in_place<T: Float>(
        self,
        grad: &mut [T],
        weight: &[T],
        scale: bf16,
        grad_scale: &mut T::Grad,
        params: &Symmetric,
    ) -> Result<(), Error> {
        let w = T::output(grad);
        slices!(self.per_tensor(weight.len(), params).backward(
            w.reading(),
            <T>::input(weight),
            core::slice::from_ref(&scale),
            w,
            <T::Grad>::output(core::slice::from_mut(grad_scale))
        ))
    }

    /// [`Self::symmetric_per_channel_quantize`] with one scale for every
    /// weight.
    pub fn symmetric_per_tensor_quantize<T: Float>(
        self,
        weight: &[T],
        scale: bf16,
        codes: &mut [i8],
        params: &Symmetric,
    ) -> Result<(), Error> {
        slices!(self.per_tensor(weight.len(), params).quantize(
            <T>::input(weight),
            core::slice::from_ref(&scale),
            codes
        ))
    }

    /// [`Self::symmetric_per_channel_dequantize`] with one scale for every
    /// code.
    pub fn symmetric_per_tensor_dequantize<T: Float>(
        self,
        codes: &[i8],
        scale: bf16,
        out: &mut [T],
        params: &Symmetric,
    ) -> Result<(), Error> {
        slices!(self.per_tensor(codes.len(), params).dequantize(
            codes,
            core::slice::from_ref(&scale),
            <T>::output(out)
        ))
    }

    /// [`Self::symmetric_per_tensor_backward`] for one shard: the two sums as
    /// block values (2 * [`block_count`](crate::block_count)(numel)) instead of
    /// the scale gradient, for
    /// [`symmetric_per_tensor_finish`](crate::symmetric_per_tensor_finish).
    pub fn symmetric_per_tensor_backward_blocks<T: Float>(
        self,
        grad_output: &[T],
        weight: &[T],
        scale: bf16,
        grad_weight: &mut [T],
        block_sums: &mut [f64],
        params: &Symmetric,
    ) -> Result<(), Error> {
        slices!(self.per_tensor(weight.len(), params).backward_blocks(
            <T>::input(grad_output),
            <T>::input(weight),
            core::slice::from_ref(&scale),
            <T>::output(grad_weight),
            block_sums
        ))
    }

    /// Calibration per tensor: one scale, as
    /// [`Self::symmetric_per_channel_calibrate`].
    pub fn symmetric_per_tensor_calibrate<T: Float>(
        self,
        weight: &[T],
        scale: &mut bf16,
        params: &Symmetric,
        mode: Calibration,
    ) -> Result<(), Error> {
        slices!(self.per_tensor(weight.len(), params).calibrate(
            <T>::input(weight),
            core::slice::from_mut(scale),
            Some(mode)
        ))
    }
}

/// The scale gradient that one [`Backend::symmetric_per_tensor_backward`] call
/// over `numel` weights gives, from the tensor's block values.
pub fn symmetric_per_tensor_finish<G: Float>(
    block_sums: &[f64],
    scale: bf16,
    grad_scale: &mut G,
    numel: usize,
    params: &Symmetric,
) -> Result<(), Error> {
    slices!(Backend::active().per_tensor(numel, params).finish(
        block_sums,
        core::slice::from_ref(&scale),
        <G>::output(core::slice::from_mut(grad_scale))
    ))
}
