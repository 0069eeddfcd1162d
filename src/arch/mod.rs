//! The backends: one lane type per ISA, and the backends that run the kernels
//! written once in `kernels` on them. The only module that names an ISA's
//! module: the rest of the crate asks here for a [`Backend`] and runs a
//! [`Kernel`] on it.

#[cfg(target_arch = "aarch64")]
mod aarch64;
pub(crate) mod scalar;
#[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
mod x86;

use crate::vector::{Pair, Vector};
use crate::Isa;

/// Whether division by reciprocal pays on this CPU ([`crate::Division::Auto`]).
#[cfg(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64"))]
#[inline(always)]
pub(crate) fn divides_slowly() -> bool {
    #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
    return x86::divides_slowly();
    #[cfg(not(any(target_arch = "x86", target_arch = "x86_64")))]
    false
}

/// One kernel, written once over the lanes of any backend: the unit a call
/// chooses a backend for. A program links a kernel only for the backends of the
/// entry points it calls, since each entry point names its kernel
/// ([`Backend::run`]) rather than reaching it through a table of all of them.
pub(crate) trait Kernel {
    type Args: ?Sized;
    type Output;
    /// Whether this call divides by reciprocal ([`crate::division`]): the
    /// flag of the constants of a kernel that divides, else false. (Only
    /// the SIMD backends ask.)
    #[cfg(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64"))]
    fn reciprocal(args: &Self::Args) -> bool;
    /// Runs the kernel on `V`'s lanes, dividing by reciprocal where `R`.
    ///
    /// # Safety
    /// The kernel's contract (`kernels`: valid buffers, overlaps only as
    /// exact aliases), and the token proves `V`'s ISA.
    unsafe fn run<V: Vector, P: Pair<V>, const R: bool>(
        token: P::Token,
        args: &Self::Args,
    ) -> Self::Output;
}

/// Defines a [`Kernel`] per line: a type that runs `module::function`,
/// generic over the [`Data`](crate::vector::Data) types it names (the
/// element types of its data buffers, a dtype axis), each a type of its own.
/// `function[R]` divides by a scale: it takes the const `R` (by reciprocal)
/// after `V` and `P`, and its arguments' constants say which.
macro_rules! kernels {
    ($($(#[$doc:meta])* $name:ident$(<$($t:ident),*>)?: $module:ident::$function:ident$([$r:ident])?($args:ty) -> $output:ty;)*) => {$(
        $(#[$doc])*
        pub(crate) enum $name$(<$($t),*>)? {
            /// Never made: the type only names the kernel.
            #[allow(dead_code)]
            Never(core::convert::Infallible, core::marker::PhantomData<($($($t,)*)?)>),
        }
        impl$(<$($t: $crate::vector::Data),*>)? $crate::arch::Kernel for $name$(<$($t),*>)? {
            type Args = $args;
            type Output = $output;
            #[inline(always)]
            #[allow(unreachable_code, unused_variables)]
            #[cfg(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64"))]
            fn reciprocal(args: &$args) -> bool {
                $(return { let _ = stringify!($r); args.quant.reciprocal };)?
                false
            }
            #[inline(always)]
            unsafe fn run<V: $crate::vector::Vector, P: $crate::vector::Pair<V>, const R: bool>(
                token: P::Token,
                args: &$args,
            ) -> $output {
                // SAFETY: the caller's (the Kernel contract).
                #[allow(unused_unsafe)]
                unsafe { $module::$function::<V, P $(, $r)? $($(, $t)*)?>(token, args) }
            }
        }
    )*};
}
pub(crate) use kernels;

/// A backend: one ISA's lanes and the target features they
/// are compiled with. Chosen per call ([`Backend::run`]): a `match`, then a
/// direct call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Backend {
    Scalar = 1,
    #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
    Avx2 = 2,
    #[cfg(target_arch = "aarch64")]
    Neon = 3,
    #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
    Avx512 = 4,
    /// AVX-512 narrowing with AVX-512 BF16.
    #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
    Avx512Bf16 = 5,
}

impl Backend {
    /// Every backend, in the order of their codes (for the choice among
    /// them, which a target with one backend does not make).
    #[cfg(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64"))]
    pub(crate) const ALL: &'static [Backend] = &[
        Backend::Scalar,
        #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
        Backend::Avx2,
        #[cfg(target_arch = "aarch64")]
        Backend::Neon,
        #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
        Backend::Avx512,
        #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
        Backend::Avx512Bf16,
    ];

    /// The ISA it runs.
    pub(crate) const fn isa(self) -> Isa {
        match self {
            Backend::Scalar => Isa::Scalar,
            #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
            Backend::Avx2 => Isa::Avx2,
            #[cfg(target_arch = "aarch64")]
            Backend::Neon => Isa::Neon,
            #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
            Backend::Avx512 | Backend::Avx512Bf16 => Isa::Avx512,
        }
    }

    /// Whether its kernels can divide by reciprocal, as `run` below
    /// dispatches them: every backend but the portable one, which has no
    /// fused multiply-add.
    #[cfg(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64"))]
    pub(crate) const fn fuses(self) -> bool {
        !matches!(self, Backend::Scalar)
    }

    /// Runs kernel `K` on this backend.
    ///
    /// # Safety
    /// `K`'s contract, and the CPU runs this backend (as every `Backend`
    /// that [`best`] and [`for_isa`] give does).
    #[inline(always)]
    pub(crate) unsafe fn run<K: Kernel>(self, args: &K::Args) -> K::Output {
        // Each way of dividing is an entry point of its own, so that
        // neither copy of a kernel takes stack beside the other.
        #[cfg(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64"))]
        let reciprocal = K::reciprocal(args);
        // SAFETY: the caller's, for the backend's entry point.
        unsafe {
            match self {
                // No fused multiply-add to divide by reciprocal with.
                Backend::Scalar => scalar::run::<K, false>(args),
                #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
                Backend::Avx2 if reciprocal => x86::avx2::run::<K, true>(args),
                #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
                Backend::Avx2 => x86::avx2::run::<K, false>(args),
                #[cfg(target_arch = "aarch64")]
                Backend::Neon if reciprocal => aarch64::run::<K, true>(args),
                #[cfg(target_arch = "aarch64")]
                Backend::Neon => aarch64::run::<K, false>(args),
                #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
                Backend::Avx512 if reciprocal => x86::avx512::run::<K, true>(args),
                #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
                Backend::Avx512 => x86::avx512::run::<K, false>(args),
                #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
                Backend::Avx512Bf16 if reciprocal => x86::avx512::with_bf16::run::<K, true>(args),
                #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
                Backend::Avx512Bf16 => x86::avx512::with_bf16::run::<K, false>(args),
            }
        }
    }
}

/// The fastest backend this CPU runs.
pub(crate) fn best() -> Backend {
    #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
    if let Some(backend) = x86::best() {
        return backend;
    }
    #[cfg(target_arch = "aarch64")]
    return Backend::Neon;
    #[allow(unreachable_code)]
    Backend::Scalar
}

/// The backend of `isa` (`Auto`: none), if this CPU and this build of
/// the library run it.
pub(crate) fn for_isa(isa: Isa) -> Option<Backend> {
    match isa {
        Isa::Scalar => Some(Backend::Scalar),
        #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
        Isa::Avx2 | Isa::Avx512 => x86::for_isa(isa),
        #[cfg(target_arch = "aarch64")]
        Isa::Neon => Some(Backend::Neon),
        _ => None,
    }
}

/// Every backend this CPU runs, named: those of [`for_isa`], and on a
/// CPU with AVX-512 BF16 also the AVX-512 backend without it, which
/// `Auto` skips there but older AVX-512 CPUs run.
#[cfg(feature = "test-hooks")]
pub(crate) fn all() -> impl Iterator<Item = (&'static str, Backend)> {
    #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
    let extra = x86::avx512_without_bf16().map(|backend| ("avx512_no_bf16", backend));
    #[cfg(not(any(target_arch = "x86", target_arch = "x86_64")))]
    let extra = None;
    [Isa::Scalar, Isa::Avx2, Isa::Avx512, Isa::Neon]
        .into_iter()
        .filter_map(for_isa)
        .map(|backend| (backend.isa().name(), backend))
        .chain(extra)
}

/// Defines `run`, the entry point of one backend: runs any [`Kernel`] on
/// `$vector` and its `$pair` of vectors, under the ISA's
/// `#[target_feature]` attributes so that the inlined lane operations are
/// compiled for it, with the token the caller's contract proves. Generic
/// over the kernel: each kernel a program calls is compiled here once.
macro_rules! backend {
    ($vector:ty, $pair:ty, $(#[$feature:meta])*) => {
        /// Runs kernel `K` on this backend, dividing by reciprocal where `R`.
        ///
        /// # Safety
        /// `K`'s contract, and the CPU runs this backend's ISA.
        ///
        /// Never inlined: the kernel keeps a frame of its own, above the
        /// call's checks rather than beside them (a microcontroller's
        /// stack is small).
        $(#[$feature])*
        #[inline(never)]
        pub(crate) unsafe fn run<K: $crate::arch::Kernel, const R: bool>(args: &K::Args) -> K::Output {
            use $crate::vector::Token;
            // SAFETY: the caller's: the CPU runs the ISA, and the buffers
            // are as the kernel requires.
            unsafe { K::run::<$vector, $pair, R>(Token::new_unchecked(), args) }
        }
    };
}
pub(crate) use backend;
