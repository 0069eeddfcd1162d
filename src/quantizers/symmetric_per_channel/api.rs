//! Symmetric per channel's operations on slices: [`Backend`] methods and the free
//! functions derived from them.
//! Generated from interface.txt by `QAT_BLESS=1 cargo test --test
//! interface`, which fails while this file is stale: do not edit.

use half::bf16;

use super::*;
use crate::boundary::Out;
use crate::{Backend, Calibration, Error};

api! {
    /// Symmetric per-channel fake quantization (LSQ forward) of a row-major
    /// matrix, one scale per row.
    pub fn symmetric_per_channel(
        self,
        weight: &[bf16],
        scale: &[bf16],
        out: &mut [bf16],
        params: &Symmetric,
    ) -> Result<(), Error> {
        slices!(self
            .per_channel(weight.len(), scale.len(), params)
            .forward(weight, scale, out))
    }

    /// [`Self::symmetric_per_channel`] writing over `weight`.
    pub fn symmetric_per_channel_in_place(
        self,
        weight: &mut [bf16],
        scale: &[bf16],
        params: &Symmetric,
    ) -> Result<(), Error> {
        let (n, w) = (weight.len(), Out::from(weight));
        slices!(self
            .per_channel(n, scale.len(), params)
            .forward(w.reading(), scale, w))
    }

    /// Gradients of [`Self::symmetric_per_channel`]: `grad_weight` (one per
    /// weight) and `grad_scale` (one per row).
    pub fn symmetric_per_channel_backward(
        self,
        grad_output: &[bf16],
        weight: &[bf16],
        scale: &[bf16],
        grad_weight: &mut [bf16],
        grad_scale: &mut [bf16],
        params: &Symmetric,
    ) -> Result<(), Error> {
        slices!(self
            .per_channel(weight.len(), scale.len(), params)
            .backward(grad_output, weight, scale, grad_weight, grad_scale))
    }

    /// [`Self::symmetric_per_channel_backward`] with `grad` holding the output
    /// gradient on entry and the weight gradient on return.
    pub fn symmetric_per_channel_backward_in_place(
        self,
        grad: &mut [bf16],
        weight: &[bf16],
        scale: &[bf16],
        grad_scale: &mut [bf16],
        params: &Symmetric,
    ) -> Result<(), Error> {
        let w = Out::from(grad);
        slices!(self
            .per_channel(weight.len(), scale.len(), params)
            .backward(w.reading(), weight, scale, w, grad_scale))
    }

    /// Export: the integer code `c = clip(round(x / ps), min_v, max_v)` of each
    /// weight, one scale per row; `min_v` and `max_v` must lie in `-128..=127`
    /// (else [`Status::Range`](crate::Status::Range)). Succeeds exactly when
    /// every value [`Self::symmetric_per_channel`] gives is finite; otherwise
    /// (a NaN weight or scale, an infinite scale, `c * ps` past bf16's range)
    /// [`Status::NonFinite`](crate::Status::NonFinite), with nothing written.
    pub fn symmetric_per_channel_quantize(
        self,
        weight: &[bf16],
        scale: &[bf16],
        codes: &mut [i8],
        params: &Symmetric,
    ) -> Result<(), Error> {
        slices!(self
            .per_channel(weight.len(), scale.len(), params)
            .quantize(weight, scale, codes))
    }

    /// The values of codes from [`Self::symmetric_per_channel_quantize`]:
    /// `out[i] = codes[i] * max(scale, eps)`, narrowed to bf16.
    /// [`Status::Code`](crate::Status::Code), with nothing written, for a code
    /// outside `[min_v, max_v]`.
    pub fn symmetric_per_channel_dequantize(
        self,
        codes: &[i8],
        scale: &[bf16],
        out: &mut [bf16],
        params: &Symmetric,
    ) -> Result<(), Error> {
        slices!(self
            .per_channel(codes.len(), scale.len(), params)
            .dequantize(codes, scale, out))
    }

    /// [`Self::symmetric_per_channel_backward`] for one shard: `grad_weight`,
    /// and each row's two sums as block values (2 *
    /// [`block_count`](crate::block_count)(cols) per row) instead of the scale
    /// gradients, for
    /// [`symmetric_per_channel_finish`](crate::symmetric_per_channel_finish)
    /// once the shards' values are combined.
    pub fn symmetric_per_channel_backward_blocks(
        self,
        grad_output: &[bf16],
        weight: &[bf16],
        scale: &[bf16],
        grad_weight: &mut [bf16],
        block_sums: &mut [f64],
        params: &Symmetric,
    ) -> Result<(), Error> {
        slices!(self
            .per_channel(weight.len(), scale.len(), params)
            .backward_blocks(grad_output, weight, scale, grad_weight, block_sums))
    }

    /// Calibration per channel: writes each row's scale, as
    /// [`Self::asymmetric_per_group_calibrate`] (candidates: 64 fractions of
    /// `max|w| / max_v`).
    pub fn symmetric_per_channel_calibrate(
        self,
        weight: &[bf16],
        scale: &mut [bf16],
        params: &Symmetric,
        mode: Calibration,
    ) -> Result<(), Error> {
        slices!(self
            .per_channel(weight.len(), scale.len(), params)
            .calibrate(weight, scale, Some(mode)))
    }
}

/// The scale gradients that one [`Backend::symmetric_per_channel_backward`]
/// call gives, from the rows' block values (rows of `cols` weights).
pub fn symmetric_per_channel_finish(
    block_sums: &[f64],
    scale: &[bf16],
    grad_scale: &mut [bf16],
    cols: usize,
    params: &Symmetric,
) -> Result<(), Error> {
    slices!(Backend::active()
        .per_channel_of(scale.len(), cols, params)
        .finish(block_sums, scale, grad_scale))
}
