//! The backends: one lane type per ISA, and the builds that run the kernels
//! written once in `kernels` on them. The only module that names an ISA's
//! module: the rest of the crate asks here for a [`Build`] and runs a
//! [`Kernel`] on it.

#[cfg(target_arch = "aarch64")]
mod aarch64;
pub(crate) mod scalar;
#[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
mod x86;

use crate::vector::{Pair, Vector};
use crate::Isa;

/// One kernel, written once over the lanes of any backend: the unit a call
/// chooses a build for. A program links a kernel only for the builds of the
/// entry points it calls, since each entry point names its kernel
/// ([`Build::run`]) rather than reaching it through a table of all of them.
pub(crate) trait Kernel {
    type Args: ?Sized;
    type Output;
    /// Runs the kernel on `V`'s lanes.
    ///
    /// # Safety
    /// The kernel's contract (`kernels`: valid buffers, overlaps only as
    /// exact aliases), and the token proves `V`'s ISA.
    unsafe fn run<V: Vector, P: Pair<V>>(token: P::Token, args: &Self::Args) -> Self::Output;
}

/// Defines a [`Kernel`] per line: a type that runs `module::function`.
macro_rules! kernels {
    ($($(#[$doc:meta])* $name:ident: $module:ident::$function:ident($args:ty) -> $output:ty;)*) => {$(
        $(#[$doc])*
        pub(crate) enum $name {}
        impl $crate::arch::Kernel for $name {
            type Args = $args;
            type Output = $output;
            #[inline(always)]
            unsafe fn run<V: $crate::vector::Vector, P: $crate::vector::Pair<V>>(
                token: P::Token,
                args: &$args,
            ) -> $output {
                // SAFETY: the caller's (the Kernel contract).
                #[allow(unused_unsafe)]
                unsafe { $module::$function::<V, P>(token, args) }
            }
        }
    )*};
}
pub(crate) use kernels;

/// A compiled build of one path: its lanes and the target features they
/// are compiled with. Chosen per call ([`Build::run`]): a `match`, then a
/// direct call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Build {
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

impl Build {
    /// Every build, in the order of their codes.
    pub(crate) const ALL: &'static [Build] = &[
        Build::Scalar,
        #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
        Build::Avx2,
        #[cfg(target_arch = "aarch64")]
        Build::Neon,
        #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
        Build::Avx512,
        #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
        Build::Avx512Bf16,
    ];

    /// The ISA it is a build of.
    pub(crate) const fn isa(self) -> Isa {
        match self {
            Build::Scalar => Isa::Scalar,
            #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
            Build::Avx2 => Isa::Avx2,
            #[cfg(target_arch = "aarch64")]
            Build::Neon => Isa::Neon,
            #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
            Build::Avx512 | Build::Avx512Bf16 => Isa::Avx512,
        }
    }

    /// Runs kernel `K` on this build.
    ///
    /// # Safety
    /// `K`'s contract, and the CPU runs this build (as every `Build` that
    /// [`best`] and [`build`] give does).
    #[inline(always)]
    pub(crate) unsafe fn run<K: Kernel>(self, args: &K::Args) -> K::Output {
        // SAFETY: the caller's, for the build's entry point.
        unsafe {
            match self {
                Build::Scalar => scalar::run::<K>(args),
                #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
                Build::Avx2 => x86::avx2::run::<K>(args),
                #[cfg(target_arch = "aarch64")]
                Build::Neon => aarch64::run::<K>(args),
                #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
                Build::Avx512 => x86::avx512::run::<K>(args),
                #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
                Build::Avx512Bf16 => x86::avx512::with_bf16::run::<K>(args),
            }
        }
    }
}

/// The fastest build this CPU runs.
pub(crate) fn best() -> Build {
    #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
    if let Some(build) = x86::best() {
        return build;
    }
    #[cfg(target_arch = "aarch64")]
    return Build::Neon;
    #[allow(unreachable_code)]
    Build::Scalar
}

/// The build of `isa` (`Auto`: none), if this CPU and build run it.
pub(crate) fn build(isa: Isa) -> Option<Build> {
    match isa {
        Isa::Scalar => Some(Build::Scalar),
        #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
        Isa::Avx2 | Isa::Avx512 => x86::build(isa),
        #[cfg(target_arch = "aarch64")]
        Isa::Neon => Some(Build::Neon),
        _ => None,
    }
}

/// Every build of every path this CPU runs, named: those of [`build`],
/// and on a CPU with AVX-512 BF16 also the AVX-512 build without it, which
/// `Auto` skips there but older AVX-512 CPUs run.
#[cfg(feature = "test-hooks")]
pub(crate) fn builds() -> impl Iterator<Item = (&'static str, Build)> {
    #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
    let extra = x86::avx512_without_bf16().map(|build| ("avx512_no_bf16", build));
    #[cfg(not(any(target_arch = "x86", target_arch = "x86_64")))]
    let extra = None;
    [Isa::Scalar, Isa::Avx2, Isa::Avx512, Isa::Neon]
        .into_iter()
        .filter_map(build)
        .map(|build| (build.isa().name(), build))
        .chain(extra)
}

/// Defines `run`, the entry point of one build: runs any [`Kernel`] on
/// `$vector` and its `$pair` of vectors, under the ISA's
/// `#[target_feature]` attributes so that the inlined lane operations are
/// compiled for it, with the token the caller's contract proves. Generic
/// over the kernel: each kernel a program calls is compiled here once.
macro_rules! backend {
    ($vector:ty, $pair:ty, $(#[$feature:meta])*) => {
        /// Runs kernel `K` on this build.
        ///
        /// # Safety
        /// `K`'s contract, and the CPU runs this build's ISA.
        ///
        /// Never inlined: the kernel keeps a frame of its own, above the
        /// call's checks rather than beside them (a microcontroller's
        /// stack is small).
        $(#[$feature])*
        #[inline(never)]
        pub(crate) unsafe fn run<K: $crate::arch::Kernel>(args: &K::Args) -> K::Output {
            use $crate::vector::Token;
            // SAFETY: the caller's: the CPU runs the ISA, and the buffers
            // are as the kernel requires.
            unsafe { K::run::<$vector, $pair>(Token::new_unchecked(), args) }
        }
    };
}
pub(crate) use backend;
