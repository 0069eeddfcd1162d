//! The quantizers' parameters as callers give them, and their validation
//! into the constants the kernels use.

use crate::kernels::Quantizer;
use crate::{Argument, Error, Rule};

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

/// [`Rule::NotPositive`] unless `eps` is finite and positive.
pub(crate) fn check_eps(eps: f32) -> Result<(), Error> {
    if eps.is_finite() && eps > 0.0 {
        Ok(())
    } else {
        Err(Error::new(Argument::Eps, Rule::NotPositive))
    }
}
