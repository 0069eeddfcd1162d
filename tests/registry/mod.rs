//! Every buffer-taking entry point of the C ABI, described once: its shape,
//! its buffers (element type, direction, count) and its parameters, with a
//! call through raw addresses. The adversarial tests (`tests/boundary.rs`)
//! drive all of them from this list, and hold them to [`expected`], a model
//! of the documented check order written from docs/validation.md, not from
//! the crate's code.
#![allow(dead_code, clippy::type_complexity)]

use qat_kernels::ffi::*;

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
}

impl Elem {
    pub fn size(self) -> usize {
        match self {
            Elem::Bf16 => 2,
            Elem::U8 | Elem::I8 => 1,
            Elem::F64 => 8,
            Elem::F32 | Elem::I32 => 4,
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
    /// `numel`, `rows` or `count`.
    pub a: usize,
    /// `group_size`, `cols` or `bits` (unused per tensor).
    pub b: usize,
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
        a: 0,
        b: 1,
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

pub struct EntryPoint {
    pub name: &'static str,
    pub role: Role,
    pub shape: Shape,
    pub params: Params,
    pub contents: Contents,
    pub calibration: bool,
    pub buffers: &'static [Buf],
    /// Calls it with these addresses (one per buffer, in order).
    pub call: unsafe fn(&[usize], &Args) -> i32,
}

const fn buf(name: &'static str, elem: Elem, output: bool, count: Count) -> Buf {
    Buf {
        name,
        elem,
        output,
        count,
    }
}

use Count::*;
use Elem::*;

const IN: bool = false;
const OUT: bool = true;

macro_rules! p {
    ($p:expr, $i:expr) => {
        $p[$i] as *mut _
    };
}

/// The C name of a scalar argument, as the field of [`Args`] that holds it.
macro_rules! scalar {
    ($a:ident, numel) => {
        $a.a
    };
    ($a:ident, rows) => {
        $a.a
    };
    ($a:ident, count) => {
        $a.a
    };
    ($a:ident, group_size) => {
        $a.b
    };
    ($a:ident, cols) => {
        $a.b
    };
    ($a:ident, bits) => {
        $a.b as u32
    };
    ($a:ident, $field:ident) => {
        $a.$field
    };
}

/// An entry point: its C function with its scalar arguments' names (as the
/// header names them, after its pointers), its role, shape, parameters,
/// contents check, whether it calibrates, and its buffers in the order of
/// its pointers. The call is derived: each buffer's address in turn, then
/// the scalars from [`Args`].
macro_rules! entry {
    (
        $name:ident($($arg:ident),* $(,)?),
        $role:expr,
        $shape:ident, $params:ident, $contents:ident, calibration: $calibration:expr,
        [$($buf:ident: $elem:ident $dir:ident $count:ident),* $(,)?]
    ) => {
        EntryPoint {
            name: stringify!($name),
            role: $role,
            shape: Shape::$shape,
            params: Params::$params,
            contents: Contents::$contents,
            calibration: $calibration,
            buffers: &[$(buf(stringify!($buf), $elem, $dir, $count)),*],
            call: |p, a| {
                let mut p = p.iter();
                // SAFETY: the caller's addresses are valid for the buffers' counts.
                unsafe {
                    $name(
                        $({
                            let _ = stringify!($buf);
                            *p.next().unwrap() as *mut _
                        },)*
                        $(scalar!(a, $arg)),*
                    )
                }
            },
        }
    };
}

pub static ENTRY_POINTS: &[EntryPoint] = &[
    entry! {
        qat_asymmetric_per_group(numel, group_size, bit, eps, clip_val),
        Role::Train,
        Group, Asymmetric, None, calibration: false,
        [
            weight: Bf16 IN All,
            scale: Bf16 IN Unit,
            offset: Bf16 IN Unit,
            out: Bf16 OUT All,
        ]
    },
    entry! {
        qat_asymmetric_per_group_backward(numel, group_size, bit, eps, clip_val),
        Role::Train,
        Group, Asymmetric, None, calibration: false,
        [
            grad_output: Bf16 IN All,
            weight: Bf16 IN All,
            scale: Bf16 IN Unit,
            offset: Bf16 IN Unit,
            grad_weight: Bf16 OUT All,
            grad_scale: Bf16 OUT Unit,
            grad_offset: Bf16 OUT Unit,
        ]
    },
    entry! {
        qat_symmetric_per_channel(rows, cols, eps, min_v, max_v),
        Role::Train,
        Matrix, Symmetric, None, calibration: false,
        [
            weight: Bf16 IN All,
            scale: Bf16 IN Unit,
            out: Bf16 OUT All,
        ]
    },
    entry! {
        qat_symmetric_per_channel_backward(rows, cols, eps, min_v, max_v),
        Role::Train,
        Matrix, Symmetric, None, calibration: false,
        [
            grad_output: Bf16 IN All,
            weight: Bf16 IN All,
            scale: Bf16 IN Unit,
            grad_weight: Bf16 OUT All,
            grad_scale: Bf16 OUT Unit,
        ]
    },
    entry! {
        qat_symmetric_per_tensor(numel, eps, min_v, max_v),
        Role::Train,
        Tensor, Symmetric, None, calibration: false,
        [
            weight: Bf16 IN All,
            scale: Bf16 IN Unit,
            out: Bf16 OUT All,
        ]
    },
    entry! {
        qat_symmetric_per_tensor_backward(numel, eps, min_v, max_v),
        Role::Train,
        Tensor, Symmetric, None, calibration: false,
        [
            grad_output: Bf16 IN All,
            weight: Bf16 IN All,
            scale: Bf16 IN Unit,
            grad_weight: Bf16 OUT All,
            grad_scale: Bf16 OUT Unit,
        ]
    },
    entry! {
        qat_asymmetric_per_group_quantize(numel, group_size, bit, eps, clip_val),
        Role::Quantize { forward: "qat_asymmetric_per_group", dequantize: "qat_asymmetric_per_group_dequantize" },
        Group, AsymmetricCodes, Finite, calibration: false,
        [
            weight: Bf16 IN All,
            scale: Bf16 IN Unit,
            offset: Bf16 IN Unit,
            codes: U8 OUT All,
        ]
    },
    entry! {
        qat_asymmetric_per_group_dequantize(numel, group_size, bit, eps, clip_val),
        Role::Dequantize,
        Group, AsymmetricCodes, Codes, calibration: false,
        [
            codes: U8 IN All,
            scale: Bf16 IN Unit,
            offset: Bf16 IN Unit,
            out: Bf16 OUT All,
        ]
    },
    entry! {
        qat_symmetric_per_channel_quantize(rows, cols, eps, min_v, max_v),
        Role::Quantize { forward: "qat_symmetric_per_channel", dequantize: "qat_symmetric_per_channel_dequantize" },
        Matrix, SymmetricCodes, Finite, calibration: false,
        [
            weight: Bf16 IN All,
            scale: Bf16 IN Unit,
            codes: I8 OUT All,
        ]
    },
    entry! {
        qat_symmetric_per_channel_dequantize(rows, cols, eps, min_v, max_v),
        Role::Dequantize,
        Matrix, SymmetricCodes, Codes, calibration: false,
        [
            codes: I8 IN All,
            scale: Bf16 IN Unit,
            out: Bf16 OUT All,
        ]
    },
    entry! {
        qat_symmetric_per_tensor_quantize(numel, eps, min_v, max_v),
        Role::Quantize { forward: "qat_symmetric_per_tensor", dequantize: "qat_symmetric_per_tensor_dequantize" },
        Tensor, SymmetricCodes, Finite, calibration: false,
        [
            weight: Bf16 IN All,
            scale: Bf16 IN Unit,
            codes: I8 OUT All,
        ]
    },
    entry! {
        qat_symmetric_per_tensor_dequantize(numel, eps, min_v, max_v),
        Role::Dequantize,
        Tensor, SymmetricCodes, Codes, calibration: false,
        [
            codes: I8 IN All,
            scale: Bf16 IN Unit,
            out: Bf16 OUT All,
        ]
    },
    entry! {
        qat_asymmetric_per_group_backward_blocks(numel, group_size, bit, eps, clip_val),
        Role::Blocks { backward: "qat_asymmetric_per_group_backward", finish: "qat_asymmetric_per_group_finish" },
        Group, Asymmetric, None, calibration: false,
        [
            grad_output: Bf16 IN All,
            weight: Bf16 IN All,
            scale: Bf16 IN Unit,
            offset: Bf16 IN Unit,
            grad_weight: Bf16 OUT All,
            block_sums: F64 OUT Blocks,
        ]
    },
    entry! {
        qat_symmetric_per_channel_backward_blocks(rows, cols, eps, min_v, max_v),
        Role::Blocks { backward: "qat_symmetric_per_channel_backward", finish: "qat_symmetric_per_channel_finish" },
        Matrix, Symmetric, None, calibration: false,
        [
            grad_output: Bf16 IN All,
            weight: Bf16 IN All,
            scale: Bf16 IN Unit,
            grad_weight: Bf16 OUT All,
            block_sums: F64 OUT Blocks,
        ]
    },
    entry! {
        qat_symmetric_per_tensor_backward_blocks(numel, eps, min_v, max_v),
        Role::Blocks { backward: "qat_symmetric_per_tensor_backward", finish: "qat_symmetric_per_tensor_finish" },
        Tensor, Symmetric, None, calibration: false,
        [
            grad_output: Bf16 IN All,
            weight: Bf16 IN All,
            scale: Bf16 IN Unit,
            grad_weight: Bf16 OUT All,
            block_sums: F64 OUT Blocks,
        ]
    },
    entry! {
        qat_asymmetric_per_group_finish(numel, group_size, bit, eps, clip_val),
        Role::Finish,
        Group, Asymmetric, None, calibration: false,
        [
            block_sums: F64 IN Blocks,
            scale: Bf16 IN Unit,
            grad_scale: Bf16 OUT Unit,
            grad_offset: Bf16 OUT Unit,
        ]
    },
    entry! {
        qat_symmetric_per_channel_finish(rows, cols, eps, min_v, max_v),
        Role::Finish,
        Matrix, Symmetric, None, calibration: false,
        [
            block_sums: F64 IN Blocks,
            scale: Bf16 IN Unit,
            grad_scale: Bf16 OUT Unit,
        ]
    },
    entry! {
        qat_symmetric_per_tensor_finish(numel, eps, min_v, max_v),
        Role::Finish,
        Tensor, Symmetric, None, calibration: false,
        [
            block_sums: F64 IN Blocks,
            scale: Bf16 IN Unit,
            grad_scale: Bf16 OUT Unit,
        ]
    },
    entry! {
        qat_asymmetric_per_group_calibrate(numel, group_size, bit, eps, clip_val, mode),
        Role::Calibrate,
        Group, Asymmetric, Finite, calibration: true,
        [
            weight: Bf16 IN All,
            scale: Bf16 OUT Unit,
            offset: Bf16 OUT Unit,
        ]
    },
    entry! {
        qat_symmetric_per_channel_calibrate(rows, cols, eps, min_v, max_v, mode),
        Role::Calibrate,
        Matrix, Symmetric, Finite, calibration: true,
        [
            weight: Bf16 IN All,
            scale: Bf16 OUT Unit,
        ]
    },
    entry! {
        qat_symmetric_per_tensor_calibrate(numel, eps, min_v, max_v, mode),
        Role::Calibrate,
        Tensor, Symmetric, Finite, calibration: true,
        [
            weight: Bf16 IN All,
            scale: Bf16 OUT Unit,
        ]
    },
    EntryPoint {
        name: "qat_pack_codes",
        role: Role::Pack {
            unpack: "qat_unpack_codes",
        },
        shape: Shape::Pack,
        params: Params::Width,
        contents: Contents::Codes,
        calibration: false,
        buffers: &[buf("codes", U8, IN, Codes), buf("packed", U8, OUT, Packed)],
        call: |p, a| unsafe { qat_pack_codes(p!(p, 0), a.a, a.b as u32, p!(p, 1)) },
    },
    EntryPoint {
        name: "qat_unpack_codes",
        role: Role::Unpack,
        shape: Shape::Pack,
        params: Params::Width,
        contents: Contents::None,
        calibration: false,
        buffers: &[buf("packed", U8, IN, Packed), buf("codes", U8, OUT, Codes)],
        call: |p, a| unsafe { qat_unpack_codes(p!(p, 0), a.a, a.b as u32, p!(p, 1)) },
    },
    EntryPoint {
        name: "qat_pack_signed_codes",
        role: Role::Pack {
            unpack: "qat_unpack_signed_codes",
        },
        shape: Shape::Pack,
        params: Params::Width,
        contents: Contents::Codes,
        calibration: false,
        buffers: &[buf("codes", I8, IN, Codes), buf("packed", U8, OUT, Packed)],
        call: |p, a| unsafe { qat_pack_signed_codes(p!(p, 0), a.a, a.b as u32, p!(p, 1)) },
    },
    EntryPoint {
        name: "qat_unpack_signed_codes",
        role: Role::Unpack,
        shape: Shape::Pack,
        params: Params::Width,
        contents: Contents::None,
        calibration: false,
        buffers: &[buf("packed", U8, IN, Packed), buf("codes", I8, OUT, Codes)],
        call: |p, a| unsafe { qat_unpack_signed_codes(p!(p, 0), a.a, a.b as u32, p!(p, 1)) },
    },
    entry! {
        qat_per_token_asymmetric(rows, cols, bit, eps),
        Role::Train,
        Matrix, Token, None, calibration: false,
        [
            input: Bf16 IN All,
            out: Bf16 OUT All,
            scale: F32 OUT Unit,
            zero_point: I32 OUT Unit,
        ]
    },
    entry! {
        qat_per_token_symmetric(rows, cols, bit, eps),
        Role::Train,
        Matrix, Token, None, calibration: false,
        [
            input: Bf16 IN All,
            out: Bf16 OUT All,
            scale: F32 OUT Unit,
            zero_point: I32 OUT Unit,
        ]
    },
    entry! {
        qat_per_token_backward(rows, cols, bit),
        Role::Train,
        Matrix, TokenBits, None, calibration: false,
        [
            grad_output: Bf16 IN All,
            input: Bf16 IN All,
            scale: F32 IN Unit,
            zero_point: I32 IN Unit,
            grad_input: Bf16 OUT All,
        ]
    },
];

pub const OK: i32 = 0;
pub const POINTER: i32 = 1;
pub const SHAPE: i32 = 2;
pub const BIT_WIDTH: i32 = 3;
pub const EPS: i32 = 4;
pub const CLIP: i32 = 5;
pub const RANGE: i32 = 6;
pub const OVERLAP: i32 = 7;
pub const NON_FINITE: i32 = 9;
pub const CODE: i32 = 10;
pub const MODE: i32 = 11;

/// `PTRDIFF_MAX`: the largest object, in bytes.
const MAX_BYTES: u128 = isize::MAX as u128;

impl EntryPoint {
    /// The element count of each buffer for these sizes, exactly (`None`
    /// where the shape itself is invalid: a zero or non-dividing group).
    pub fn counts(&self, a: &Args) -> Option<Vec<u128>> {
        let (x, y) = (a.a as u128, a.b as u128);
        let (all, units, len) = match self.shape {
            Shape::Group => {
                if y == 0 || x % y != 0 {
                    return None;
                }
                (x, x / y, y)
            }
            Shape::Matrix => (x * y, x, y),
            Shape::Tensor => (x, 1, x),
            Shape::Pack => (x, 0, 0),
        };
        let packed = (x * y).div_ceil(8);
        Some(
            self.buffers
                .iter()
                .map(|b| match b.count {
                    All => all,
                    Unit => units,
                    Blocks => units * 2 * len.div_ceil(4096),
                    Codes => x,
                    Packed => packed,
                })
                .collect(),
        )
    }

    /// The status docs/validation.md gives a call, up to its contents:
    /// `OK` for a call whose arguments all pass, whose contents the
    /// entry point may still refuse (see [`EntryPoint::contents`]).
    pub fn expected(&self, a: &Args, pointers: &[usize]) -> i32 {
        // Checked before the shape: packing's width (the packed length
        // depends on it), calibration's mode.
        if self.params == Params::Width && ![1, 2, 4, 8].contains(&a.b) {
            return BIT_WIDTH;
        }
        if self.calibration && !(a.mode == 0 || a.mode == 1) {
            return MODE;
        }
        // 1. Shape: every element count within the largest object in
        //    bf16 (`numel`, `rows`), and every buffer's bytes.
        let Some(counts) = self.counts(a) else {
            return SHAPE;
        };
        let bf16_count = |n: u128| n * 2 <= MAX_BYTES;
        let numel_ok = match self.shape {
            Shape::Group | Shape::Tensor => bf16_count(a.a as u128),
            Shape::Matrix => bf16_count(a.a as u128) && bf16_count(a.a as u128 * a.b as u128),
            Shape::Pack => (a.a as u128) <= MAX_BYTES,
        };
        let bytes: Vec<u128> = counts
            .iter()
            .zip(self.buffers)
            .map(|(&n, b)| n.saturating_mul(b.elem.size() as u128))
            .collect();
        if !numel_ok || bytes.iter().any(|&n| n > MAX_BYTES) {
            return SHAPE;
        }
        // 2. Pointers.
        for ((&p, &n), b) in pointers.iter().zip(&bytes).zip(self.buffers) {
            let size = b.elem.size();
            if (p == 0 && n != 0) || p % size != 0 || p as u128 + n > usize::MAX as u128 {
                return POINTER;
            }
        }
        // 3. Parameters.
        if let Some(status) = self.parameter_error(a) {
            return status;
        }
        // 4. Overlap: an output meets another buffer other than as exactly
        //    an input of the same length and type size.
        for i in 0..pointers.len() {
            for j in i + 1..pointers.len() {
                let (bi, bj) = (self.buffers[i], self.buffers[j]);
                if !(bi.output || bj.output) || bytes[i] == 0 || bytes[j] == 0 {
                    continue;
                }
                let (pi, pj) = (pointers[i] as u128, pointers[j] as u128);
                let disjoint = pi + bytes[i] <= pj || pj + bytes[j] <= pi;
                let in_place = pi == pj
                    && counts[i] == counts[j]
                    && bi.elem.size() == bj.elem.size()
                    && bi.output != bj.output;
                if !disjoint && !in_place {
                    return OVERLAP;
                }
            }
        }
        OK
    }

    fn parameter_error(&self, a: &Args) -> Option<i32> {
        let eps_ok = a.eps.is_finite() && a.eps > 0.0;
        match self.params {
            Params::Width => None,
            Params::Token | Params::TokenBits => {
                if !(2..=8).contains(&a.bit) {
                    Some(BIT_WIDTH)
                } else if self.params == Params::Token && !eps_ok {
                    Some(EPS)
                } else {
                    None
                }
            }
            Params::Asymmetric | Params::AsymmetricCodes => {
                let widest = if self.params == Params::AsymmetricCodes {
                    8
                } else {
                    16
                };
                if !(1..=widest).contains(&a.bit) {
                    Some(BIT_WIDTH)
                } else if !eps_ok {
                    Some(EPS)
                } else if !clip_keeps_the_grid(a.clip_val, a.bit) {
                    Some(CLIP)
                } else {
                    None
                }
            }
            Params::Symmetric | Params::SymmetricCodes => {
                let (lo, hi) = if self.params == Params::SymmetricCodes {
                    (-128.0, 127.0)
                } else {
                    (-16_777_216.0, 16_777_216.0)
                };
                let level = |v: f32| v.is_finite() && v.fract() == 0.0 && (lo..=hi).contains(&v);
                if !eps_ok {
                    Some(EPS)
                } else if !(level(a.min_v) && level(a.max_v) && a.min_v <= a.max_v) {
                    Some(RANGE)
                } else {
                    None
                }
            }
        }
    }

    /// The status a call's contents may add after all its arguments pass.
    pub fn content_error(&self) -> Option<i32> {
        match self.contents {
            Contents::None => None,
            Contents::Finite => Some(NON_FINITE),
            Contents::Codes => Some(CODE),
        }
    }
}

/// docs/validation.md: `0 < clip_val < 1`, finite, and the extreme levels
/// `round(±clip_val * n - 0.5)` (the subtraction rounded to f32) inside
/// `-n..n-1`. Computed in f64, where `clip_val * n - 0.5` is exact, then
/// rounded to f32 once.
pub fn clip_keeps_the_grid(clip_val: f32, bit: u32) -> bool {
    if !(clip_val.is_finite() && clip_val > 0.0 && clip_val < 1.0) {
        return false;
    }
    let n = f64::from(1u32 << (bit - 1));
    let bound = f64::from(clip_val) * n;
    let lowest = ((-bound - 0.5) as f32).round_ties_even();
    let highest = ((bound - 0.5) as f32).round_ties_even();
    f64::from(lowest) >= -n && f64::from(highest) <= n - 1.0
}

/// Sizes every entry point accepts, with tails on every path: groups of
/// 33, rows of 37, a tensor of 4,103 elements, 101 packed codes.
pub fn typical_args(ep: &EntryPoint) -> Args {
    let (a, b) = match ep.shape {
        Shape::Group => (4 * 33, 33),
        Shape::Matrix => (3, 37),
        Shape::Tensor => (4103, 0),
        Shape::Pack => (101, 4),
    };
    Args {
        a,
        b,
        ..Args::DEFAULT
    }
}

/// Buffers for a call with `args` whose contents pass every check: bf16
/// values between 2^-7 and 2^-5 of either sign or subnormal, codes 0 and 1
/// (signed: 0 and -1), block values of moderate size. Each an 8-aligned
/// vector.
pub fn valid_buffers(ep: &EntryPoint, args: &Args, seed: u64) -> Vec<Vec<u64>> {
    let mut state = seed;
    let mut next = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        state >> 33
    };
    let counts = ep.counts(args).expect("a valid shape");
    counts
        .iter()
        .zip(ep.buffers)
        .map(|(&n, buf)| {
            let n = n as usize;
            let bytes: Vec<u8> = match buf.elem {
                // One in five subnormal, so that a flushing environment
                // would show.
                Elem::Bf16 => (0..n)
                    .flat_map(|_| {
                        let v = if next() % 5 == 0 { 0 } else { 0x3C00 };
                        (v | (next() as u16 & 0x80FF)).to_le_bytes()
                    })
                    .collect(),
                Elem::U8 => (0..n).map(|_| (next() & 1) as u8).collect(),
                Elem::I8 => (0..n).map(|_| (next() & 1) as u8 * 0xFF).collect(),
                Elem::F64 => (0..n)
                    .flat_map(|_| ((next() % 1000) as f64 / 997.0 - 0.5).to_le_bytes())
                    .collect(),
                // Per-token scales and zero points.
                Elem::F32 => (0..n)
                    .flat_map(|_| ((next() % 1000) as f32 / 64_000.0 + 1e-4).to_le_bytes())
                    .collect(),
                Elem::I32 => (0..n)
                    .flat_map(|_| ((next() % 16) as i32 - 8).to_le_bytes())
                    .collect(),
            };
            let mut words = vec![0u64; bytes.len().div_ceil(8).max(1)];
            // SAFETY: the vector holds at least `bytes.len()` bytes.
            unsafe {
                std::ptr::copy_nonoverlapping(
                    bytes.as_ptr(),
                    words.as_mut_ptr().cast(),
                    bytes.len(),
                )
            };
            words
        })
        .collect()
}

/// The buffers' addresses, for [`EntryPoint::call`].
pub fn addresses(buffers: &mut [Vec<u64>]) -> Vec<usize> {
    buffers
        .iter_mut()
        .map(|b| b.as_mut_ptr() as usize)
        .collect()
}
