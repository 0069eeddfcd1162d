//! Why a call was refused. [`Status`] is the class, the C ABI's `QAT_ERR_*`
//! code (cbindgen writes the header's constants from its discriminants),
//! described by `qat_status_message`. [`Error`] is the detail: the
//! [`Argument`] and the [`Rule`] it broke, whose rule gives the status. The
//! Rust API returns it; C callers get it from a refusal handler
//! (`qat_set_refusal_handler`, in `ffi`).

use core::ffi::CStr;
use core::fmt;
use core::num::NonZeroU16;

/// Why a call was refused: the C ABI's QAT_ERR_* status codes. A call that
/// returns one has written nothing to any output.
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Status {
    /// A buffer pointer is null with a nonzero count, not aligned to its
    /// element (2 bytes for bf16, 8 for f64 block values), or its buffer
    /// would wrap around the address space.
    Pointer = 1,
    /// group_size is 0 or does not divide numel, a count overflows or a
    /// buffer exceeds PTRDIFF_MAX bytes, or (Rust API) a slice has the wrong
    /// length.
    Shape = 2,
    /// bit is outside the quantizer's range (1..=16 for weights, 1..=8 to
    /// export per group, 2..=8 per token), or a packing width is not 1, 2, 4
    /// or 8.
    BitWidth = 3,
    /// eps is not finite and positive.
    Eps = 4,
    /// clip_val is not finite with 0 < clip_val < 1, or its extreme levels
    /// round off the grid in f32 (bit 1 with clip_val = 1 - 2^-24).
    Clip = 5,
    /// min_v or max_v is not an integer within -2^24..=2^24 (-128..=127 to
    /// export), or max_v < min_v.
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
    /// The calibration mode, or the way of dividing, is unknown.
    Mode = 11,
    /// The dtype is unknown.
    Dtype = 12,
}

/// Every value, in the order of their codes.
const STATUSES: [Status; 12] = [
    Status::Pointer,
    Status::Shape,
    Status::BitWidth,
    Status::Eps,
    Status::Clip,
    Status::Range,
    Status::Overlap,
    Status::UnsupportedIsa,
    Status::NonFinite,
    Status::Code,
    Status::Mode,
    Status::Dtype,
];

/// Success.
pub const QAT_OK: i32 = 0;

impl Status {
    /// The C status code.
    pub const fn code(self) -> i32 {
        self as i32
    }

    /// The status with this C status code (`None` for `QAT_OK` and unknown
    /// codes).
    pub fn from_code(code: i32) -> Option<Status> {
        STATUSES.into_iter().find(|status| status.code() == code)
    }

    /// A one-line description of every rule of the class, as the C ABI's
    /// `qat_status_message` gives it.
    pub fn message(self) -> &'static str {
        self.c_message().to_str().unwrap_or_default()
    }

    /// [`Status::message`], NUL-terminated for the C ABI.
    pub(crate) const fn c_message(self) -> &'static CStr {
        match self {
            Status::Pointer => {
                c"a buffer pointer is null with a nonzero count, misaligned, or wraps around memory"
            }
            Status::Shape => c"invalid shape: group_size is 0 or does not divide numel, a size overflows, or a slice has the wrong length",
            Status::BitWidth => c"bit width outside the quantizer's range (weights 1..=16, export 1..=8, per token 2..=8; packing 1, 2, 4 or 8)",
            Status::Eps => c"eps is not finite and positive",
            Status::Clip => {
                c"clip_val is not finite with 0 < clip_val < 1, or its levels leave the grid"
            }
            Status::Range => c"min_v or max_v is not an integer within -2^24..=2^24 (export: -128..=127), or max_v < min_v",
            Status::Overlap => {
                c"buffers overlap other than an output exactly reusing an input of the same length"
            }
            Status::UnsupportedIsa => c"instruction set not supported by this CPU or build",
            Status::NonFinite => {
                c"a NaN or infinite value where finite ones are needed (no integer code, or calibration)"
            }
            Status::Code => c"a code is off its grid or does not fit the packing width",
            Status::Mode => c"unknown mode: not a QAT_CALIBRATE_* or QAT_DIVISION_* value",
            Status::Dtype => c"unknown dtype",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

/// Writes the list of names once: the enum, and its names as the C
/// headers and the Rust API spell them.
macro_rules! arguments {
    ($($variant:ident = $name:literal,)*) => {
        /// An argument a call can refuse: a buffer or a scalar, named as
        /// the C header names its parameter.
        #[repr(u8)]
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Argument {
            $(#[doc = concat!("`", $name, "`")] $variant,)*
        }

        impl Argument {
            /// Every argument, in the order of their codes.
            const ALL: &[Argument] = &[$(Argument::$variant),*];

            /// The argument with this code (its discriminant).
            pub fn from_code(code: i32) -> Option<Argument> {
                // The discriminants count from 0, in order.
                usize::try_from(code).ok().and_then(|i| Argument::ALL.get(i).copied())
            }

            /// The parameter's name in the C header.
            pub const fn name(self) -> &'static str {
                match self {
                    $(Argument::$variant => $name,)*
                }
            }
        }
    };
}

arguments! {
    Weight = "weight",
    Scale = "scale",
    Offset = "offset",
    Out = "out",
    GradOutput = "grad_output",
    GradWeight = "grad_weight",
    GradScale = "grad_scale",
    GradOffset = "grad_offset",
    BlockSums = "block_sums",
    Codes = "codes",
    Packed = "packed",
    Input = "input",
    GradInput = "grad_input",
    ZeroPoint = "zero_point",
    Numel = "numel",
    GroupSize = "group_size",
    Rows = "rows",
    Cols = "cols",
    Count = "count",
    Bits = "bits",
    Bit = "bit",
    Eps = "eps",
    ClipVal = "clip_val",
    MinV = "min_v",
    MaxV = "max_v",
    Isa = "isa",
    Mode = "mode",
    Dtype = "dtype",
    Division = "division",
}

/// Writes the list of rules once: the enum, each rule's status and its
/// text, which follows the argument's name.
macro_rules! rules {
    ($($variant:ident: $status:ident $text:literal,)*) => {
        /// A rule a call's argument broke. Its text follows the argument's
        /// name ("bit is outside 2..=8") and gives the valid range.
        #[repr(u8)]
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Rule {
            $(#[doc = $text] $variant,)*
        }

        impl Rule {
            /// Every rule, in the order of their codes.
            const ALL: &[Rule] = &[$(Rule::$variant),*];

            /// The rule with this code (its discriminant).
            pub fn from_code(code: i32) -> Option<Rule> {
                // The discriminants count from 0, in order.
                usize::try_from(code).ok().and_then(|i| Rule::ALL.get(i).copied())
            }

            /// The status a call broken by this rule returns.
            pub fn status(self) -> Status {
                Rule::status_of(self as usize)
            }

            /// The status of the rule with this index (its discriminant):
            /// one table, which a firmware's refusals read.
            fn status_of(index: usize) -> Status {
                const STATUSES: &[Status] = &[$(Status::$status),*];
                STATUSES.get(index).copied().unwrap_or(Status::Shape)
            }

            /// What the argument is, following its name.
            pub const fn text(self) -> &'static str {
                match self {
                    $(Rule::$variant => $text,)*
                }
            }
        }
    };
}

rules! {
    Null: Pointer "is null with a nonzero count",
    Misaligned: Pointer "is not aligned to its element's size (bf16: 2 bytes, f32 and i32: 4, f64: 8)",
    Wraps: Pointer "wraps around the end of the address space",
    TooLarge: Shape "is too large: a buffer it sizes would exceed PTRDIFF_MAX bytes",
    NotDividing: Shape "is 0 or does not divide numel",
    ChannelCount: Shape "has a length that does not divide the weights' (one value per row)",
    Length: Shape "has a length other than the shape gives it",
    WeightBits: BitWidth "is outside 1..=16",
    CodeBits: BitWidth "is outside 1..=8 (codes are bytes)",
    TokenBits: BitWidth "is outside 2..=8",
    PackingWidth: BitWidth "is not 1, 2, 4 or 8",
    NotPositive: Eps "is not finite and positive",
    ClipRange: Clip "is not finite with 0 < clip_val < 1",
    ClipGrid: Clip "puts the extreme levels off the grid in f32 (bit 1 with clip_val = 1 - 2^-24)",
    NotLevel: Range "is not an integer within -2^24..=2^24",
    BelowMin: Range "is less than min_v",
    NotCode: Range "is outside -128..=127 (codes are int8)",
    Overlaps: Overlap "overlaps another buffer other than as exactly an input of the same length (in place)",
    UnknownIsa: UnsupportedIsa "is not a QAT_ISA_* value",
    Unsupported: UnsupportedIsa "is not supported by this CPU or build",
    NoCode: NonFinite "has a value whose forward value is not finite, so no integer code",
    NotFinite: NonFinite "has a NaN or infinite value",
    OffGrid: Code "has a code outside 0..2^bit",
    OutsideRange: Code "has a code outside min_v..=max_v",
    TooWide: Code "has a code that does not fit in bits bits",
    UnknownMode: Mode "is not QAT_CALIBRATE_SEARCH (0) or QAT_CALIBRATE_LSQ (1)",
    UnknownDtype: Dtype "is not QAT_DTYPE_BF16 (0), QAT_DTYPE_F32 (1) or QAT_DTYPE_F16 (2)",
    UnknownDivision: Mode "is not QAT_DIVISION_AUTO (0), QAT_DIVISION_INSTRUCTION (1) or QAT_DIVISION_RECIPROCAL (2)",
}

/// Why a call was refused: the argument and the rule it broke. A call that
/// returns one has written nothing to any output. `Display` gives
/// "bit is outside 2..=8".
// Packed in 16 bits, argument then rule + 1 (never 0): a result is then
// one register, `Ok` zero, which a Cortex-M's code checks in one
// instruction (two bytes cost 1.1 KB of firmware).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Error(NonZeroU16);

impl Error {
    /// `argument` broke `rule`.
    pub const fn new(argument: Argument, rule: Rule) -> Error {
        let packed = (argument as u16) << 8 | (rule as u16 + 1);
        match NonZeroU16::new(packed) {
            Some(packed) => Error(packed),
            None => Error(NonZeroU16::MAX), // unreachable: the rule's half is nonzero
        }
    }

    /// The argument that broke the rule.
    pub fn argument(self) -> Argument {
        // Always found: `new` packed an argument.
        Argument::from_code(i32::from(self.0.get() >> 8)).unwrap_or(Argument::Weight)
    }

    /// The rule it broke.
    pub fn rule(self) -> Rule {
        // Always found: `new` packed a rule.
        Rule::from_code(i32::from(self.0.get() & 0xFF) - 1).unwrap_or(Rule::Null)
    }

    /// The status class, as C returns it.
    pub fn status(self) -> Status {
        Rule::status_of(usize::from(self.0.get() & 0xFF).wrapping_sub(1))
    }

    /// The argument's and the rule's codes (their discriminants), as the C
    /// ABI passes them.
    pub(crate) fn codes(self) -> (i32, i32) {
        let packed = i32::from(self.0.get());
        (packed >> 8, (packed & 0xFF) - 1)
    }

    /// The C status code.
    pub fn code(self) -> i32 {
        self.status().code()
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("argument", &self.argument())
            .field("rule", &self.rule())
            .finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.argument().name(), self.rule().text())
    }
}

impl core::error::Error for Error {}
