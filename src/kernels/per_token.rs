//! Dynamic per-token fake quantization of activations: each row (a token)
//! of a `rows x cols` activation takes its scale and zero point from its own
//! values, then is fake-quantized on the signed grid `qmin..=qmax`, `qmin =
//! -2^(bit-1)`, `qmax = 2^(bit-1) - 1`. In f32, one operation at a time:
//!
//! ```text
//! lo, hi  = min(x), max(x)             (exact; both NaN if any x is NaN;
//!                                       both 0 for an empty row)
//! min_neg = min(lo, 0);  max_pos = max(hi, 0)
//! asymmetric: s  = max((max_pos - min_neg) / (qmax - qmin), eps)
//!             zp = clip(qmin - round(min_neg / s), qmin, qmax)
//! symmetric:  s  = max(max(-min_neg, max_pos) / ((qmax - qmin) / 2), eps)
//!             zp = 0
//! r   = round(x / s) + zp
//! out = (clip(r, qmin, qmax) - zp) * s
//! ```
//! and backward, the straight-through estimator: `grad_input = g * mask`,
//! `mask = 1` where `qmin <= r <= qmax` (NaN where `x` is NaN, which
//! propagates as everywhere else). The scale is written as f32, the zero
//! point as i32 (0 for a row with a NaN), so that a runtime can check or
//! reuse them; backward reads them back.

use super::rows::{backward_rows, map_rows, Forward, NoSums};
use super::{protect, PerTokenArgs, PerTokenBackwardArgs};
use core::marker::PhantomData;

use crate::kernels::scan::elements;
use crate::vector::{Data, Divisor, Element, Lanes, Lanewise, Pair, Vector};

/// The grid and the scale's lower bound, validated.
#[derive(Clone, Copy)]
pub(crate) struct TokenConstants {
    pub qmin: f32,
    pub qmax: f32,
    pub eps: f32,
    /// Whether to divide by reciprocal ([`crate::Division`]), read once
    /// per call (read by the SIMD backends' dispatch).
    #[cfg(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64"))]
    pub reciprocal: bool,
}

/// An f32 bit pattern's key in the order of values: keys compare as the
/// values do (`-0` just below `+0`), with NaNs beyond the infinity of their
/// sign.
#[inline(always)]
fn key(bits: u32) -> u32 {
    if bits & 0x8000_0000 != 0 {
        !bits
    } else {
        bits | 0x8000_0000
    }
}

/// The value whose key this is.
#[inline(always)]
fn value_of(key: u32) -> f32 {
    f32::from_bits(if key & 0x8000_0000 != 0 {
        key & 0x7FFF_FFFF
    } else {
        !key
    })
}

/// A row's least and greatest values, exactly: an integer reduction over
/// the values' keys (each value widened to f32, which is exact), so the same
/// on every backend and in any order (a plain loop, which each backend's
/// compiler vectorizes). Both NaN if a value is NaN; both 0 for an empty
/// row.
#[inline(always)]
fn extremes<T: Data>(row: &[T]) -> (f32, f32) {
    if row.is_empty() {
        return (0.0, 0.0);
    }
    let (low, high) = row.iter().fold((u32::MAX, 0), |(low, high), &x| {
        let k = key(x.widen().to_bits());
        (low.min(k), high.max(k))
    });
    // Keys past those of the infinities belong to NaNs.
    if low < key(0xFF80_0000) || high > key(0x7F80_0000) {
        return (f32::NAN, f32::NAN);
    }
    (value_of(low), value_of(high))
}

/// One row's scale and zero point.
#[derive(Clone, Copy)]
pub(crate) struct Token<const R: bool = false> {
    /// The scale `s`, the divisor of `x / s` (by reciprocal where `R`).
    scale: Divisor<R>,
    zero_point: f32,
    qmin: f32,
    qmax: f32,
}

impl<const R: bool> Token<R> {
    /// The row's parameters, asymmetric or symmetric, from its extremes.
    #[inline(always)]
    fn of_row<T: Data>(grid: &TokenConstants, row: &[T], symmetric: bool) -> Token<R> {
        let (lo, hi) = extremes(row);
        // The lanes' NaN-propagating `min`, `max` and `round`, on scalars.
        let min_neg = Lanes::min(lo, 0.0);
        let max_pos = Lanes::max(hi, 0.0);
        let steps = grid.qmax - grid.qmin;
        let (scale, zero_point) = if symmetric {
            let largest = Lanes::max(-min_neg, max_pos);
            (protect(largest / (steps / 2.0), grid.eps), 0.0)
        } else {
            let scale = protect((max_pos - min_neg) / steps, grid.eps);
            let zp = grid.qmin - Lanes::round(min_neg / scale);
            (scale, Lanes::min(Lanes::max(zp, grid.qmin), grid.qmax))
        };
        // One NaN for every row that has one (negating `min_neg` would
        // otherwise set its sign).
        let scale = if scale.is_nan() { f32::NAN } else { scale };
        Token::new::<T>(grid, scale, zero_point)
    }

    /// The row of this scale and zero point, for values of type `T`.
    #[inline(always)]
    fn new<T: Element>(grid: &TokenConstants, scale: f32, zero_point: f32) -> Token<R> {
        Token {
            scale: Divisor::new(scale, T::NARROW),
            zero_point,
            qmin: grid.qmin,
            qmax: grid.qmax,
        }
    }

    /// `(r, clip(r))` for `q = x / s`.
    #[inline(always)]
    fn level<V: Lanes>(&self, q: V) -> (V, V) {
        let r = q.round().add(q.splat_as(self.zero_point));
        (r, r.max(r.splat_as(self.qmin)).min(r.splat_as(self.qmax)))
    }
}

impl<const R: bool> Lanewise for Token<R> {
    #[inline(always)]
    fn forward<L: Lanes>(&self, x: L) -> L {
        self.value(self.code(x))
    }

    /// `clip(r)`, the level on the grid.
    #[inline(always)]
    fn code<L: Lanes>(&self, x: L) -> L {
        self.level(self.normalize(x)).1
    }

    #[inline(always)]
    fn value<L: Lanes>(&self, code: L) -> L {
        code.sub(code.splat_as(self.zero_point))
            .mul(code.splat_as(self.scale.value()))
    }

    #[inline(always)]
    fn normalize<L: Lanes>(&self, x: L) -> L {
        x.divide(&self.scale)
    }

    /// The weight gradient only: no sums (the parameters are not learned).
    #[inline(always)]
    fn backward_normalized<L: Lanes>(&self, g: L, q: L) -> [L; 3] {
        let (r, c) = self.level(q);
        let zero = g.splat_as(0.0);
        [g.mul(r.one_where_equal(c)), zero, zero]
    }
}

/// The forward pass, asymmetric or symmetric (`args.symmetric`, one kernel
/// for both: the mappings differ in a few scalar operations per row): each
/// row's parameters, then the row, which is read twice (from the cache the
/// second time, for rows that fit).
///
/// # Safety
/// The buffers hold `units` rows of `len` values, and `units` scales and
/// zero points; input and output are one buffer or do not overlap.
#[inline(always)]
pub(crate) unsafe fn forward<V: Vector, P: Pair<V>, const R: bool, T: Data>(
    token: P::Token,
    args: &PerTokenArgs<T>,
) {
    let row_of = |k: usize| {
        // SAFETY: row k is in the input (caller; with no columns the slice
        // is empty, whatever the pointer); nothing writes it while this
        // slice lives (the output row is written after).
        let row = unsafe { elements(args.input.add(k * args.len), args.len) };
        let t = Token::<R>::of_row(&args.quant, row, args.symmetric);
        // SAFETY: k < units (caller).
        unsafe {
            args.scale.add(k).write(t.scale.value());
            args.zero_point.add(k).write(t.zero_point as i32);
        }
        Forward(t, PhantomData::<T>)
    };
    let buffers = (args.input, args.output);
    // SAFETY: the buffers hold `units` rows (caller).
    unsafe { map_rows::<V, P, _>(token, buffers, args.units, args.len, row_of) }
}

/// The backward pass, from the scales and zero points the forward pass
/// wrote.
///
/// # Safety
/// The buffers hold `units` rows of `len` values and `units` scales and
/// zero points; the input gradient is one of the inputs or overlaps
/// neither.
#[inline(always)]
pub(crate) unsafe fn backward<V: Vector, P: Pair<V>, const R: bool, T: Data>(
    token: P::Token,
    args: &PerTokenBackwardArgs<T>,
) {
    let row_of = |k: usize| {
        // SAFETY: k < units (caller).
        let (scale, zero_point) =
            unsafe { (args.scale.add(k).read(), args.zero_point.add(k).read()) };
        (
            Token::<R>::new::<T>(&args.quant, scale, zero_point as f32),
            (),
        )
    };
    let buffers = (args.grad_output, args.input, args.grad_input);
    // SAFETY: the buffers hold `units` rows (caller).
    unsafe {
        backward_rows::<V, P, T, _, _, _>(
            token,
            buffers,
            args.units,
            args.len,
            row_of,
            |_| NoSums,
            |_, _, _| {},
        )
    }
}
