//! Why a call was rejected: one enum, whose discriminants are the C ABI's
//! `QAT_ERR_*` status codes (cbindgen writes the header's constants from it)
//! and whose messages `qat_status_message` returns.

use core::ffi::CStr;
use core::fmt;

/// Why a call was rejected: the C ABI's QAT_ERR_* status codes. A call that
/// returns one has written nothing to any output.
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Error {
    /// A buffer pointer is null with a nonzero count, not aligned to its
    /// element (2 bytes for bf16, 8 for f64 block values), or its buffer
    /// would wrap around the address space.
    Pointer = 1,
    /// group_size is 0 or does not divide numel, a count overflows or a
    /// buffer exceeds PTRDIFF_MAX bytes, or (Rust API) a slice has the wrong
    /// length.
    Shape = 2,
    /// bit is outside 1..=16.
    BitWidth = 3,
    /// eps is not finite and positive.
    Eps = 4,
    /// clip_val is not finite with 0 < clip_val < 1, or its extreme levels
    /// round off the grid in f32 (bit 1 with clip_val = 1 - 2^-24).
    Clip = 5,
    /// min_v and max_v are not finite integers with min_v <= max_v and
    /// magnitudes at most 2^24.
    Range = 6,
    /// Buffers overlap other than an output being exactly an input of the
    /// same length (an in-place call).
    Overlap = 7,
    /// The requested instruction set is not supported by this CPU or build,
    /// or its code is unknown.
    UnsupportedIsa = 8,
    /// A NaN or infinite value where the call needs finite ones: a weight
    /// whose forward value is not finite, so has no integer code (export),
    /// or a weight to calibrate.
    NonFinite = 9,
    /// A code is off its grid (`0..2^bit` per group, `[min_v, max_v]`
    /// symmetric) or does not fit the packing width.
    Code = 10,
    /// The calibration mode is unknown.
    Mode = 11,
}

/// Every value, in the order of their codes.
const ERRORS: [Error; 11] = [
    Error::Pointer,
    Error::Shape,
    Error::BitWidth,
    Error::Eps,
    Error::Clip,
    Error::Range,
    Error::Overlap,
    Error::UnsupportedIsa,
    Error::NonFinite,
    Error::Code,
    Error::Mode,
];

/// Success.
pub const QAT_OK: i32 = 0;

impl Error {
    /// The C status code.
    pub const fn code(self) -> i32 {
        self as i32
    }

    /// The error with this C status code (`None` for `QAT_OK` and unknown codes).
    pub fn from_code(code: i32) -> Option<Error> {
        ERRORS.into_iter().find(|error| error.code() == code)
    }

    /// A one-line description, as the C ABI's `qat_status_message` gives it.
    pub fn message(self) -> &'static str {
        self.c_message().to_str().unwrap_or_default()
    }

    /// [`Error::message`], NUL-terminated for the C ABI.
    pub(crate) const fn c_message(self) -> &'static CStr {
        match self {
            Error::Pointer => {
                c"a buffer pointer is null with a nonzero count, misaligned, or wraps around memory"
            }
            Error::Shape => {
                c"invalid shape: group_size is 0 or does not divide numel, or a size overflows"
            }
            Error::BitWidth => c"bit width outside 1..=16",
            Error::Eps => c"eps is not finite and positive",
            Error::Clip => {
                c"clip_val is not finite with 0 < clip_val < 1, or its levels leave the grid"
            }
            Error::Range => {
                c"min_v and max_v are not finite integers with min_v <= max_v and |v| <= 2^24"
            }
            Error::Overlap => {
                c"buffers overlap other than an output exactly reusing an input of the same length"
            }
            Error::UnsupportedIsa => c"instruction set not supported by this CPU or build",
            Error::NonFinite => {
                c"a NaN or infinite value where finite ones are needed (no integer code, or calibration)"
            }
            Error::Code => c"a code is off its grid or does not fit the packing width",
            Error::Mode => c"unknown calibration mode",
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl core::error::Error for Error {}
