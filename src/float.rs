//! The data types of the Rust API: [`Float`], the one axis every operation
//! on data takes, implemented once per type.

use half::{bf16, f16};

use crate::boundary::{In, Out};
use crate::vector::Data;

/// A floating-point type that data buffers (weights, activations, their
/// gradients, fake-quantized values) hold: [`bf16`], `f32` or
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

    /// One line per type: its gradient type and its kernels' element.
    macro_rules! float {
        ($($t:ty: $grad:ty, $data:ty;)*) => {$(
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
        )*};
    }

    float! {
        bf16: bf16, u16;
        f32: f32, f32;
        f16: f32, f16;
    }
}
