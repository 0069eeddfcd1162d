//! The quantizers' parameters as callers give them, and their validation
//! into the constants the kernels use.

use crate::arch::scalar::round_half_even;
use crate::kernels::asymmetric_per_group::AsymmetricConstants;
use crate::kernels::per_token::TokenGrid;
use crate::kernels::symmetric::SymmetricConstants;
use crate::kernels::Quantizer;
use crate::Error;

/// A quantizer's parameters as callers give them: their validation into
/// its constants, for the kernels ([`Params::validate`]) and for codes
/// ([`Params::validate_for_codes`]).
pub(crate) trait Params: Copy {
    /// The validated constants, which name the quantizer's kernels.
    type Quant: Quantizer;
    /// The validation every kernel makes.
    fn validate(&self) -> Result<Self::Quant, Error>;
    /// [`Params::validate`], and codes that fit in a byte.
    fn validate_for_codes(&self) -> Result<Self::Quant, Error>;
}

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

fn check_eps(eps: f32) -> Result<(), Error> {
    if eps.is_finite() && eps > 0.0 {
        Ok(())
    } else {
        Err(Error::Eps)
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

/// Parameters of dynamic per-token fake quantization of activations: each
/// row's scale and zero point come from the row itself.
///
/// `Default` is the common int8 activation setting: 8 bits, `eps` = f32's
/// machine epsilon (`2^-23`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PerToken {
    /// Bit width, 2..=8: the grid is `-2^(bit-1)..=2^(bit-1) - 1`.
    pub bit: u32,
    /// Lower bound of each row's scale; finite and positive.
    pub eps: f32,
}

impl Default for PerToken {
    fn default() -> Self {
        PerToken {
            bit: 8,
            eps: f32::EPSILON,
        }
    }
}

impl PerToken {
    /// The grid of `bit`: `BitWidth` outside 2..=8. The backward pass
    /// checks only this (it reads the scales the forward pass wrote).
    pub(crate) fn grid(&self) -> Result<TokenGrid, Error> {
        if !(2..=8).contains(&self.bit) {
            return Err(Error::BitWidth);
        }
        let half = (1u32 << (self.bit - 1)) as f32;
        Ok(TokenGrid {
            qmin: -half,
            qmax: half - 1.0,
            eps: self.eps,
        })
    }

    /// The grid, then `eps`.
    pub(crate) fn validate(&self) -> Result<TokenGrid, Error> {
        let grid = self.grid()?;
        check_eps(self.eps)?;
        Ok(grid)
    }
}
