//! Symmetric per-channel fake quantization (LSQ), one scale per row: its
//! parameters (which per tensor shares), its operations on slices and, in
//! `ffi`, its C entry points.

use half::bf16;

use super::Backend;
use crate::boundary::Slices;
use crate::call::{Call, Out, Shape};
use crate::kernels::symmetric::SymmetricConstants;
use crate::params::{check_eps, Params};
use crate::{Calibration, Error};

pub(crate) mod ffi;
/// cbindgen:ignore
#[cfg(feature = "test-hooks")]
pub(crate) mod registry;

/// Parameters of symmetric fake quantization (LSQ), per channel or per tensor.
///
/// `Default` is the reference implementation's 8-bit grid: `eps = 1e-4`,
/// `min_v = -128`, `max_v = 127`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Symmetric {
    /// Lower bound of the scale (`max(s, eps)`); finite and positive.
    pub eps: f32,
    /// Lowest integer level, finite and integral, `|min_v| <= 2^24`.
    pub min_v: f32,
    /// Highest integer level, finite and integral, `min_v <= max_v <= 2^24`.
    pub max_v: f32,
}

impl Default for Symmetric {
    fn default() -> Self {
        Symmetric {
            eps: 1e-4,
            min_v: -128.0,
            max_v: 127.0,
        }
    }
}

impl Symmetric {
    /// The signed `bit`-bit grid `[-2^(bit-1), 2^(bit-1) - 1]` (bit in 1..=24).
    ///
    /// ```
    /// let four_bit = qat_kernels::Symmetric::signed(4);
    /// assert_eq!((four_bit.min_v, four_bit.max_v), (-8.0, 7.0));
    /// ```
    pub fn signed(bit: u32) -> Self {
        let half = (1u32 << (bit.clamp(1, 24) - 1)) as f32;
        Symmetric {
            min_v: -half,
            max_v: half - 1.0,
            ..Symmetric::default()
        }
    }
}

impl Params for Symmetric {
    type Quant = SymmetricConstants;

    /// `-128 <= min_v` and `max_v <= 127`, checked last.
    fn validate_for_codes(&self) -> Result<SymmetricConstants, Error> {
        let quant = self.validate()?;
        if self.min_v < -128.0 || self.max_v > 127.0 {
            return Err(Error::Range);
        }
        Ok(quant)
    }

    fn validate(&self) -> Result<SymmetricConstants, Error> {
        check_eps(self.eps)?;
        // Within +-2^24 (so finite), and integral: it survives a round trip
        // through i32 (`as` saturates, so this cannot panic).
        const BOUND: f32 = 16_777_216.0;
        let level = |v: f32| (-BOUND..=BOUND).contains(&v) && (v as i32) as f32 == v;
        if level(self.min_v) && level(self.max_v) && self.min_v <= self.max_v {
            Ok(SymmetricConstants {
                eps: self.eps,
                min_v: self.min_v,
                max_v: self.max_v,
            })
        } else {
            Err(Error::Range)
        }
    }
}

impl Backend {
    /// A per-channel call on `numel` weights, one row per scale.
    fn per_channel(self, numel: usize, rows: usize, params: &Symmetric) -> Call<Slices, Symmetric> {
        self.call(Shape::channels(numel, rows), *params)
    }
}

api! {
    /// Symmetric per-channel fake quantization of a row-major matrix with one
    /// row per scale (`weight.len() / scale.len()` columns).
    pub fn symmetric_per_channel(
        self,
        weight: &[bf16],
        scale: &[bf16],
        out: &mut [bf16],
        params: &Symmetric,
    ) -> Result<(), Error> {
        slices!(
            self.per_channel(weight.len(), scale.len(), params)
                .forward(weight, scale, out)
        )
    }

    /// [`Self::symmetric_per_channel`] writing over `weight`.
    pub fn symmetric_per_channel_in_place(
        self,
        weight: &mut [bf16],
        scale: &[bf16],
        params: &Symmetric,
    ) -> Result<(), Error> {
        let (n, w) = (weight.len(), Out::from(weight));
        slices!(
            self.per_channel(n, scale.len(), params)
                .forward(w.reading(), scale, w)
        )
    }

    /// Gradients of [`Self::symmetric_per_channel`]: `grad_weight` (length of
    /// `weight`) and `grad_scale` (one per row).
    pub fn symmetric_per_channel_backward(
        self,
        grad_output: &[bf16],
        weight: &[bf16],
        scale: &[bf16],
        grad_weight: &mut [bf16],
        grad_scale: &mut [bf16],
        params: &Symmetric,
    ) -> Result<(), Error> {
        slices!(
            self.per_channel(weight.len(), scale.len(), params)
                .backward(grad_output, weight, scale, grad_weight, grad_scale)
        )
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
        let g = Out::from(grad);
        slices!(
            self.per_channel(weight.len(), scale.len(), params)
                .backward(g.reading(), weight, scale, g, grad_scale)
        )
    }

    /// Export: the integer code of each weight, `c` in `[min_v, max_v]`
    /// (within `-128..=127`), one row per scale. See
    /// [`Self::asymmetric_per_group_quantize`].
    pub fn symmetric_per_channel_quantize(
        self,
        weight: &[bf16],
        scale: &[bf16],
        codes: &mut [i8],
        params: &Symmetric,
    ) -> Result<(), Error> {
        slices!(
            self.per_channel(weight.len(), scale.len(), params)
                .quantize(weight, scale, codes)
        )
    }

    /// The values of codes from [`Self::symmetric_per_channel_quantize`].
    pub fn symmetric_per_channel_dequantize(
        self,
        codes: &[i8],
        scale: &[bf16],
        out: &mut [bf16],
        params: &Symmetric,
    ) -> Result<(), Error> {
        slices!(
            self.per_channel(codes.len(), scale.len(), params)
                .dequantize(codes, scale, out)
        )
    }

    /// [`Self::symmetric_per_channel_backward`] for a shard: each row's two
    /// sums as block values (`2 * block_count(cols)` per row) instead of the
    /// scale gradients, for [`symmetric_per_channel_finish`].
    pub fn symmetric_per_channel_backward_blocks(
        self,
        grad_output: &[bf16],
        weight: &[bf16],
        scale: &[bf16],
        grad_weight: &mut [bf16],
        block_sums: &mut [f64],
        params: &Symmetric,
    ) -> Result<(), Error> {
        slices!(
            self.per_channel(weight.len(), scale.len(), params)
                .backward_blocks(grad_output, weight, scale, grad_weight, block_sums)
        )
    }

    /// Calibration per channel: a scale per row, as
    /// [`Self::asymmetric_per_group_calibrate`] (candidates: 64 fractions of
    /// `max|w| / max_v`).
    pub fn symmetric_per_channel_calibrate(
        self,
        weight: &[bf16],
        scale: &mut [bf16],
        params: &Symmetric,
        mode: Calibration,
    ) -> Result<(), Error> {
        slices!(
            self.per_channel(weight.len(), scale.len(), params)
                .calibrate(weight, scale, Some(mode))
        )
    }
}

/// The per-channel scale gradients, as one call gives them, from every
/// row's block values (rows of `cols` elements).
pub fn symmetric_per_channel_finish(
    block_sums: &[f64],
    scale: &[bf16],
    grad_scale: &mut [bf16],
    cols: usize,
    params: &Symmetric,
) -> Result<(), Error> {
    slices!(Backend::active()
        .call(Shape::rows(scale.len(), cols), *params)
        .finish(block_sums, scale, grad_scale))
}
