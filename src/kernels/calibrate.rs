//! Calibration: for each unit (group, row or tensor), the parameters whose
//! forward pass is closest to its weights.
//!
//! The candidates are [`CANDIDATES`] fractions `i / 64` (`i = 1..=64`) of
//! the unit's min/max parameters, each scale rounded to bf16 (and at least
//! [`eps_scale`]): symmetric `s = (i / 64) * max|w| / Qp`, `Qp = max_v` (or
//! `-min_v` when `max_v < 1`); per group `s = (i / 64) * (hi - lo) / steps`,
//! `steps = 2^bit - 1`, with the offset at the middle of the range,
//! `o = (lo + hi) / 2`.
//! `i = 64` is min/max itself. Each candidate's error is the sum of
//! `(w - forward(w))^2` in the fixed order of [`squared_error`], the forward
//! pass computed by the backend exactly as the forward kernel does; the
//! smallest error wins, ties going to the smaller scale. So the result is the same bits on every
//! backend, and never worse than min/max.
//!
//! LSQ's rule instead (`Calibration::Lsq`): `s = 2 * mean|w| / sqrt(Qp)`,
//! per group with `o = mean(w)` and `mean|w - o|`, `Qp = 2^(bit - 1)`.
//!
//! Finite weights give finite parameters: a scale past the largest finite
//! bf16 is that value, `0x7F7F`, and a range `hi - lo` past f32's largest
//! is computed from the halves.

use super::asymmetric_per_group::AsymmetricConstants;
use super::asymmetric_per_group::Group;
use super::rows::Forward;
use super::symmetric::Row;
use super::symmetric::SymmetricConstants;
use super::tails::load_tail;
use crate::bf16_bits::{narrow, widen};
use crate::vector::{Data, Lanewise, Pair, Vector, LANES};
use core::marker::PhantomData;

/// Candidates per unit.
pub(crate) const CANDIDATES: usize = 64;

/// How calibration picks parameters.
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Calibration {
    /// The candidate with the smallest squared error of the forward pass.
    Search = 0,
    /// LSQ's initialisation, `2 * mean|w| / sqrt(Qp)`.
    Lsq = 1,
}

impl Calibration {
    /// The mode of this C value, if any.
    pub fn from_code(code: i32) -> Option<Calibration> {
        [Calibration::Search, Calibration::Lsq]
            .into_iter()
            .find(|m| *m as i32 == code)
    }
}

/// Arguments of the calibration kernels: `units` units of `len` weights
/// `T`; per group also an offset per unit.
pub(crate) struct CalibrateArgs<Q, T = u16> {
    pub weight: *const T,
    pub scale: *mut u16,
    /// Per group only (null for the symmetric quantizers).
    pub offset: *mut u16,
    pub units: usize,
    pub len: usize,
    pub quant: Q,
    pub mode: Calibration,
}

/// The smallest bf16 scale above `eps`: what a unit of zeros gets, and the
/// least any candidate is, so that the scale gradient's gate stays open.
/// (With `eps` at or past the largest finite bf16 there is none: then
/// that largest value, [`LARGEST_SCALE`].)
pub(crate) fn eps_scale(eps: f32) -> u16 {
    let bits = narrow(eps);
    let above = if widen(bits) > eps { bits } else { bits + 1 };
    above.min(LARGEST_SCALE)
}

/// The largest finite bf16, `0x7F7F` (about 3.39e38).
const LARGEST_SCALE: u16 = 0x7F7F;

/// A candidate scale: `value` rounded to bf16, at least [`eps_scale`] and
/// at most [`LARGEST_SCALE`] (finite weights near bf16's largest value
/// give ranges and means that round past it).
fn scale_bits(value: f32, eps: f32) -> u16 {
    let bits = narrow(value);
    if (0x7F80..0x8000).contains(&bits) {
        LARGEST_SCALE
    } else if widen(bits) > eps {
        bits
    } else {
        eps_scale(eps)
    }
}

/// `sqrt(k)` for an integer `1 <= k <= 2^24`, correctly rounded (as IEEE
/// `sqrt` is, which `core` does not offer): a Newton estimate, then the
/// neighbour nearest the root, chosen with exact integer arithmetic.
pub(crate) fn sqrt_of_integer(k: u32) -> f64 {
    let k = k.max(1);
    let mut y = f64::from(k);
    for _ in 0..64 {
        let next = 0.5 * (y + f64::from(k) / y);
        if next == y {
            break;
        }
        y = next;
    }
    // Step down while the root is below y's lower midpoint, up while above
    // its upper one (one step at most from the Newton estimate).
    for _ in 0..4 {
        let lower = f64::from_bits(y.to_bits() - 1);
        if root_below_upper_midpoint(lower, k) {
            y = lower;
        } else if !root_below_upper_midpoint(y, k) {
            y = f64::from_bits(y.to_bits() + 1);
        } else {
            break;
        }
    }
    y
}

/// Whether `sqrt(k)` lies below the midpoint between `y` and the next f64.
/// With `y = Y * 2^(e - 52)`, `2^52 <= Y < 2^53`, that midpoint is
/// `(2Y + 1) * 2^(e - 53)`, and the squares compare with `k * 2^(106 - 2e)`
/// exactly in u128 (at most 2^108). Not inlined: the 128-bit arithmetic is
/// long on a 32-bit core, and runs a few times per calibration.
#[inline(never)]
fn root_below_upper_midpoint(y: f64, k: u32) -> bool {
    let bits = y.to_bits();
    let e = ((bits >> 52) & 0x7FF) as i64 - 1023;
    let big = (bits & ((1 << 52) - 1)) | (1 << 52);
    let mid = u128::from(2 * big + 1);
    mid * mid > u128::from(k) << (106 - 2 * e)
}

/// The squared error of a unit's forward pass: per element `d = w - q` and
/// `d * d` in f32 (`q` the forward pass's bf16 output), summed in f64 in
/// eight lanes (element `i` in lane `i mod 8`, each lane in element order),
/// the lanes combined as `((l0 + l4) + (l2 + l6)) + ((l1 + l5) + (l3 + l7))`.
///
/// # Safety
/// `x` is valid for reading `len` elements; `token` proves `V`'s ISA.
#[inline(always)]
unsafe fn squared_error<V: Vector, P: Pair<V>, T: Data>(
    token: P::Token,
    x: *const T,
    len: usize,
    quantizer: &impl Lanewise,
    limit: Limit,
) -> f64 {
    let vector_token = P::vector_token(token);
    let mut sum = P::sum_zero(token);
    let mut i = 0;
    // Whole pairs where a pair's halves are its elements in memory order
    // (the backends that finish sums eight at a time, AVX-512): each half
    // then adds to the lanes its elements belong to.
    while P::SUMS_EIGHT_AT_ONCE && len - i >= 2 * LANES {
        let mut out = [T::default(); 2 * LANES];
        // SAFETY: 2 * LANES elements from i are in the unit (caller).
        let (w, q): (P, P) = unsafe {
            let w = T::load(token, x.add(i));
            T::store(quantizer.forward(w), out.as_mut_ptr());
            (w, T::load(token, out.as_ptr()))
        };
        let d = w.sub(q);
        let [first, second] = d.mul(d).split();
        sum = P::sum_add_vector(P::sum_add_vector(sum, first), second);
        i += 2 * LANES;
        if i % CHECK_EVERY == 0 && limit.exceeded(P::sum_lanes(sum)) {
            return f64::INFINITY;
        }
    }
    while i < len {
        let n = (len - i).min(LANES);
        let mut out = [T::default(); LANES];
        // SAFETY: n elements from i are in the unit (caller); a short tail
        // goes through the stack, and the output through a stack array.
        let (w, q) = unsafe {
            let w: V = if n == LANES {
                T::load(vector_token, x.add(i))
            } else {
                load_tail(vector_token, x.add(i), n)
            };
            // Through `apply`, which a backend may run lane by lane; then
            // stored as `T` and loaded back, as the forward kernel writes it.
            let forward = Forward(quantizer, PhantomData::<T>);
            T::store(V::apply(&forward, w), out.as_mut_ptr());
            (w, T::load(vector_token, out.as_ptr()))
        };
        let d = w.sub(q);
        let e = d.mul(d);
        sum = P::sum_add_vector(sum, if n == LANES { e } else { e.first(n) });
        i += n;
        if i % CHECK_EVERY == 0 && limit.exceeded(P::sum_lanes(sum)) {
            return f64::INFINITY;
        }
    }
    P::sum_lanes(sum)
}

/// The candidate scale with the smallest error, the smallest scale among
/// equal errors: the result of trying every candidate in turn. Min/max
/// (`i = 64`) goes first, so that a good error bounds the others early.
///
/// `quantizer_of(s)` only builds a candidate's quantizer: the work is in
/// [`squared_error`], called here and not from a closure, which would not
/// be compiled for the ISA.
///
/// # Safety
/// `x` is valid for reading `len` weights; `token` proves the ISA.
#[inline(always)]
unsafe fn search<V: Vector, P: Pair<V>, T: Data, Q: Lanewise>(
    token: P::Token,
    (x, len): (*const T, usize),
    eps: f32,
    min_max: f32,
    quantizer_of: impl Fn(u16) -> Q,
) -> u16 {
    macro_rules! error_of {
        ($s:expr, $limit:expr) => {
            // SAFETY: the caller's.
            unsafe { squared_error::<V, P, T>(token, x, len, &quantizer_of($s), $limit) }
        };
    }
    let candidate = |i: usize| scale_bits(min_max * (i as f32 / CANDIDATES as f32), eps);
    let first = candidate(CANDIDATES);
    let unbounded = Limit {
        best: f64::INFINITY,
        tie_loses: false,
    };
    let mut best = (error_of!(first, unbounded), first);
    for i in 1..CANDIDATES {
        let s = candidate(i);
        // A tie wins only for a smaller scale (candidates grow with i).
        let smaller = widen(s) < widen(best.1);
        let limit = Limit {
            best: best.0,
            tie_loses: !smaller,
        };
        let error = error_of!(s, limit);
        if error < best.0 || (error == best.0 && smaller) {
            best = (error, s);
        }
    }
    best.1
}

/// Elements between checks of a candidate's partial error against the best.
const CHECK_EVERY: usize = 32;

/// When a candidate can no longer win: its terms are never negative, so
/// its error only grows, and a partial sum past the best one's error (or
/// equal to it, for a larger scale, which loses a tie) settles it. The
/// search then gives what the full sums would.
#[derive(Clone, Copy)]
struct Limit {
    best: f64,
    /// Whether a tie with `best` still loses.
    tie_loses: bool,
}

impl Limit {
    #[inline(always)]
    fn exceeded(self, partial: f64) -> bool {
        partial > self.best || (self.tie_loses && partial == self.best)
    }
}

/// The finite weights' extremes and sums, in f64 and element order.
///
/// # Safety
/// `x` is valid for reading `len` elements.
unsafe fn statistics<T: Data>(x: *const T, len: usize) -> (f32, f32, f64) {
    let (mut lo, mut hi, mut sum) = (f32::INFINITY, f32::NEG_INFINITY, 0.0f64);
    for i in 0..len {
        // SAFETY: i < len (caller).
        let w = unsafe { x.add(i).read() }.widen();
        lo = if w < lo { w } else { lo };
        hi = if w > hi { w } else { hi };
        sum += f64::from(w);
    }
    (lo, hi, sum)
}

/// `mean |w - center|` in f64, element order.
///
/// # Safety
/// `x` is valid for reading `len` elements.
unsafe fn mean_deviation<T: Data>(x: *const T, len: usize, center: f64) -> f64 {
    let mut sum = 0.0f64;
    for i in 0..len {
        // SAFETY: i < len (caller).
        sum += (f64::from(unsafe { x.add(i).read() }.widen()) - center).abs();
    }
    if len == 0 {
        0.0
    } else {
        sum / len as f64
    }
}

/// Symmetric calibration, one scale per unit.
///
/// # Safety
/// The buffers hold `units` units of `len` finite weights and `units`
/// scales; `token` proves `V`'s ISA.
#[inline(always)]
pub(crate) unsafe fn symmetric<V: Vector, P: Pair<V>, T: Data>(
    token: P::Token,
    args: &CalibrateArgs<SymmetricConstants, T>,
) {
    let q = &args.quant;
    let levels = if q.max_v >= 1.0 { q.max_v } else { -q.min_v };
    let levels = if levels >= 1.0 { levels } else { 1.0 };
    for unit in 0..args.units {
        // SAFETY: unit < units (caller).
        let x = unsafe { args.weight.add(unit * args.len) };
        // SAFETY: the unit's weights (caller).
        let (lo, hi, _) = unsafe { statistics(x, args.len) };
        let largest = if -lo > hi { -lo } else { hi };
        let best = if args.len == 0 || largest == 0.0 {
            eps_scale(q.eps)
        } else if args.mode == Calibration::Lsq {
            // SAFETY: the unit's weights (caller).
            let mean = unsafe { mean_deviation(x, args.len, 0.0) };
            scale_bits((2.0 * mean / sqrt_of_integer(levels as u32)) as f32, q.eps)
        } else {
            let min_max = largest / levels;
            // SAFETY: the unit's weights (caller).
            unsafe {
                search::<V, P, T, _>(token, (x, args.len), q.eps, min_max, |s| {
                    Row::<false>::new::<T>(q, widen(s))
                })
            }
        };
        // SAFETY: unit < units (caller).
        unsafe { args.scale.add(unit).write(best) };
    }
}

/// Per-group calibration, a scale and an offset per group.
///
/// # Safety
/// As [`symmetric`], with `units` offsets too.
#[inline(always)]
pub(crate) unsafe fn asymmetric<V: Vector, P: Pair<V>, T: Data>(
    token: P::Token,
    args: &CalibrateArgs<AsymmetricConstants, T>,
) {
    let q = &args.quant;
    let steps = 2.0 * q.levels - 1.0;
    for unit in 0..args.units {
        // SAFETY: unit < units (caller).
        let x = unsafe { args.weight.add(unit * args.len) };
        // SAFETY: the unit's weights (caller).
        let (lo, hi, sum) = unsafe { statistics(x, args.len) };
        let (scale, offset) = if args.len == 0 {
            (eps_scale(q.eps), 0)
        } else if args.mode == Calibration::Lsq {
            let mean = sum / args.len as f64;
            let offset = narrow(mean as f32);
            // SAFETY: the unit's weights (caller).
            let spread = unsafe { mean_deviation(x, args.len, f64::from(widen(offset))) };
            (
                scale_bits(
                    (2.0 * spread / sqrt_of_integer(q.levels as u32)) as f32,
                    q.eps,
                ),
                offset,
            )
        } else {
            let offset = narrow(lo * 0.5 + hi * 0.5);
            // `hi - lo` overflows only beyond f32's largest value, where
            // halving both sides (exact there) keeps it finite.
            let range = hi - lo;
            let min_max = if range.is_finite() {
                range / steps
            } else {
                (hi * 0.5 - lo * 0.5) / (steps * 0.5)
            };
            let scale = if min_max > 0.0 {
                let group_of = |s: u16| Group::<false>::new(q, widen(s), widen(offset));
                // SAFETY: the unit's weights (caller).
                unsafe { search::<V, P, T, _>(token, (x, args.len), q.eps, min_max, group_of) }
            } else {
                eps_scale(q.eps)
            };
            (scale, offset)
        };
        // SAFETY: unit < units (caller).
        unsafe {
            args.scale.add(unit).write(scale);
            args.offset.add(unit).write(offset);
        }
    }
}

#[cfg(test)]
mod tests {
    extern crate std;

    #[test]
    fn integer_square_roots_are_correctly_rounded() {
        let mut k = 1u32;
        while k <= 1 << 24 {
            assert_eq!(
                super::sqrt_of_integer(k).to_bits(),
                std::primitive::f64::sqrt(f64::from(k)).to_bits(),
                "{k}"
            );
            k += if k < 1 << 16 { 1 } else { 997 };
        }
    }
}
