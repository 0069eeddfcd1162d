//! The interface, one quantizer to a module: each holds its parameters,
//! its operations on slices (methods of [`Backend`], and the same as free
//! functions on the active backend, both from one definition) and, in its
//! `ffi` module, its C entry points with their registry entries. A weight
//! quantizer's `api` and `ffi` modules are generated from its
//! `interface.txt` (`tests/interface.rs`). Slices bring their own lengths and
//! cannot be null, misaligned or overlapping (an in-place form passes one
//! slice twice), so the safe API checks only that the lengths agree with
//! the call's shape; the C entry points check their pointers too
//! (`boundary`). Every operation is one call of `call::Call`.

use core::fmt;

use half::bf16;

use crate::arch;
use crate::boundary::Slices;
use crate::boundary::{In, Out};
use crate::call::{Call, PerUnit, Shape};
use crate::{dispatch, Error, Isa};

pub use crate::kernels::calibrate::Calibration;

/// Operations on slices, each written once: a [`Backend`] method and the
/// free function of the same name and arguments on [`Backend::active`].
macro_rules! api {
    ($(
        $(#[$attr:meta])*
        pub fn $name:ident$(<$g:ident: $bound:ident>)?($self:ident $(, $arg:ident: $ty:ty)* $(,)?) -> Result<(), Error> $body:block
    )*) => {
        impl $crate::quantizers::Backend {$(
            $(#[$attr])*
            #[allow(clippy::too_many_arguments)]
            pub fn $name$(<$g: $bound>)?($self $(, $arg: $ty)*) -> Result<(), $crate::Error> $body
        )*}
        $(
            #[doc = concat!(
                "[`Backend::", stringify!($name), "`](crate::Backend::", stringify!($name),
                ") on the active backend."
            )]
            #[allow(clippy::too_many_arguments)]
            pub fn $name$(<$g: $bound>)?($($arg: $ty),*) -> Result<(), $crate::Error> {
                $crate::quantizers::Backend::active().$name($($arg),*)
            }
        )*
    };
}

/// A call on slices.
macro_rules! slices {
    ($call:expr) => {
        // SAFETY: slices are valid for their lengths, which the call checks
        // against its shape; a slice passed as input and output (the
        // in-place forms) is an exact alias, which the kernels allow.
        unsafe { $call }
    };
}

/// The body of a C entry point: its one call.
macro_rules! raw {
    ($call:expr) => {
        // SAFETY: the caller's pointers are valid for their counts (the
        // entry point's contract); the call checks everything else.
        unsafe { $call }
    };
}

pub(crate) mod asymmetric_per_channel;
pub(crate) mod asymmetric_per_group;
pub(crate) mod packing;
pub(crate) mod per_token;
pub(crate) mod symmetric_per_channel;
pub(crate) mod symmetric_per_tensor;

/// Every quantizer's exports, its C entry points for `crate::ffi`, its
/// registry entries for the tests: one list. (The `mod` lines stay written
/// out above, where cbindgen finds the C entry points.)
macro_rules! quantizers {
    ($($quantizer:ident),*) => {
        $(pub use $quantizer::*;)*

        /// Every quantizer's C entry points.
        pub(crate) mod c {
            $(pub use super::$quantizer::ffi::*;)*
        }

        /// Every entry point of the tests' registry (`crate::registry`),
        /// quantizer by quantizer.
        #[cfg(feature = "test-hooks")]
        #[doc(hidden)]
        pub fn entry_points() -> impl Iterator<Item = &'static crate::registry::EntryPoint> {
            [$($quantizer::ffi::registry::ENTRY_POINTS),*].into_iter().flatten()
        }
    };
}

quantizers!(
    asymmetric_per_group,
    asymmetric_per_channel,
    symmetric_per_channel,
    symmetric_per_tensor,
    per_token,
    packing
);

/// One backend (the scalar one or a SIMD one), with every operation of
/// every quantizer as a method. [`Backend::new`] returns one only if this CPU supports its ISA, so
/// holding a `Backend` proves its kernels can run.
///
/// The free functions of this crate use [`Backend::active`]; a `Backend` of
/// your own pins one, for tests and benchmarks.
///
/// ```
/// use half::bf16;
/// use qat_kernels::{Backend, Isa, Symmetric};
///
/// let scalar = Backend::new(Isa::Scalar).unwrap();
/// let best = Backend::new(Isa::Auto).unwrap();
/// let weight: Vec<bf16> = (0..100).map(|i| bf16::from_f32(i as f32 * 0.01 - 0.5)).collect();
/// let (mut a, mut b) = (vec![bf16::ZERO; 100], vec![bf16::ZERO; 100]);
/// let params = Symmetric::signed(4);
/// scalar.symmetric_per_tensor(&weight, bf16::from_f32(0.05), &mut a, &params).unwrap();
/// best.symmetric_per_tensor(&weight, bf16::from_f32(0.05), &mut b, &params).unwrap();
/// assert_eq!(a, b); // every backend gives the same bits
/// ```
#[derive(Clone, Copy)]
pub struct Backend {
    backend: arch::Backend,
}

impl fmt::Debug for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Backend").field("isa", &self.isa()).finish()
    }
}

/// bf16 slices as the calls see them: their bits.
impl From<&[bf16]> for In<u16, usize> {
    fn from(s: &[bf16]) -> Self {
        In {
            ptr: s.as_ptr().cast(),
            len: s.len(),
        }
    }
}

impl From<&mut [bf16]> for Out<u16, usize> {
    fn from(s: &mut [bf16]) -> Self {
        Out {
            ptr: s.as_mut_ptr().cast(),
            len: s.len(),
        }
    }
}

/// The scales of a quantizer without offsets.
impl From<&[bf16]> for PerUnit<In<u16, usize>> {
    fn from(scale: &[bf16]) -> Self {
        PerUnit {
            scale: scale.into(),
            offset: In::none(),
        }
    }
}

/// The scale gradients (or calibrated scales) of a quantizer without
/// offsets.
impl From<&mut [bf16]> for PerUnit<Out<u16, usize>> {
    fn from(scale: &mut [bf16]) -> Self {
        PerUnit {
            scale: scale.into(),
            offset: Out::none(),
        }
    }
}

impl Backend {
    /// The backend of `isa` (`Auto`: the best one), if this CPU supports it.
    pub fn new(isa: Isa) -> Option<Backend> {
        dispatch::for_isa(isa).map(|backend| Backend { backend })
    }

    /// The backend that the free functions and the C ABI take now (see
    /// [`set_isa`](crate::set_isa)).
    pub fn active() -> Backend {
        Backend {
            backend: dispatch::active(),
        }
    }

    /// Every backend this CPU supports: the scalar one first.
    pub fn available() -> impl Iterator<Item = Backend> {
        [Isa::Scalar, Isa::Avx2, Isa::Avx512, Isa::Neon]
            .into_iter()
            .filter_map(Backend::new)
    }

    /// Every backend this CPU supports, named: those of
    /// [`Backend::available`] and, on a CPU with AVX-512 BF16, also the
    /// AVX-512 backend without it (`"avx512_no_bf16"`), which `Auto` skips
    /// there but older AVX-512 CPUs run. For tests and benchmarks (feature
    /// `test-hooks`; not part of the stable API).
    #[cfg(feature = "test-hooks")]
    pub fn all() -> impl Iterator<Item = (&'static str, Backend)> {
        dispatch::all().map(|(name, backend)| (name, Backend { backend }))
    }

    /// Its instruction set (never `Auto`).
    pub fn isa(self) -> Isa {
        self.backend.isa()
    }

    /// A call from slices on this backend.
    fn call<P>(self, shape: Result<Shape, Error>, params: P) -> Call<Slices, P> {
        Call::new(self.backend, shape, params)
    }
}

/// Blocks in the reduction of `len` terms: `len / 4096` rounded up. A
/// backward call's block values for a group, row or tensor of `len` elements
/// number `2 * block_count(len)`.
pub fn block_count(len: usize) -> usize {
    crate::kernels::reduction::block_count(len)
}
