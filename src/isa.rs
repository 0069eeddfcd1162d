//! The instruction sets a call can take: one enum, whose discriminants are
//! the C ABI's `QAT_ISA_*` values (cbindgen writes the header's constants
//! from it).

use crate::{dispatch, Argument, Error, Rule};

/// An instruction set the kernels can run on. Every one gives the same bits.
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Isa {
    /// The best instruction set this CPU supports (the default). Only a
    /// request: the active instruction set is never this one.
    Auto = 0,
    /// The portable backend, available everywhere.
    Scalar = 1,
    /// AVX2 with FMA (x86, x86-64).
    Avx2 = 2,
    /// NEON (aarch64).
    Neon = 3,
    /// AVX-512 F, BW and VL, with AVX2 and FMA (x86, x86-64): sixteen lanes
    /// per instruction. Where the CPU also has AVX-512 BF16, a backend that
    /// narrows with it.
    Avx512 = 4,
}

/// Every value, in the order of their codes.
const ISAS: [Isa; 5] = [Isa::Auto, Isa::Scalar, Isa::Avx2, Isa::Neon, Isa::Avx512];

impl Isa {
    /// The ISA with this C code, if any.
    pub fn from_code(code: i32) -> Option<Isa> {
        ISAS.into_iter().find(|&isa| isa as i32 == code)
    }

    /// Its name in lower case, as in `"avx512"`.
    pub const fn name(self) -> &'static str {
        match self {
            Isa::Auto => "auto",
            Isa::Scalar => "scalar",
            Isa::Avx2 => "avx2",
            Isa::Neon => "neon",
            Isa::Avx512 => "avx512",
        }
    }

    /// The best ISA this CPU supports (never `Auto`); detected once.
    pub fn best() -> Isa {
        dispatch::best().isa()
    }

    /// Whether calls can run on this ISA here (`Auto` and `Scalar` always can).
    pub fn is_available(self) -> bool {
        dispatch::for_isa(self).is_some()
    }
}

/// The ISA that calls through the free functions and the C ABI take now: the
/// last one set with [`set_isa`], or else the best one available. Never `Auto`.
pub fn active_isa() -> Isa {
    dispatch::active().isa()
}

/// Makes every later call (process-wide, from any thread) take `isa`;
/// `Auto` picks the best available. Asking for an ISA this CPU or build lacks
/// returns [`Rule::Unsupported`] and changes nothing.
///
/// ```
/// use qat_kernels::{active_isa, set_isa, Isa};
/// set_isa(Isa::Scalar).unwrap();
/// assert_eq!(active_isa(), Isa::Scalar);
/// set_isa(Isa::Auto).unwrap();
/// assert_eq!(active_isa(), Isa::best());
/// ```
pub fn set_isa(isa: Isa) -> Result<(), Error> {
    dispatch::set(dispatch::for_isa(isa).ok_or(Error::new(Argument::Isa, Rule::Unsupported))?);
    Ok(())
}
