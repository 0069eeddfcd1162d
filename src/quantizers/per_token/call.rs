//! Per token's call: the checks and kernel of each operation, on the
//! shared boundary (`crate::boundary`) and call (`crate::call`).

use super::PerToken;
use crate::boundary::{input, output, Boundary, In, Out};
use crate::call::Call;
use crate::kernels::{self, PerTokenArgs, PerTokenBackwardArgs};
use crate::vector::Data;
use crate::{fpenv, pool, Argument};

/// Dynamic per-token fake quantization: `units` rows (tokens) of `len`
/// activations.
impl<B: Boundary> Call<B, PerToken> {
    /// The forward pass, symmetric or asymmetric: each row's scale and
    /// zero point, and the fake-quantized row.
    ///
    /// # Safety
    /// As [`Call::forward`].
    pub unsafe fn forward<T: Data>(
        self,
        symmetric: bool,
        activation: impl Into<In<T, B::Len>>,
        out: impl Into<Out<T, B::Len>>,
        scale: impl Into<Out<f32, B::Len>>,
        zero_point: impl Into<Out<i32, B::Len>>,
    ) -> B::Status {
        let (input_, output_) = (activation.into(), out.into());
        let (scale, zero_point) = (scale.into(), zero_point.into());
        B::status(fpenv::with_default(move || {
            let shape = self.shape?;
            let quant = B::check(
                || {
                    [
                        input(Argument::Input, input_, shape.numel()),
                        output(Argument::Out, output_, shape.numel()),
                        output(Argument::Scale, scale, shape.units),
                        output(Argument::ZeroPoint, zero_point, shape.units),
                    ]
                },
                || self.params.validate(),
            )?;
            let args = PerTokenArgs {
                input: input_.ptr,
                output: output_.ptr,
                scale: scale.ptr,
                zero_point: zero_point.ptr,
                units: shape.units,
                len: shape.len,
                quant,
                symmetric,
            };
            // SAFETY: as in `map`.
            unsafe { pool::run::<kernels::PerTokenForward<T>>(self.backend, &args) };
            Ok(())
        }))
    }

    /// The backward pass, from the scales and zero points of the forward.
    ///
    /// # Safety
    /// As [`Call::forward`].
    pub unsafe fn backward<T: Data>(
        self,
        grad_output: impl Into<In<T, B::Len>>,
        activation: impl Into<In<T, B::Len>>,
        scale: impl Into<In<f32, B::Len>>,
        zero_point: impl Into<In<i32, B::Len>>,
        grad_input: impl Into<Out<T, B::Len>>,
    ) -> B::Status {
        let (g, x, gx) = (grad_output.into(), activation.into(), grad_input.into());
        let (scale, zero_point) = (scale.into(), zero_point.into());
        B::status(fpenv::with_default(move || {
            let shape = self.shape?;
            let quant = B::check(
                || {
                    [
                        input(Argument::GradOutput, g, shape.numel()),
                        input(Argument::Input, x, shape.numel()),
                        input(Argument::Scale, scale, shape.units),
                        input(Argument::ZeroPoint, zero_point, shape.units),
                        output(Argument::GradInput, gx, shape.numel()),
                    ]
                },
                || self.params.grid(),
            )?;
            let args = PerTokenBackwardArgs {
                grad_output: g.ptr,
                input: x.ptr,
                scale: scale.ptr,
                zero_point: zero_point.ptr,
                grad_input: gx.ptr,
                units: shape.units,
                len: shape.len,
                quant,
            };
            // SAFETY: as in `map`.
            unsafe { pool::run::<kernels::PerTokenBackward<T>>(self.backend, &args) };
            Ok(())
        }))
    }
}
