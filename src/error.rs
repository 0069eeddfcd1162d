//! Errors, one to one with the C ABI's status codes.

use core::fmt;

/// Why a call was rejected. Nothing is written to any output when a call
/// returns an error. The numbers are the C ABI's `QAT_ERR_*` status codes.
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Error {
    /// A buffer pointer is null with a nonzero count, not 2-byte aligned, or
    /// its buffer would wrap around the address space.
    Pointer = 1,
    /// `group_size` is 0 or does not divide `numel`, a size overflows or exceeds
    /// `isize::MAX` bytes, or (Rust API) a slice has the wrong length.
    Shape = 2,
    /// `bit` is outside `1..=16`.
    BitWidth = 3,
    /// `eps` is not finite and positive.
    Eps = 4,
    /// `clip_val` is not finite with `0 < clip_val < 1`.
    Clip = 5,
    /// `min_v`, `max_v` are not finite integers with `min_v <= max_v` and
    /// magnitudes at most 2^24.
    Range = 6,
    /// Buffers overlap other than an output being exactly an input of the same
    /// length.
    Overlap = 7,
    /// The requested instruction set is not supported by this CPU or build.
    UnsupportedIsa = 8,
}

impl Error {
    /// The C status code.
    pub const fn code(self) -> i32 {
        self as i32
    }

    /// The error with this C status code (`None` for `QAT_OK` and unknown codes).
    pub const fn from_code(code: i32) -> Option<Error> {
        Some(match code {
            1 => Error::Pointer,
            2 => Error::Shape,
            3 => Error::BitWidth,
            4 => Error::Eps,
            5 => Error::Clip,
            6 => Error::Range,
            7 => Error::Overlap,
            8 => Error::UnsupportedIsa,
            _ => return None,
        })
    }

    /// A one-line description.
    pub fn message(self) -> &'static str {
        let text = status_text(self.code());
        text.strip_suffix('\0').unwrap_or(text)
    }
}

/// The message of a status code, NUL-terminated for the C ABI.
pub(crate) const fn status_text(code: i32) -> &'static str {
    match code {
        0 => "ok\0",
        1 => "a buffer pointer is null with a nonzero count, misaligned, or wraps around memory\0",
        2 => "invalid shape: group_size is 0 or does not divide numel, or a size overflows\0",
        3 => "bit width outside 1..=16\0",
        4 => "eps is not finite and positive\0",
        5 => "clip_val is not finite with 0 < clip_val < 1\0",
        6 => "min_v and max_v are not finite integers with min_v <= max_v and |v| <= 2^24\0",
        7 => "buffers overlap other than an output exactly reusing an input of the same length\0",
        8 => "instruction set not supported by this CPU or build\0",
        _ => "unknown status code\0",
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl core::error::Error for Error {}
