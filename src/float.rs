//! The data types of the Rust API: [`Float`], the one axis every operation
//! on data takes, implemented once per type.

use crate::boundary::{In, Out};
use crate::vector::Data;

/// A floating-point type that data buffers (weights, activations, their
/// gradients, fake-quantized values) hold: [`bf16`](half::bf16), `f32` or
/// [`f16`](half::f16) (IEEE binary16). Sealed.
///
/// The kernels compute in f32 either way, one IEEE operation per step, so a
/// bf16 buffer is one case of an f32 buffer: for values that bf16 holds,
/// the f32 result narrowed to bf16 is the bf16 call's, bit for bit. An f32
/// output is the value before that narrowing (every NaN as `0x7FC0_0000`).
/// An f16 output is that value narrowed to binary16 (round to nearest even,
/// overflow to infinity, every NaN as `0x7E00`). Scales and offsets stay
/// bf16; their gradients are `Float::Grad`: bf16 for bf16 data, else f32.
pub trait Float: sealed::Float {}

impl<T: sealed::Float> Float for T {}

pub(crate) mod sealed {
    use super::*;

    /// [`Float`](super::Float)'s items, which only this crate names: the
    /// kernels' element type and the conversions of slices to buffers.
    // Reachable (as `Float`'s supertrait) but not nameable outside the
    // crate, so the crate's own types may appear in it.
    #[allow(private_bounds, private_interfaces)]
    pub trait Float: Copy + 'static {
        /// The type of the scale and offset gradients that a backward pass
        /// on this type gives: bf16 for bf16 data, else f32.
        type Grad: super::Float;
        /// The kernels' element.
        type Data: Data;
        /// The slice as a buffer the call reads.
        fn input(s: &[Self]) -> In<Self::Data, usize>;
        /// The slice as a buffer the call writes.
        fn output(s: &mut [Self]) -> Out<Self::Data, usize>;
    }

    /// One line per type: its gradient type, its kernels' element, and its
    /// C dtype. From this list also `with_dtype!`, the C forms' dispatch on
    /// a dtype (`$d` is `$`, for the inner macro's own variables).
    macro_rules! float {
        ($d:tt $($t:ty: $grad:ty, $data:ty, $dtype:ident, $feature:literal;)*) => {
            $(
                #[allow(private_bounds, private_interfaces)]
                impl Float for $t {
                    type Grad = $grad;
                    type Data = $data;
                    #[inline(always)]
                    fn input(s: &[Self]) -> In<$data, usize> {
                        In {
                            ptr: s.as_ptr().cast(),
                            len: s.len(),
                        }
                    }
                    #[inline(always)]
                    fn output(s: &mut [Self]) -> Out<$data, usize> {
                        Out {
                            ptr: s.as_mut_ptr().cast(),
                            len: s.len(),
                        }
                    }
                }
            )*

            // Every `Dtype` has a line above: else this match is not
            // exhaustive.
            const _: fn(Dtype) = |dtype| match dtype {
                $(Dtype::$dtype => {})*
            };

            /// `body` with `data` the kernels' element of the C dtype
            /// `code` and `grad` its gradients' element; `none` for a code
            /// that is no dtype.
            macro_rules! with_dtype {
                ($d code:expr, |$d data:ident, $d grad:ident| $d body:expr, else $d none:expr) => {
                    $(
                        // A type the build leaves out is refused, and
                        // its kernels are not linked.
                        if cfg!(feature = $feature) && $d code == $crate::float::Dtype::$dtype as i32 {
                            #[allow(dead_code)]
                            type $d data = $data;
                            #[allow(dead_code)]
                            type $d grad = <$grad as $crate::float::sealed::Float>::Data;
                            $d body
                        } else
                    )* {
                        $d none
                    }
                };
            }
            pub(crate) use with_dtype;
        };
    }

    float! { $
        ::half::bf16: ::half::bf16, u16, Bf16, "dtype-bf16";
        f32: f32, f32, F32, "dtype-f32";
        ::half::f16: f32, ::half::f16, F16, "dtype-f16";
    }
}

pub(crate) use sealed::with_dtype;

/// The element type of a C call's data buffers (weights, activations, their
/// gradients, the outputs computed from them): the first argument of each
/// entry point's `_dtype` form. With `QAT_DTYPE_BF16` (`qat_bf16` data) the
/// form is the entry point itself; with `QAT_DTYPE_F32` (`float`) and
/// `QAT_DTYPE_F16` (IEEE binary16 bits, `_Float16`) the scale and offset
/// gradients are `float`. Scales and offsets are `qat_bf16` throughout.
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Dtype {
    /// bfloat16, as `qat_bf16`.
    Bf16 = 0,
    /// IEEE binary32, `float`.
    F32 = 1,
    /// IEEE binary16, as its 16-bit pattern.
    F16 = 2,
}
