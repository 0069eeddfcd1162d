//! Asymmetric per-group fake quantization (LSQ+): its parameters, its
//! operations on slices ([`Backend`] methods and free functions) and, in
//! `ffi`, its C entry points.

use super::Backend;
use crate::arch::scalar::round_half_even;
use crate::boundary::{Raw, Slices};
use crate::call::{Call, Shape};
use crate::dispatch;
use crate::kernels::asymmetric_per_group::AsymmetricConstants;
use crate::params::{check_eps, Params};
use crate::{Argument, Error, Rule};

mod api;
pub(crate) mod ffi;

pub use api::*;

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
            return Err(Error::new(Argument::Bit, Rule::WeightBits));
        }
        check_eps(self.eps)?;
        if !(self.clip_val.is_finite() && self.clip_val > 0.0 && self.clip_val < 1.0) {
            return Err(Error::new(Argument::ClipVal, Rule::ClipRange));
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
            return Err(Error::new(Argument::ClipVal, Rule::ClipGrid));
        }
        Ok(AsymmetricConstants {
            levels,
            eps: self.eps,
            clip_val: self.clip_val,
            #[cfg(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64"))]
            reciprocal: crate::division::by_reciprocal(),
        })
    }

    /// `bit` in 1..=8, checked first.
    // Out of line: export and dequantization, per group and per channel,
    // share one copy (inlined, it was copied into each, +220 bytes on a
    // Cortex-M4F), and validation costs nothing beside a call.
    #[inline(never)]
    fn validate_for_codes(&self) -> Result<AsymmetricConstants, Error> {
        // The width first, as for every kernel: codes hold at most 8 bits.
        if !(1..=8).contains(&self.bit) {
            return Err(Error::new(Argument::Bit, Rule::CodeBits));
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

    /// A per-group call on `units` groups (`finish`: no weights to count).
    fn per_group_of_units(
        self,
        units: usize,
        params: &AsymmetricPerGroup,
    ) -> Call<Slices, AsymmetricPerGroup> {
        let numel = (units.checked_mul(params.group_size))
            .ok_or(Error::new(Argument::GroupSize, Rule::TooLarge));
        self.call(
            numel.and_then(|n| Shape::groups(n, params.group_size)),
            *params,
        )
    }
}

/// A per-group call from C, on the active backend.
fn from_c(
    numel: usize,
    group_size: usize,
    bit: u32,
    eps: f32,
    clip_val: f32,
) -> Call<Raw, AsymmetricPerGroup> {
    let params = AsymmetricPerGroup {
        group_size,
        bit,
        eps,
        clip_val,
    };
    Call::new(dispatch::active(), Shape::groups(numel, group_size), params)
}
