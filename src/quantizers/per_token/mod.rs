//! Dynamic per-token fake quantization of activations: its parameters,
//! its operations on slices and, in `ffi`, its C entry points.

use crate::call::Shape;
use crate::kernels::per_token::TokenConstants;
use crate::params::check_eps;
use crate::{Argument, Error, Float, Rule};

mod call;
pub(crate) mod ffi;

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
    pub(crate) fn grid(&self) -> Result<TokenConstants, Error> {
        if !(2..=8).contains(&self.bit) {
            return Err(Error::new(Argument::Bit, Rule::TokenBits));
        }
        let half = (1u32 << (self.bit - 1)) as f32;
        Ok(TokenConstants {
            qmin: -half,
            qmax: half - 1.0,
            eps: self.eps,
            #[cfg(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64"))]
            reciprocal: crate::division::by_reciprocal(),
        })
    }

    /// The grid, then `eps`.
    pub(crate) fn validate(&self) -> Result<TokenConstants, Error> {
        let grid = self.grid()?;
        check_eps(self.eps)?;
        Ok(grid)
    }
}

api! {
    /// Dynamic per-token fake quantization of activations, asymmetric: one
    /// row per token (`input.len() / scale.len()` columns), each with the
    /// scale and zero point of its own values, written to `scale` and
    /// `zero_point` (see `docs/kernels.md`, "Per-token activations").
    ///
    /// ```
    /// use half::bf16;
    /// use qat_kernels::{per_token_asymmetric, PerToken};
    ///
    /// let x = [-1.0, 0.0, 0.5, 3.0].map(bf16::from_f32);
    /// let (mut out, mut scale, mut zero_point) = ([bf16::ZERO; 4], [0.0], [0]);
    /// per_token_asymmetric(&x, &mut out, &mut scale, &mut zero_point, &PerToken::default()).unwrap();
    /// assert_eq!(scale[0], 4.0 / 255.0); // (3 - (-1)) / (127 - (-128))
    /// assert_eq!(zero_point[0], -64); // -128 - round(-1 / scale)
    /// ```
    pub fn per_token_asymmetric<T: Float>(
        self,
        input: &[T],
        out: &mut [T],
        scale: &mut [f32],
        zero_point: &mut [i32],
        params: &PerToken,
    ) -> Result<(), Error> {
        let call = self.call(Shape::channels(input.len(), scale.len()), *params);
        slices!(call.forward(false, T::input(input), T::output(out), scale, zero_point))
    }

    /// [`Self::per_token_asymmetric`], symmetric: zero points 0.
    pub fn per_token_symmetric<T: Float>(
        self,
        input: &[T],
        out: &mut [T],
        scale: &mut [f32],
        zero_point: &mut [i32],
        params: &PerToken,
    ) -> Result<(), Error> {
        let call = self.call(Shape::channels(input.len(), scale.len()), *params);
        slices!(call.forward(true, T::input(input), T::output(out), scale, zero_point))
    }

    /// The gradient of either per-token forward pass, from the scales and
    /// zero points it wrote: `grad_output` where the value was not clipped,
    /// else 0 (the straight-through estimator). Only `params.bit` is used.
    pub fn per_token_backward<T: Float>(
        self,
        grad_output: &[T],
        input: &[T],
        scale: &[f32],
        zero_point: &[i32],
        grad_input: &mut [T],
        params: &PerToken,
    ) -> Result<(), Error> {
        let call = self.call(Shape::channels(input.len(), scale.len()), *params);
        slices!(call.backward(
            T::input(grad_output),
            T::input(input),
            scale,
            zero_point,
            T::output(grad_input)
        ))
    }
}
