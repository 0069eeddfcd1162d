//! The registry of C entry points (`qat_kernels::registry`, each
//! quantizer's beside its C functions) as the tests use it: every entry
//! point in one list, and the model they are held to: [`Model::expected`],
//! the documented check order written from docs/validation.md, not from
//! the crate's code.
#![allow(dead_code, clippy::type_complexity)]

use std::sync::LazyLock;

pub use qat_kernels::entry_points;
pub use qat_kernels::registry::Count::*;
#[allow(unused_imports)]
pub use qat_kernels::registry::Elem::*;
pub use qat_kernels::registry::*;

/// Every entry point, quantizer by quantizer.
pub static ENTRY_POINTS: LazyLock<Vec<&'static EntryPoint>> =
    LazyLock::new(|| entry_points().collect());

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

/// The model of an entry point's documented behaviour.
pub trait Model {
    fn counts(&self, a: &Args) -> Option<Vec<u128>>;
    fn expected(&self, a: &Args, pointers: &[usize]) -> i32;
    fn parameter_error(&self, a: &Args) -> Option<i32>;
    fn content_error(&self) -> Option<i32>;
}

impl Model for EntryPoint {
    /// The element count of each buffer for these sizes, exactly (`None`
    /// where the shape itself is invalid: a zero or non-dividing group).
    fn counts(&self, a: &Args) -> Option<Vec<u128>> {
        let (x, y) = (a.sizes[0] as u128, a.sizes[1] as u128);
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
    fn expected(&self, a: &Args, pointers: &[usize]) -> i32 {
        // Checked before the shape: packing's width (the packed length
        // depends on it), calibration's mode.
        if self.params == Params::Width && ![1, 2, 4, 8].contains(&a.sizes[1]) {
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
            Shape::Group | Shape::Tensor => bf16_count(a.sizes[0] as u128),
            Shape::Matrix => {
                bf16_count(a.sizes[0] as u128)
                    && bf16_count(a.sizes[0] as u128 * a.sizes[1] as u128)
            }
            Shape::Pack => (a.sizes[0] as u128) <= MAX_BYTES,
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
    fn content_error(&self) -> Option<i32> {
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

/// Sizes every entry point accepts, with tails on every backend: groups of
/// 33, rows of 37, a tensor of 4,103 elements, 101 packed codes.
pub fn typical_args(ep: &EntryPoint) -> Args {
    let sizes = match ep.shape {
        Shape::Group => [4 * 33, 33],
        Shape::Matrix => [3, 37],
        Shape::Tensor => [4103, 0],
        Shape::Pack => [101, 4],
    };
    Args {
        sizes,
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
                // binary16 data: the same, between 2^-7 and 2^-5.
                Elem::F16 => (0..n)
                    .flat_map(|_| {
                        let v = if next() % 5 == 0 { 0 } else { 0x2000 };
                        (v | (next() as u16 & 0x83FF)).to_le_bytes()
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
