//! Asymmetric per group's operations on slices: [`Backend`] methods and the free
//! functions derived from them.
//! Generated from interface.txt by `QAT_BLESS=1 cargo test --test
//! interface`, which fails while this file is stale: do not edit.

use half::bf16;

use super::*;
// The conversions of data slices.
use crate::float::sealed::Float as _;
use crate::{Backend, Calibration, Error, Float};

api! {
    /// Asymmetric per-group fake quantization (LSQ+ forward): `out[i]` is
    /// `weight[i]` snapped to its group's grid of `2^bit` levels. `scale` and
    /// `offset` hold one value per group of `group_size` consecutive weights.
    pub fn asymmetric_per_group<T: Float>(
        self,
        weight: &[T],
        scale: &[bf16],
        offset: &[bf16],
        out: &mut [T],
        params: &AsymmetricPerGroup,
    ) -> Result<(), Error> {
        slices!(self.per_group(weight.len(), params).forward(
            <T>::input(weight),
            (scale, offset),
            <T>::output(out)
        ))
    }

    /// [`Self::asymmetric_per_group`] writing over `weight`.
    pub fn asymmetric_per_group_in_place<T: Float>(
        self,
        weight: &mut [T],
        scale: &[bf16],
        offset: &[bf16],
        params: &AsymmetricPerGroup,
    ) -> Result<(), Error> {
        let (n, w) = (weight.len(), T::output(weight));
        slices!(self
            .per_group(n, params)
            .forward(w.reading(), (scale, offset), w))
    }

    /// Gradients of [`Self::asymmetric_per_group`] given the gradient of its
    /// output: `grad_weight` (one per weight), `grad_scale` and `grad_offset`
    /// (one per group).
    pub fn asymmetric_per_group_backward<T: Float>(
        self,
        grad_output: &[T],
        weight: &[T],
        scale: &[bf16],
        offset: &[bf16],
        grad_weight: &mut [T],
        grad_scale: &mut [T::Grad],
        grad_offset: &mut [T::Grad],
        params: &AsymmetricPerGroup,
    ) -> Result<(), Error> {
        slices!(self.per_group(weight.len(), params).backward(
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

    /// [`Self::asymmetric_per_group_backward`] with `grad` holding the output
    /// gradient on entry and the weight gradient on return.
    pub fn asymmetric_per_group_backward_in_place<T: Float>(
        self,
        grad: &mut [T],
        weight: &[T],
        scale: &[bf16],
        offset: &[bf16],
        grad_scale: &mut [T::Grad],
        grad_offset: &mut [T::Grad],
        params: &AsymmetricPerGroup,
    ) -> Result<(), Error> {
        let w = T::output(grad);
        slices!(self.per_group(weight.len(), params).backward(
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

    /// Export: the integer code of each weight, `q = r + n` in `0..2^bit`
    /// (`bit` at most 8, else [`Status::BitWidth`](crate::Status::BitWidth)),
    /// where `r` is the level [`Self::asymmetric_per_group`] snaps the weight
    /// to, so that [`Self::asymmetric_per_group_dequantize`] gives back its
    /// output bit for bit. Succeeds exactly when every value
    /// [`Self::asymmetric_per_group`] gives is finite; otherwise (a NaN weight,
    /// scale or offset, infinities meeting, a level past bf16's range)
    /// [`Status::NonFinite`](crate::Status::NonFinite), with nothing written.
    /// Infinite weights whose value is finite clip like large ones.
    pub fn asymmetric_per_group_quantize<T: Float>(
        self,
        weight: &[T],
        scale: &[bf16],
        offset: &[bf16],
        codes: &mut [u8],
        params: &AsymmetricPerGroup,
    ) -> Result<(), Error> {
        slices!(self.per_group(weight.len(), params).quantize(
            <T>::input(weight),
            (scale, offset),
            codes
        ))
    }

    /// The values of codes from [`Self::asymmetric_per_group_quantize`]:
    /// `out[i] = ((codes[i] - n) + 0.5) * max(scale, eps) + offset`, in f32,
    /// one operation at a time, narrowed to bf16: bit for bit the forward pass
    /// of the weights they came from. [`Status::Code`](crate::Status::Code),
    /// with nothing written, for a code of `2^bit` or more.
    pub fn asymmetric_per_group_dequantize<T: Float>(
        self,
        codes: &[u8],
        scale: &[bf16],
        offset: &[bf16],
        out: &mut [T],
        params: &AsymmetricPerGroup,
    ) -> Result<(), Error> {
        slices!(self.per_group(codes.len(), params).dequantize(
            codes,
            (scale, offset),
            <T>::output(out)
        ))
    }

    /// [`Self::asymmetric_per_group_backward`] for one shard of a sharded
    /// weight: writes `grad_weight`, and instead of the scale and offset
    /// gradients each group's two sums as f64 block values (2 *
    /// [`block_count`](crate::block_count)(group_size) per group: the offset
    /// sum's, then the scale sum's), for
    /// [`asymmetric_per_group_finish`](crate::asymmetric_per_group_finish) once
    /// the shards' values are combined (see `docs/kernels.md`, "Gradients
    /// across shards").
    pub fn asymmetric_per_group_backward_blocks<T: Float>(
        self,
        grad_output: &[T],
        weight: &[T],
        scale: &[bf16],
        offset: &[bf16],
        grad_weight: &mut [T],
        block_sums: &mut [f64],
        params: &AsymmetricPerGroup,
    ) -> Result<(), Error> {
        slices!(self.per_group(weight.len(), params).backward_blocks(
            <T>::input(grad_output),
            <T>::input(weight),
            (scale, offset),
            <T>::output(grad_weight),
            block_sums
        ))
    }

    /// Calibration per group: writes each group's scale and offset, those whose
    /// forward pass is closest to the group's weights (mode
    /// [`Calibration::Search`]: 64 fractions of the min/max scale, the offset
    /// at the middle of the range, ties to the smaller scale) or LSQ's rule
    /// ([`Calibration::Lsq`]). [`Status::NonFinite`](crate::Status::NonFinite),
    /// with nothing written, for a NaN or infinite weight.
    pub fn asymmetric_per_group_calibrate<T: Float>(
        self,
        weight: &[T],
        scale: &mut [bf16],
        offset: &mut [bf16],
        params: &AsymmetricPerGroup,
        mode: Calibration,
    ) -> Result<(), Error> {
        slices!(self.per_group(weight.len(), params).calibrate(
            <T>::input(weight),
            (scale, offset),
            Some(mode)
        ))
    }
}

/// The scale and offset gradients that one
/// [`Backend::asymmetric_per_group_backward`] call gives, from the groups'
/// block values (those of [`Backend::asymmetric_per_group_backward_blocks`],
/// combined across shards).
pub fn asymmetric_per_group_finish<G: Float>(
    block_sums: &[f64],
    scale: &[bf16],
    grad_scale: &mut [G],
    grad_offset: &mut [G],
    params: &AsymmetricPerGroup,
) -> Result<(), Error> {
    slices!(Backend::active()
        .per_group_of_units(scale.len(), params)
        .finish(
            block_sums,
            scale,
            (<G>::output(grad_scale), <G>::output(grad_offset))
        ))
}
