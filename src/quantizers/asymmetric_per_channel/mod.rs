//! Asymmetric per-channel fake quantization (LSQ+ with a learnable scale
//! and offset per row): per group with one group per row. Its parameters
//! map to [`AsymmetricPerGroup`]'s at the boundary, so it runs the per-group
//! call and kernels, with nothing instantiated for it.

use half::bf16;

use super::Backend;
use crate::boundary::Slices;
use crate::call::{Call, Shape};
use crate::{AsymmetricPerGroup, Calibration, Error};

pub(crate) mod ffi;
/// cbindgen:ignore
#[cfg(feature = "test-hooks")]
pub(crate) mod registry;

/// Parameters of asymmetric per-channel fake quantization (LSQ+): one
/// scale and offset per row of a row-major matrix, on the grid of
/// [`AsymmetricPerGroup`] with the row as the group.
///
/// `Default`: 8 bits, `eps = 1e-4`, `clip_val = 0.99`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AsymmetricPerChannel {
    /// Bit width, 1..=16: the grid has `2^bit` levels.
    pub bit: u32,
    /// Lower bound of the scale (`max(s, eps)`); finite and positive.
    pub eps: f32,
    /// Clip bound of the normalized weight, `0 < clip_val < 1`.
    pub clip_val: f32,
}

impl Default for AsymmetricPerChannel {
    fn default() -> Self {
        AsymmetricPerChannel {
            bit: 8,
            eps: 1e-4,
            clip_val: 0.99,
        }
    }
}

impl AsymmetricPerChannel {
    /// The per-group parameters of rows of `cols`.
    pub(crate) fn per_group(&self, cols: usize) -> AsymmetricPerGroup {
        AsymmetricPerGroup {
            group_size: cols,
            bit: self.bit,
            eps: self.eps,
            clip_val: self.clip_val,
        }
    }
}

/// The per-group call of a shape of rows: each row a group.
pub(crate) fn rows_as_groups<B>(
    call: impl FnOnce(Result<Shape, Error>, AsymmetricPerGroup) -> Call<B, AsymmetricPerGroup>,
    shape: Result<Shape, Error>,
    params: &AsymmetricPerChannel,
) -> Call<B, AsymmetricPerGroup> {
    let cols = shape.map_or(0, |s| s.len);
    call(shape, params.per_group(cols))
}

impl Backend {
    /// A per-channel call on `numel` weights, one row per scale.
    fn per_row(
        self,
        numel: usize,
        rows: usize,
        params: &AsymmetricPerChannel,
    ) -> Call<Slices, AsymmetricPerGroup> {
        rows_as_groups(|s, p| self.call(s, p), Shape::channels(numel, rows), params)
    }
}

api! {
    /// Asymmetric per-channel fake quantization of a row-major matrix with
    /// one row per scale and offset (`weight.len() / scale.len()` columns):
    /// [`Self::asymmetric_per_group`] with each row a group.
    pub fn asymmetric_per_channel(
        self,
        weight: &[bf16],
        scale: &[bf16],
        offset: &[bf16],
        out: &mut [bf16],
        params: &AsymmetricPerChannel,
    ) -> Result<(), Error> {
        slices!(self.per_row(weight.len(), scale.len(), params).forward(weight, (scale, offset), out))
    }

    /// [`Self::asymmetric_per_channel`] writing over `weight`.
    pub fn asymmetric_per_channel_in_place(
        self,
        weight: &mut [bf16],
        scale: &[bf16],
        offset: &[bf16],
        params: &AsymmetricPerChannel,
    ) -> Result<(), Error> {
        let (n, w) = (weight.len(), crate::call::Out::from(weight));
        slices!(self.per_row(n, scale.len(), params).forward(w.reading(), (scale, offset), w))
    }

    /// Gradients of [`Self::asymmetric_per_channel`]: `grad_weight` (length
    /// of `weight`), `grad_scale` and `grad_offset` (one per row).
    pub fn asymmetric_per_channel_backward(
        self,
        grad_output: &[bf16],
        weight: &[bf16],
        scale: &[bf16],
        offset: &[bf16],
        grad_weight: &mut [bf16],
        grad_scale: &mut [bf16],
        grad_offset: &mut [bf16],
        params: &AsymmetricPerChannel,
    ) -> Result<(), Error> {
        slices!(self.per_row(weight.len(), scale.len(), params).backward(
            grad_output,
            weight,
            (scale, offset),
            grad_weight,
            (grad_scale, grad_offset),
        ))
    }

    /// [`Self::asymmetric_per_channel_backward`] with `grad` holding the
    /// output gradient on entry and the weight gradient on return.
    pub fn asymmetric_per_channel_backward_in_place(
        self,
        grad: &mut [bf16],
        weight: &[bf16],
        scale: &[bf16],
        offset: &[bf16],
        grad_scale: &mut [bf16],
        grad_offset: &mut [bf16],
        params: &AsymmetricPerChannel,
    ) -> Result<(), Error> {
        let g = crate::call::Out::from(grad);
        slices!(self.per_row(weight.len(), scale.len(), params).backward(
            g.reading(),
            weight,
            (scale, offset),
            g,
            (grad_scale, grad_offset),
        ))
    }

    /// Export, as [`Self::asymmetric_per_group_quantize`] with each row a
    /// group.
    pub fn asymmetric_per_channel_quantize(
        self,
        weight: &[bf16],
        scale: &[bf16],
        offset: &[bf16],
        codes: &mut [u8],
        params: &AsymmetricPerChannel,
    ) -> Result<(), Error> {
        slices!(self.per_row(weight.len(), scale.len(), params).quantize(weight, (scale, offset), codes))
    }

    /// The values of codes from [`Self::asymmetric_per_channel_quantize`].
    pub fn asymmetric_per_channel_dequantize(
        self,
        codes: &[u8],
        scale: &[bf16],
        offset: &[bf16],
        out: &mut [bf16],
        params: &AsymmetricPerChannel,
    ) -> Result<(), Error> {
        slices!(self.per_row(codes.len(), scale.len(), params).dequantize(codes, (scale, offset), out))
    }

    /// [`Self::asymmetric_per_channel_backward`] for a shard: each row's two
    /// sums as block values (`2 * block_count(cols)` per row) instead of the
    /// scale and offset gradients, for [`asymmetric_per_channel_finish`].
    pub fn asymmetric_per_channel_backward_blocks(
        self,
        grad_output: &[bf16],
        weight: &[bf16],
        scale: &[bf16],
        offset: &[bf16],
        grad_weight: &mut [bf16],
        block_sums: &mut [f64],
        params: &AsymmetricPerChannel,
    ) -> Result<(), Error> {
        slices!(self.per_row(weight.len(), scale.len(), params).backward_blocks(
            grad_output,
            weight,
            (scale, offset),
            grad_weight,
            block_sums,
        ))
    }

    /// Calibration per row, as [`Self::asymmetric_per_group_calibrate`] with
    /// each row a group.
    pub fn asymmetric_per_channel_calibrate(
        self,
        weight: &[bf16],
        scale: &mut [bf16],
        offset: &mut [bf16],
        params: &AsymmetricPerChannel,
        mode: Calibration,
    ) -> Result<(), Error> {
        slices!(self.per_row(weight.len(), scale.len(), params).calibrate(weight, (scale, offset), Some(mode)))
    }
}

/// The scale and offset gradients, as one call gives them, from every row's
/// block values (rows of `cols` elements).
pub fn asymmetric_per_channel_finish(
    block_sums: &[f64],
    scale: &[bf16],
    grad_scale: &mut [bf16],
    grad_offset: &mut [bf16],
    cols: usize,
    params: &AsymmetricPerChannel,
) -> Result<(), Error> {
    let call = rows_as_groups(
        |s, p| Backend::active().call(s, p),
        Shape::rows(scale.len(), cols),
        params,
    );
    slices!(call.finish(block_sums, scale, (grad_scale, grad_offset)))
}
