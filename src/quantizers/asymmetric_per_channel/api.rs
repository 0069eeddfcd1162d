//! Asymmetric per channel's operations on slices: [`Backend`] methods and the free
//! functions derived from them.
//! Generated from interface.txt by `QAT_BLESS=1 cargo test --test
//! interface`, which fails while this file is stale: do not edit.

use half::bf16;

use super::*;
// The conversions of data slices.
use crate::float::sealed::Float as _;
use crate::{Backend, Calibration, Error, Float};

api! {
    /// Asymmetric per-channel fake quantization (LSQ+ forward) of a row-major
    /// matrix, one scale and offset per row: [`Self::asymmetric_per_group`]
    /// with each row a group.
    pub fn asymmetric_per_channel<T: Float>(
        self,
        weight: &[T],
        scale: &[bf16],
        offset: &[bf16],
        out: &mut [T],
        params: &AsymmetricPerChannel,
    ) -> Result<(), Error> {
        slices!(self.per_row(weight.len(), scale.len(), params).forward(
            <T>::input(weight),
            (scale, offset),
            <T>::output(out)
        ))
    }

    /// [`Self::asymmetric_per_channel`] writing over `weight`.
    pub fn asymmetric_per_channel_in_place<T: Float>(
        self,
        weight: &mut [T],
        scale: &[bf16],
        offset: &[bf16],
        params: &AsymmetricPerChannel,
    ) -> Result<(), Error> {
        let (n, w) = (weight.len(), T::output(weight));
        slices!(self
            .per_row(n, scale.len(), params)
            .forward(w.reading(), (scale, offset), w))
    }

    /// Gradients of [`Self::asymmetric_per_channel`]: `grad_weight` (one per
    /// weight), `grad_scale` and `grad_offset` (one per row).
    pub fn asymmetric_per_channel_backward<T: Float>(
        self,
        grad_output: &[T],
        weight: &[T],
        scale: &[bf16],
        offset: &[bf16],
        grad_weight: &mut [T],
        grad_scale: &mut [T::Grad],
        grad_offset: &mut [T::Grad],
        params: &AsymmetricPerChannel,
    ) -> Result<(), Error> {
        slices!(self.per_row(weight.len(), scale.len(), params).backward(
            <T>::input(grad_output),
            <T>::input(weight),
            (scale, offset),
            <T>::output(grad_weight),
            (
                <T::Grad>::output(grad_scale),
                <T::Grad>::output(grad_offset)
            )
        ))
    }

    /// [`Self::asymmetric_per_channel_backward`] with `grad` holding the output
    /// gradient on entry and the weight gradient on return.
    pub fn asymmetric_per_channel_backward_in_place<T: Float>(
        self,
        grad: &mut [T],
        weight: &[T],
        scale: &[bf16],
        offset: &[bf16],
        grad_scale: &mut [T::Grad],
        grad_offset: &mut [T::Grad],
        params: &AsymmetricPerChannel,
    ) -> Result<(), Error> {
        let w = T::output(grad);
        slices!(self.per_row(weight.len(), scale.len(), params).backward(
            w.reading(),
            <T>::input(weight),
            (scale, offset),
            w,
            (
                <T::Grad>::output(grad_scale),
                <T::Grad>::output(grad_offset)
            )
        ))
    }

    /// Export, as [`Self::asymmetric_per_group_quantize`] with each row a
    /// group.
    pub fn asymmetric_per_channel_quantize<T: Float>(
        self,
        weight: &[T],
        scale: &[bf16],
        offset: &[bf16],
        codes: &mut [u8],
        params: &AsymmetricPerChannel,
    ) -> Result<(), Error> {
        slices!(self.per_row(weight.len(), scale.len(), params).quantize(
            <T>::input(weight),
            (scale, offset),
            codes
        ))
    }

    /// The values of codes from [`Self::asymmetric_per_channel_quantize`], as
    /// [`Self::asymmetric_per_group_dequantize`] with each row a group.
    pub fn asymmetric_per_channel_dequantize<T: Float>(
        self,
        codes: &[u8],
        scale: &[bf16],
        offset: &[bf16],
        out: &mut [T],
        params: &AsymmetricPerChannel,
    ) -> Result<(), Error> {
        slices!(self.per_row(codes.len(), scale.len(), params).dequantize(
            codes,
            (scale, offset),
            <T>::output(out)
        ))
    }

    /// [`Self::asymmetric_per_channel_backward`] for one shard: `grad_weight`,
    /// and each row's two sums as block values (2 *
    /// [`block_count`](crate::block_count)(cols) per row) instead of the scale
    /// and offset gradients, for
    /// [`asymmetric_per_channel_finish`](crate::asymmetric_per_channel_finish)
    /// once the shards' values are combined.
    pub fn asymmetric_per_channel_backward_blocks<T: Float>(
        self,
        grad_output: &[T],
        weight: &[T],
        scale: &[bf16],
        offset: &[bf16],
        grad_weight: &mut [T],
        block_sums: &mut [f64],
        params: &AsymmetricPerChannel,
    ) -> Result<(), Error> {
        slices!(self
            .per_row(weight.len(), scale.len(), params)
            .backward_blocks(
                <T>::input(grad_output),
                <T>::input(weight),
                (scale, offset),
                <T>::output(grad_weight),
                block_sums
            ))
    }

    /// Calibration per row, as [`Self::asymmetric_per_group_calibrate`] with
    /// each row a group.
    pub fn asymmetric_per_channel_calibrate<T: Float>(
        self,
        weight: &[T],
        scale: &mut [bf16],
        offset: &mut [bf16],
        params: &AsymmetricPerChannel,
        mode: Calibration,
    ) -> Result<(), Error> {
        slices!(self.per_row(weight.len(), scale.len(), params).calibrate(
            <T>::input(weight),
            (scale, offset),
            Some(mode)
        ))
    }
}

/// The scale and offset gradients that one
/// [`Backend::asymmetric_per_channel_backward`] call gives, from the rows'
/// block values (rows of `cols` weights).
pub fn asymmetric_per_channel_finish<G: Float>(
    block_sums: &[f64],
    scale: &[bf16],
    grad_scale: &mut [G],
    grad_offset: &mut [G],
    cols: usize,
    params: &AsymmetricPerChannel,
) -> Result<(), Error> {
    slices!(Backend::active()
        .per_row_of(scale.len(), cols, params)
        .finish(
            block_sums,
            scale,
            (<G>::output(grad_scale), <G>::output(grad_offset))
        ))
}
