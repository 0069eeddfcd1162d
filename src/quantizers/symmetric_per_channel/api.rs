//! Symmetric per channel's operations on slices: [`Backend`] methods and the free
//! functions derived from them.
//! Generated from interface.txt by `QAT_BLESS=1 cargo test --test
//! interface`, which fails while this file is stale: do not edit.

use half::bf16;

use super::*;
// The conversions of data slices.
use crate::float::sealed::Float as _;
use crate::{Backend, Calibration, Error, Float};

api! {
    /// Symmetric per-channel fake quantization (LSQ forward) of a row-major
    /// matrix, one scale per row.
    pub fn symmetric_per_channel<T: Float>(
        self,
        weight: &[T],
        scale: &[bf16],
        out: &mut [T],
        params: &Symmetric,
    ) -> Result<(), Error> {
        slices!(self.per_channel(weight.len(), scale.len(), params).forward(
            <T>::input(weight),
            scale,
            <T>::output(out)
        ))
    }

    /// [`Self::symmetric_per_channel`] writing over `weight`.
    pub fn symmetric_per_channel_in_place<T: Float>(
        self,
        weight: &mut [T],
        scale: &[bf16],
        params: &Symmetric,
    ) -> Result<(), Error> {
        let (n, w) = (weight.len(), T::output(weight));
        slices!(self
            .per_channel(n, scale.len(), params)
            .forward(w.reading(), scale, w))
    }

    /// Gradients of [`Self::symmetric_per_channel`]: `grad_weight` (one per
    /// weight) and `grad_scale` (one per row).
    pub fn symmetric_per_channel_backward<T: Float>(
        self,
        grad_output: &[T],
        weight: &[T],
        scale: &[bf16],
        grad_weight: &mut [T],
        grad_scale: &mut [T::Grad],
        params: &Symmetric,
    ) -> Result<(), Error> {
        slices!(self
            .per_channel(weight.len(), scale.len(), params)
            .backward(
                <T>::input(grad_output),
                <T>::input(weight),
                scale,
                <T>::output(grad_weight),
                <T::Grad>::output(grad_scale)
            ))
    }

    /// [`Self::symmetric_per_channel_backward`] with `grad` holding the output
    /// gradient on entry and the weight gradient on return.
    pub fn symmetric_per_channel_backward_in_place<T: Float>(
        self,
        grad: &mut [T],
        weight: &[T],
        scale: &[bf16],
        grad_scale: &mut [T::Grad],
        params: &Symmetric,
    ) -> Result<(), Error> {
        let w = T::output(grad);
        slices!(self
            .per_channel(weight.len(), scale.len(), params)
            .backward(
                w.reading(),
                <T>::input(weight),
                scale,
                w,
                <T::Grad>::output(grad_scale)
            ))
    }

    /// Export: the integer code `c = clip(round(x / ps), min_v, max_v)` of each
    /// weight, one scale per row; `min_v` and `max_v` must lie in `-128..=127`
    /// (else [`Status::Range`](crate::Status::Range)). Succeeds exactly when
    /// every value [`Self::symmetric_per_channel`] gives is finite; otherwise
    /// (a NaN weight or scale, an infinite scale, `c * ps` past bf16's range)
    /// [`Status::NonFinite`](crate::Status::NonFinite), with nothing written.
    pub fn symmetric_per_channel_quantize<T: Float>(
        self,
        weight: &[T],
        scale: &[bf16],
        codes: &mut [i8],
        params: &Symmetric,
    ) -> Result<(), Error> {
        slices!(self
            .per_channel(weight.len(), scale.len(), params)
            .quantize(<T>::input(weight), scale, codes))
    }

    /// The values of codes from [`Self::symmetric_per_channel_quantize`]:
    /// `out[i] = codes[i] * max(scale, eps)`, narrowed to bf16.
    /// [`Status::Code`](crate::Status::Code), with nothing written, for a code
    /// outside `[min_v, max_v]`.
    pub fn symmetric_per_channel_dequantize<T: Float>(
        self,
        codes: &[i8],
        scale: &[bf16],
        out: &mut [T],
        params: &Symmetric,
    ) -> Result<(), Error> {
        slices!(self
            .per_channel(codes.len(), scale.len(), params)
            .dequantize(codes, scale, <T>::output(out)))
    }

    /// [`Self::symmetric_per_channel_backward`] for one shard: `grad_weight`,
    /// and each row's two sums as block values (2 *
    /// [`block_count`](crate::block_count)(cols) per row) instead of the scale
    /// gradients, for
    /// [`symmetric_per_channel_finish`](crate::symmetric_per_channel_finish)
    /// once the shards' values are combined.
    pub fn symmetric_per_channel_backward_blocks<T: Float>(
        self,
        grad_output: &[T],
        weight: &[T],
        scale: &[bf16],
        grad_weight: &mut [T],
        block_sums: &mut [f64],
        params: &Symmetric,
    ) -> Result<(), Error> {
        slices!(self
            .per_channel(weight.len(), scale.len(), params)
            .backward_blocks(
                <T>::input(grad_output),
                <T>::input(weight),
                scale,
                <T>::output(grad_weight),
                block_sums
            ))
    }

    /// Calibration per channel: writes each row's scale, as
    /// [`Self::asymmetric_per_group_calibrate`] (candidates: 64 fractions of
    /// `max|w| / max_v`).
    pub fn symmetric_per_channel_calibrate<T: Float>(
        self,
        weight: &[T],
        scale: &mut [bf16],
        params: &Symmetric,
        mode: Calibration,
    ) -> Result<(), Error> {
        slices!(self
            .per_channel(weight.len(), scale.len(), params)
            .calibrate(<T>::input(weight), scale, Some(mode)))
    }
}

/// The scale gradients that one [`Backend::symmetric_per_channel_backward`]
/// call gives, from the rows' block values (rows of `cols` weights).
pub fn symmetric_per_channel_finish<G: Float>(
    block_sums: &[f64],
    scale: &[bf16],
    grad_scale: &mut [G],
    cols: usize,
    params: &Symmetric,
) -> Result<(), Error> {
    slices!(Backend::active()
        .per_channel_of(scale.len(), cols, params)
        .finish(block_sums, scale, <G>::output(grad_scale)))
}
