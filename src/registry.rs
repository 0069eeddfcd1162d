//! The tests' registry of C entry points (feature `test-hooks`; not part of
//! the stable API): the types that describe an entry point, and the macro
//! each quantizer's `ffi.rs` describes its entry points with. Every
//! buffer-taking entry point of the C ABI is described once, beside its C
//! function: its role, shape, buffers (element type, direction, count) and
//! parameters, with a call through raw addresses derived from them. The
//! tests hold every entry point to a model of the documented behaviour
//! written from docs/validation.md, not from this code.
#![allow(missing_docs)]

/// How an entry point's sizes are given.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Shape {
    /// `numel`, `group_size`: units of `group_size`.
    Group,
    /// `rows`, `cols`.
    Matrix,
    /// `numel`: one unit.
    Tensor,
    /// `count` codes of `bits` bits, packed.
    Pack,
}

/// What a buffer's count is, in elements.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Count {
    /// Every weight: `numel`, or `rows * cols`.
    All,
    /// One per unit (group or row; per tensor, one).
    Unit,
    /// `2 * ceil(len / 4096)` per unit.
    Blocks,
    /// The codes to pack (`count`).
    Codes,
    /// The packed bytes.
    Packed,
}

/// Element types, by size in bytes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Elem {
    Bf16,
    U8,
    I8,
    F64,
    F32,
    I32,
    F16,
}

impl Elem {
    pub fn size(self) -> usize {
        match self {
            Elem::Bf16 => 2,
            Elem::U8 | Elem::I8 => 1,
            Elem::F64 => 8,
            Elem::F32 | Elem::I32 => 4,
            Elem::F16 => 2,
        }
    }
}

/// Which parameters an entry point validates, and how.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Params {
    /// `bit`, `eps`, `clip_val`.
    Asymmetric,
    /// The same, with codes: `bit <= 8`, checked first.
    AsymmetricCodes,
    /// `eps`, `min_v`, `max_v`.
    Symmetric,
    /// The same, with codes: the range within an int8.
    SymmetricCodes,
    /// Packing: the width is checked before the shape.
    Width,
    /// Per token: `bit` in 2..=8, then `eps`.
    Token,
    /// Per token, backward: `bit` only.
    TokenBits,
}

/// What an entry point checks in its buffers' contents, last.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Contents {
    None,
    /// `QAT_ERR_NON_FINITE`.
    Finite,
    /// `QAT_ERR_CODE`.
    Codes,
}

#[derive(Clone, Copy, Debug)]
pub struct Buf {
    pub name: &'static str,
    pub elem: Elem,
    pub output: bool,
    pub count: Count,
}

/// The scalar arguments of a call; each entry point reads those it takes.
#[derive(Clone, Copy, Debug)]
pub struct Args {
    /// The C call's sizes, in the header's order: `numel` and `group_size`;
    /// `rows` and `cols`; `numel` (the second unused); `count` and `bits`.
    pub sizes: [usize; 2],
    pub bit: u32,
    pub eps: f32,
    pub clip_val: f32,
    pub min_v: f32,
    pub max_v: f32,
    /// Calibration only.
    pub mode: i32,
}

impl Args {
    pub const DEFAULT: Args = Args {
        sizes: [0, 1],
        bit: 4,
        eps: 1e-4,
        clip_val: 0.99,
        min_v: -8.0,
        max_v: 7.0,
        mode: 0,
    };
}

/// What an entry point does, with the entry points it is checked against
/// (the invariants of `tests/boundary.rs` follow these, for every entry
/// point of the role: none can be left out of them).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Role {
    /// Fake quantization, its gradients, per-token quantization.
    Train,
    /// Export: succeeds exactly when every value of `forward` is finite,
    /// and `dequantize` of its codes gives those values.
    Quantize {
        forward: &'static str,
        dequantize: &'static str,
    },
    Dequantize,
    /// The shard form: the weight gradient of `backward`, and block values
    /// whose `finish` gives `backward`'s scale (and offset) gradients.
    Blocks {
        backward: &'static str,
        finish: &'static str,
    },
    Finish,
    Calibrate,
    /// Packing: `unpack` gives the codes back.
    Pack {
        unpack: &'static str,
    },
    Unpack,
}

/// An entry point that gives the same status and bytes on the same
/// buffers, called with the sizes `args` maps the call's to (asymmetric per
/// channel: per group with each row a group). `tests/boundary.rs` holds
/// every entry point that names one to it, on every backend.
#[derive(Clone, Copy)]
pub struct Reference {
    pub name: &'static str,
    pub args: fn(&Args) -> Args,
}

/// See [`EntryPoint::rust`].
pub type RustCall = unsafe fn(&[(usize, usize)], &Args) -> Option<i32>;

/// The slice at an address, of a count.
///
/// # Safety
/// The address must be valid for the count, and aligned.
pub unsafe fn slice<'a, T>((address, count): (usize, usize)) -> &'a [T] {
    // SAFETY: the caller's.
    unsafe { core::slice::from_raw_parts(address as *const T, count) }
}

/// The mutable slice at an address, of a count.
///
/// # Safety
/// As [`slice`], and no other reference to it may live.
pub unsafe fn slice_mut<'a, T>((address, count): (usize, usize)) -> &'a mut [T] {
    // SAFETY: the caller's.
    unsafe { core::slice::from_raw_parts_mut(address as *mut T, count) }
}

/// A result as the C ABI gives it.
pub fn status(result: Result<(), crate::Error>) -> i32 {
    result.map_or_else(|e| e.code(), |()| 0)
}

pub struct EntryPoint {
    pub name: &'static str,
    /// The dtype a `_dtype` form is called with (its first argument), or
    /// `None` for an entry point without one.
    pub dtype: Option<crate::Dtype>,
    pub role: Role,
    pub shape: Shape,
    pub params: Params,
    pub contents: Contents,
    pub calibration: bool,
    pub buffers: &'static [Buf],
    pub reference: Option<Reference>,
    /// The same operation through the Rust API on the active backend, on
    /// slices of these addresses and counts (one per buffer, in order):
    /// its status, or `None` for a call the API cannot express (an unknown
    /// calibration mode). A weight quantizer's entry points have one.
    pub rust: Option<RustCall>,
    /// Calls it with these addresses (one per buffer, in order).
    pub call: unsafe fn(&[usize], &Args) -> i32,
}

pub const fn buf(name: &'static str, elem: Elem, output: bool, count: Count) -> Buf {
    Buf {
        name,
        elem,
        output,
        count,
    }
}

/// A buffer the call reads.
pub const IN: bool = false;
/// A buffer the call writes.
pub const OUT: bool = true;

/// The `i`-th address of a call, as the pointer its parameter takes.
macro_rules! p {
    ($p:expr, $i:expr) => {
        $p[$i] as *mut _
    };
}
pub(crate) use p;

/// The C name of a scalar argument, as the field of [`Args`] that holds it.
macro_rules! scalar {
    ($a:ident, numel) => {
        $a.sizes[0]
    };
    ($a:ident, rows) => {
        $a.sizes[0]
    };
    ($a:ident, count) => {
        $a.sizes[0]
    };
    ($a:ident, group_size) => {
        $a.sizes[1]
    };
    ($a:ident, cols) => {
        $a.sizes[1]
    };
    ($a:ident, bits) => {
        $a.sizes[1] as u32
    };
    ($a:ident, $field:ident) => {
        $a.$field
    };
}
pub(crate) use scalar;

/// An entry point: its C function with its scalar arguments' names (as the
/// header names them, after its pointers), its role, shape, parameters,
/// contents check, whether it calibrates, its buffers in the order of its
/// pointers and, optionally, its [`Reference`]. The call is derived: each
/// buffer's address in turn, then the scalars from [`Args`].
macro_rules! entry {
    (@reference) => {
        None
    };
    (@reference $reference:ident, |$a:ident| $args:expr) => {
        Some($crate::registry::Reference {
            name: stringify!($reference),
            args: |$a: &$crate::registry::Args| $args,
        })
    };
    (@rust) => {
        None
    };
    (@dtype) => {
        None
    };
    (@dtype $dtype:ident) => {
        Some($crate::Dtype::$dtype)
    };
    (@rust |$p:ident, $a:ident| $rust:expr) => {
        Some(|$p, $a| {
            // SAFETY: the caller's addresses are valid for their counts,
            // aligned, and distinct.
            unsafe { $rust }
        })
    };
    (
        $name:ident$([$dtype:ident])?($($arg:ident),* $(,)?),
        $role:expr,
        $shape:ident, $params:ident, $contents:ident, calibration: $calibration:expr,
        [$($buf:ident: $elem:ident $dir:ident $count:ident),* $(,)?]
        $(, same_as: $reference:ident, |$a:ident| $args:expr)?
        $(, rust: |$rp:ident, $ra:ident| $rust:expr)?
        $(,)?
    ) => {
        $crate::registry::EntryPoint {
            name: stringify!($name),
            dtype: $crate::registry::entry!(@dtype $($dtype)?),
            role: $role,
            shape: $crate::registry::Shape::$shape,
            params: $crate::registry::Params::$params,
            contents: $crate::registry::Contents::$contents,
            calibration: $calibration,
            buffers: &[$($crate::registry::buf(
                stringify!($buf),
                $crate::registry::Elem::$elem,
                $crate::registry::$dir,
                $crate::registry::Count::$count,
            )),*],
            reference: $crate::registry::entry!(@reference $($reference, |$a| $args)?),
            rust: $crate::registry::entry!(@rust $(|$rp, $ra| $rust)?),
            call: |p, a| {
                let mut p = p.iter();
                // SAFETY: the caller's addresses are valid for the buffers' counts.
                unsafe {
                    $name(
                        $($crate::Dtype::$dtype as i32,)?
                        $({
                            let _ = stringify!($buf);
                            *p.next().unwrap() as *mut _
                        },)*
                        $($crate::registry::scalar!(a, $arg)),*
                    )
                }
            },
        }
    };
}
pub(crate) use entry;
