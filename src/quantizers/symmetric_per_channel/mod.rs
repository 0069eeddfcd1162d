//! Symmetric per-channel fake quantization (LSQ), one scale per row: its
//! parameters (which per tensor shares), its operations on slices and, in
//! `ffi`, its C entry points.

use super::Backend;
use crate::boundary::{Raw, Slices};
use crate::call::{Call, Shape};
use crate::dispatch;
use crate::kernels::symmetric::SymmetricConstants;
use crate::params::{check_eps, Params};
use crate::{Argument, Error, Rule};

mod api;
pub(crate) mod ffi;

pub use api::*;

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
        let code = |v: f32| (-128.0..=127.0).contains(&v);
        if !code(self.min_v) {
            return Err(Error::new(Argument::MinV, Rule::NotCode));
        }
        if !code(self.max_v) {
            return Err(Error::new(Argument::MaxV, Rule::NotCode));
        }
        Ok(quant)
    }

    fn validate(&self) -> Result<SymmetricConstants, Error> {
        check_eps(self.eps)?;
        // Within +-2^24 (so finite), and integral: it survives a round trip
        // through i32 (`as` saturates, so this cannot panic).
        const BOUND: f32 = 16_777_216.0;
        let level = |v: f32| (-BOUND..=BOUND).contains(&v) && (v as i32) as f32 == v;
        if !level(self.min_v) {
            Err(Error::new(Argument::MinV, Rule::NotLevel))
        } else if !level(self.max_v) {
            Err(Error::new(Argument::MaxV, Rule::NotLevel))
        } else if self.max_v < self.min_v {
            Err(Error::new(Argument::MaxV, Rule::BelowMin))
        } else {
            Ok(SymmetricConstants {
                eps: self.eps,
                min_v: self.min_v,
                max_v: self.max_v,
                #[cfg(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64"))]
                reciprocal: crate::division::by_reciprocal(),
            })
        }
    }
}

impl Backend {
    /// A per-channel call on `numel` weights, one row per scale.
    fn per_channel(self, numel: usize, rows: usize, params: &Symmetric) -> Call<Slices, Symmetric> {
        self.call(Shape::channels(numel, rows), *params)
    }

    /// A per-channel call on `rows` rows of `cols`.
    fn per_channel_of(
        self,
        rows: usize,
        cols: usize,
        params: &Symmetric,
    ) -> Call<Slices, Symmetric> {
        self.call(Shape::rows(rows, cols), *params)
    }
}

/// A per-channel call from C on `rows` rows of `cols`, on the active
/// backend.
fn from_c(rows: usize, cols: usize, eps: f32, min_v: f32, max_v: f32) -> Call<Raw, Symmetric> {
    let params = Symmetric { eps, min_v, max_v };
    Call::new(dispatch::active(), Shape::rows(rows, cols), params)
}
