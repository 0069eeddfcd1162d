//! Asymmetric per-group fake quantization (LSQ+): its parameters, its
//! operations on slices ([`Backend`] methods and free functions) and, in
//! `ffi`, its C entry points.

use half::bf16;

use super::Backend;
use crate::arch::scalar::round_half_even;
use crate::boundary::Slices;
use crate::call::{Call, Out, Shape};
use crate::kernels::asymmetric_per_group::AsymmetricConstants;
use crate::params::{check_eps, Params};
use crate::{Calibration, Error};

pub(crate) mod ffi;
/// cbindgen:ignore
#[cfg(feature = "test-hooks")]
pub(crate) mod registry;

/// Parameters of asymmetric per-group fake quantization (LSQ+).
///
/// `Default` is the reference implementation's: 4 bits, groups of 128,
/// `eps = 1e-4`, `clip_val = 0.99`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AsymmetricPerGroup {
    /// Consecutive weights sharing one scale and offset; must divide the
    /// number of weights.
    pub group_size: usize,
    /// Bit width, 1..=16: the grid has `2^bit` levels.
    pub bit: u32,
    /// Lower bound of the scale (`max(s, eps)`); finite and positive.
    pub eps: f32,
    /// Clip bound of the normalized weight, `0 < clip_val < 1`.
    pub clip_val: f32,
}

impl Default for AsymmetricPerGroup {
    fn default() -> Self {
        AsymmetricPerGroup {
            group_size: 128,
            bit: 4,
            eps: 1e-4,
            clip_val: 0.99,
        }
    }
}

impl Params for AsymmetricPerGroup {
    type Quant = AsymmetricConstants;

    fn validate(&self) -> Result<AsymmetricConstants, Error> {
        if !(1..=16).contains(&self.bit) {
            return Err(Error::BitWidth);
        }
        check_eps(self.eps)?;
        if !(self.clip_val.is_finite() && self.clip_val > 0.0 && self.clip_val < 1.0) {
            return Err(Error::Clip);
        }
        let levels = (1u32 << (self.bit - 1)) as f32;
        // The extreme levels as the kernels compute them (`clip_val * n` is
        // exact, then one rounded subtraction): in f32 they can leave the
        // `2n` levels `-n..n` even though `clip_val < 1` (bit 1 with
        // `clip_val = 1 - 2^-24`, where `-1.5 + 2^-24` rounds to `-1.5`,
        // then to the level -2). The rounding is monotone, so these two
        // bound every weight's level.
        let bound = self.clip_val * levels;
        if round_half_even(-bound - 0.5) < -levels || round_half_even(bound - 0.5) >= levels {
            return Err(Error::Clip);
        }
        Ok(AsymmetricConstants {
            levels,
            eps: self.eps,
            clip_val: self.clip_val,
        })
    }

    /// `bit <= 8`, checked first.
    fn validate_for_codes(&self) -> Result<AsymmetricConstants, Error> {
        // The width first, as for every kernel: codes hold at most 8 bits.
        if self.bit > 8 {
            return Err(Error::BitWidth);
        }
        self.validate()
    }
}

impl Backend {
    /// A per-group call on `numel` weights.
    fn per_group(
        self,
        numel: usize,
        params: &AsymmetricPerGroup,
    ) -> Call<Slices, AsymmetricPerGroup> {
        self.call(Shape::groups(numel, params.group_size), *params)
    }
}

api! {
    /// Asymmetric per-group fake quantization: `out[i]` is `weight[i]` snapped
    /// to its group's grid of `2^bit` levels. `scale` and `offset` hold one
    /// value per group (`weight.len() / group_size`).
    pub fn asymmetric_per_group(
        self,
        weight: &[bf16],
        scale: &[bf16],
        offset: &[bf16],
        out: &mut [bf16],
        params: &AsymmetricPerGroup,
    ) -> Result<(), Error> {
        slices!(
            self.per_group(weight.len(), params)
                .forward(weight, (scale, offset), out)
        )
    }

    /// [`Self::asymmetric_per_group`] writing over `weight`.
    pub fn asymmetric_per_group_in_place(
        self,
        weight: &mut [bf16],
        scale: &[bf16],
        offset: &[bf16],
        params: &AsymmetricPerGroup,
    ) -> Result<(), Error> {
        let (n, w) = (weight.len(), Out::from(weight));
        slices!(
            self.per_group(n, params)
                .forward(w.reading(), (scale, offset), w)
        )
    }

    /// Gradients of [`Self::asymmetric_per_group`] given the gradient of its
    /// output: `grad_weight` (length of `weight`), `grad_scale` and
    /// `grad_offset` (one per group).
    #[allow(clippy::too_many_arguments)]
    pub fn asymmetric_per_group_backward(
        self,
        grad_output: &[bf16],
        weight: &[bf16],
        scale: &[bf16],
        offset: &[bf16],
        grad_weight: &mut [bf16],
        grad_scale: &mut [bf16],
        grad_offset: &mut [bf16],
        params: &AsymmetricPerGroup,
    ) -> Result<(), Error> {
        slices!(
            self.per_group(weight.len(), params).backward(
                grad_output,
                weight,
                (scale, offset),
                grad_weight,
                (grad_scale, grad_offset),
            )
        )
    }

    /// [`Self::asymmetric_per_group_backward`] with `grad` holding the output
    /// gradient on entry and the weight gradient on return.
    #[allow(clippy::too_many_arguments)]
    pub fn asymmetric_per_group_backward_in_place(
        self,
        grad: &mut [bf16],
        weight: &[bf16],
        scale: &[bf16],
        offset: &[bf16],
        grad_scale: &mut [bf16],
        grad_offset: &mut [bf16],
        params: &AsymmetricPerGroup,
    ) -> Result<(), Error> {
        let g = Out::from(grad);
        slices!(
            self.per_group(weight.len(), params).backward(
                g.reading(),
                weight,
                (scale, offset),
                g,
                (grad_scale, grad_offset),
            )
        )
    }

    /// Export: the integer code of each weight, `q = r + n` in `0..2^bit`
    /// (`bit <= 8`), where `r` is the level
    /// [`Self::asymmetric_per_group`] snaps the weight to. So
    /// [`Self::asymmetric_per_group_dequantize`] gives back exactly the
    /// forward pass's bits. [`Error::NonFinite`] (nothing written) where a
    /// weight has no code: a NaN weight, scale or offset.
    pub fn asymmetric_per_group_quantize(
        self,
        weight: &[bf16],
        scale: &[bf16],
        offset: &[bf16],
        codes: &mut [u8],
        params: &AsymmetricPerGroup,
    ) -> Result<(), Error> {
        slices!(
            self.per_group(weight.len(), params)
                .quantize(weight, (scale, offset), codes)
        )
    }

    /// The values of codes from [`Self::asymmetric_per_group_quantize`]:
    /// bit for bit the forward pass of the weights they came from.
    /// [`Error::Code`] (nothing written) for a code of `2^bit` or more.
    pub fn asymmetric_per_group_dequantize(
        self,
        codes: &[u8],
        scale: &[bf16],
        offset: &[bf16],
        out: &mut [bf16],
        params: &AsymmetricPerGroup,
    ) -> Result<(), Error> {
        slices!(
            self.per_group(codes.len(), params)
                .dequantize(codes, (scale, offset), out)
        )
    }

    /// [`Self::asymmetric_per_group_backward`] for a shard: writes the
    /// weight gradient, and instead of the scale and offset gradients, each
    /// group's two sums as f64 block values (the offset sum's
    /// [`block_count`](crate::block_count)`(group_size)` values, then the scale sum's), for
    /// [`asymmetric_per_group_finish`] after the shards' values are combined
    /// (see `docs/kernels.md`, "Gradients across shards").
    #[allow(clippy::too_many_arguments)]
    pub fn asymmetric_per_group_backward_blocks(
        self,
        grad_output: &[bf16],
        weight: &[bf16],
        scale: &[bf16],
        offset: &[bf16],
        grad_weight: &mut [bf16],
        block_sums: &mut [f64],
        params: &AsymmetricPerGroup,
    ) -> Result<(), Error> {
        slices!(
            self.per_group(weight.len(), params).backward_blocks(
                grad_output,
                weight,
                (scale, offset),
                grad_weight,
                block_sums,
            )
        )
    }

    /// Calibration per group: for each group the scale and offset whose
    /// forward pass is closest to its weights (`Calibration::Search`, among
    /// 64 fractions of the group's min/max scale, offset at the middle of its
    /// range), or LSQ's rule (`Calibration::Lsq`); see `docs/kernels.md`,
    /// "Calibration". Weights must be finite ([`Error::NonFinite`]).
    pub fn asymmetric_per_group_calibrate(
        self,
        weight: &[bf16],
        scale: &mut [bf16],
        offset: &mut [bf16],
        params: &AsymmetricPerGroup,
        mode: Calibration,
    ) -> Result<(), Error> {
        slices!(
            self.per_group(weight.len(), params)
                .calibrate(weight, (scale, offset), Some(mode))
        )
    }
}

/// The scale and offset gradients, as one call gives them, from every
/// group's block values: those of
/// [`Backend::asymmetric_per_group_backward_blocks`], or their combination
/// across shards. `grad_scale` may be `scale`'s buffer only through the C
/// ABI; here the three are separate slices.
pub fn asymmetric_per_group_finish(
    block_sums: &[f64],
    scale: &[bf16],
    grad_scale: &mut [bf16],
    grad_offset: &mut [bf16],
    params: &AsymmetricPerGroup,
) -> Result<(), Error> {
    let numel = scale
        .len()
        .checked_mul(params.group_size)
        .ok_or(Error::Shape)?;
    slices!(Backend::active().per_group(numel, params).finish(
        block_sums,
        scale,
        (grad_scale, grad_offset),
    ))
}
