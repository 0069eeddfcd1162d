//! The quantizers, written once against [`Vector`], and the two loops that
//! drive them over a row.
//!
//! Everything here works on raw pointers because the C ABI lets an output be
//! the very buffer of an input (in-place calls), which references cannot
//! express. The validation in `api` establishes, before any kernel runs, the
//! contract every `unsafe fn` here states: each pointer is valid for its
//! length, and two buffers that overlap are one and the same buffer, with the
//! same length. Every loop reads an element's inputs before it writes that
//! element's outputs and never returns to an element, so such aliasing is safe.
//!
//! # Reduction order
//!
//! This order is part of the contract: every backend follows it, so sums are
//! bit-identical across backends. A sum over f32 terms `t[0..n]` (one group or
//! one row, in memory order) is formed like this:
//!
//! 1. The terms are cut into blocks of [`BLOCK`] consecutive terms (the last one
//!    may be shorter), each block into vectors of 8 consecutive terms (the last
//!    one zero-padded), and the vectors of a block into octets of 8 consecutive
//!    vectors `v0..v7` (the last octet padded with zero vectors). Every term is
//!    first multiplied by [`TERM_SCALE`] (1/8) in f32.
//! 2. In a block, lane `l` (0..8) first forms in f32 the octet sum
//!    `((v0 + v4) + (v2 + v6)) + ((v1 + v5) + (v3 + v7))` of the lane-`l`
//!    scaled terms of an octet, then adds it, widened to f64, to its f64
//!    accumulator, which starts at `+0.0`, octet after octet. The block's
//!    value is `((l0 + l4) + (l2 + l6)) + ((l1 + l5) + (l3 + l7))` in f64,
//!    multiplied by 8.
//! 3. Block values are added in order with Neumaier's compensated summation in
//!    f64 (the compensation skipped when the running sum is not finite), and the
//!    result `sum + compensation` is rounded once to f32.
//!
//! The scaling keeps every f32 partial sum of finite terms finite (eight terms
//! of at most f32's largest value, each divided by 8), so an infinite or NaN
//! result comes only from infinite or NaN terms, as in the exact sum. It is
//! exact except for terms below 2^-123 in magnitude, whose lowest bits it may
//! round away (at most 2^-147 each, in the terms' units).
//!
//! Accuracy: an octet sum is three f32 roundings, at most about 3 * 2^-24 of
//! its terms' magnitudes; the f64 lane and block sums add about 2^-46 of the
//! magnitudes, and the compensation keeps that from growing with the number
//! of blocks; the final rounding to f32 adds 2^-24 of the result. The total
//! exceeds SPEC's `2^-22 * sum(|terms|)` only where the result is nearly
//! `sum(|terms|)`, and there the result's bf16 ulp, SPEC's other allowance, is
//! far larger. So every sum is inside the SPEC bound whatever its length
//! (sums made mostly of terms below 2^-123 aside, by the scaling's rounding).
//!
//! Why octets: the widening to f64 dominates a backward kernel's reduction
//! cost, and octets widen one vector in eight; a 16-lane backend forms
//! `[v0 + v4, v1 + v5]` in one instruction. A fourth f32 level would take the
//! worst case past SPEC's bound.

pub(crate) mod asymmetric_per_group;
pub(crate) mod symmetric;

use crate::bf16::widen;
use crate::params::{Asymmetric, Symmetric};
use crate::vector::{Lanewise, Pair, Vector, LANES};

/// Terms per reduction block; a multiple of [`LANES`].
pub(crate) const BLOCK: usize = 4096;

/// What terms are multiplied by before the f32 partial sums, and block values
/// divided by after (see the module's reduction order). The quantizers return
/// their terms already scaled, each as cheaply as it can.
pub(crate) const TERM_SCALE: f32 = 0.125;

/// A block's value from its lane accumulators: the lane tree, unscaled.
#[inline(always)]
pub(crate) fn block_value<V: Vector, P: Pair<V>>(sum: P::Sum) -> f64 {
    P::sum_lanes(sum) / TERM_SCALE as f64
}

/// [`block_value`] of eight blocks' pairs of sums ([`Pair::sum_pair`]),
/// each rounded to f32: the first sums' as the lanes of the first vector,
/// the second sums' as those of the second.
#[inline(always)]
pub(crate) fn block_value_pairs_of_8<V: Vector, P: Pair<V>>(pairs: &[P::SumPair; 8]) -> P {
    // Multiplying by 8 is dividing by TERM_SCALE, exactly.
    P::sum_pairs_of_8(pairs, 1.0 / TERM_SCALE as f64)
}

/// Arguments of the asymmetric per-group forward kernel.
pub(crate) struct AsymmetricPerGroupArgs {
    pub weight: *const u16,
    pub scale: *const u16,
    pub offset: *const u16,
    pub out: *mut u16,
    pub groups: usize,
    pub group_size: usize,
    pub quant: Asymmetric,
}

/// Arguments of the asymmetric per-group backward kernel.
pub(crate) struct AsymmetricPerGroupBackwardArgs {
    pub grad_output: *const u16,
    pub weight: *const u16,
    pub scale: *const u16,
    pub offset: *const u16,
    pub grad_weight: *mut u16,
    pub grad_scale: *mut u16,
    pub grad_offset: *mut u16,
    pub groups: usize,
    pub group_size: usize,
    pub quant: Asymmetric,
}

/// Arguments of the symmetric forward kernel: one scale per row (per tensor is
/// one row).
pub(crate) struct SymmetricArgs {
    pub weight: *const u16,
    pub scale: *const u16,
    pub out: *mut u16,
    pub rows: usize,
    pub cols: usize,
    pub quant: Symmetric,
}

/// Arguments of the symmetric backward kernel.
pub(crate) struct SymmetricBackwardArgs {
    pub grad_output: *const u16,
    pub weight: *const u16,
    pub scale: *const u16,
    pub grad_weight: *mut u16,
    pub grad_scale: *mut u16,
    pub rows: usize,
    pub cols: usize,
    pub quant: Symmetric,
}

/// `ps = max(s, eps)` as the SPEC defines `max`: NaN-propagating.
#[inline(always)]
pub(crate) fn protect(scale: f32, eps: f32) -> f32 {
    if scale < eps {
        eps
    } else {
        scale
    }
}

/// The LSQ gradient gate: 1 where the scale is above `eps`, else 0 (and 0 for NaN).
#[inline(always)]
pub(crate) fn gate(scale: f32, eps: f32) -> f32 {
    if scale > eps {
        1.0
    } else {
        0.0
    }
}

/// Reads element `i` of a bf16 buffer, widened.
///
/// # Safety
/// `p` must be valid for reading `i + 1` elements.
#[inline(always)]
pub(crate) unsafe fn read(p: *const u16, i: usize) -> f32 {
    // SAFETY: guaranteed by the caller.
    widen(unsafe { p.add(i).read() })
}

/// Loads `n < LANES` elements into the first lanes of a vector (the rest zero),
/// through a stack copy, so nothing past the buffer is read.
///
/// # Safety
/// `src` must be valid for reading `n` elements.
#[inline(always)]
pub(crate) unsafe fn load_tail<V: Vector>(src: *const u16, n: usize) -> V {
    let mut lanes = [0u16; LANES];
    // SAFETY: `src` is valid for `n <= LANES` reads, `lanes` for LANES writes,
    // and a local array cannot overlap the caller's buffer.
    unsafe {
        core::ptr::copy_nonoverlapping(src, lanes.as_mut_ptr(), n);
        V::load(lanes.as_ptr())
    }
}

/// Stores the first `n < LANES` lanes of a vector through a stack copy, so
/// nothing past the buffer is written.
///
/// # Safety
/// `dst` must be valid for writing `n` elements.
#[inline(always)]
pub(crate) unsafe fn store_tail<V: Vector>(v: V, dst: *mut u16, n: usize) {
    let mut lanes = [0u16; LANES];
    // SAFETY: as in `load_tail`, with the roles of the buffers swapped.
    unsafe {
        v.store(lanes.as_mut_ptr());
        core::ptr::copy_nonoverlapping(lanes.as_ptr(), dst, n);
    }
}

/// Loads `n < 2 * LANES` elements into the first lanes of a pair (the rest
/// zero), through a stack copy, as [`load_tail`] does for a vector.
///
/// # Safety
/// `src` must be valid for reading `n` elements.
#[inline(always)]
pub(crate) unsafe fn load_pair_tail<V: Vector, P: Pair<V>>(src: *const u16, n: usize) -> P {
    let mut lanes = [0u16; 2 * LANES];
    // SAFETY: as in `load_tail`, for 2 * LANES lanes.
    unsafe {
        core::ptr::copy_nonoverlapping(src, lanes.as_mut_ptr(), n);
        P::load(lanes.as_ptr())
    }
}

/// Stores the first `n < 2 * LANES` lanes of a pair through a stack copy, as
/// [`store_tail`] does for a vector.
///
/// # Safety
/// `dst` must be valid for writing `n` elements.
#[inline(always)]
pub(crate) unsafe fn store_pair_tail<V: Vector, P: Pair<V>>(pair: P, dst: *mut u16, n: usize) {
    let mut lanes = [0u16; 2 * LANES];
    // SAFETY: as in `store_tail`, for 2 * LANES lanes.
    unsafe {
        pair.store(lanes.as_mut_ptr());
        core::ptr::copy_nonoverlapping(lanes.as_ptr(), dst, n);
    }
}

/// One vector of a forward row at element `i`; `n < LANES` elements go
/// through the stack.
///
/// # Safety
/// `min(n, LANES)` elements from `i` are valid in both buffers, as in
/// [`map_row`].
#[inline(always)]
unsafe fn forward_step<V: Vector>(
    quantizer: &impl Lanewise,
    x: *const u16,
    out: *mut u16,
    i: usize,
    n: usize,
) {
    let full = n >= LANES;
    // SAFETY: min(n, LANES) elements from i are valid in both buffers (caller).
    unsafe {
        let v = if full {
            V::load(x.add(i))
        } else {
            load_tail(x.add(i), n)
        };
        let q = V::apply_forward(quantizer, v);
        if full {
            q.store(out.add(i))
        } else {
            store_tail(q, out.add(i), n)
        }
    }
}

/// `out[i] = forward(x[i])` over one row, eight lanes at a time.
///
/// # Safety
/// `x` valid for reading and `out` for writing `len` elements; they are the
/// same buffer or do not overlap.
#[inline(always)]
pub(crate) unsafe fn map_row<V: Vector, P: Pair<V>>(
    x: *const u16,
    out: *mut u16,
    len: usize,
    quantizer: &impl Lanewise,
) {
    let mut i = 0;
    // Whole quads of vectors, a whole pair, then the rest (see `backward_block`).
    while V::WHOLE_VECTOR_LOOPS && len - i >= 4 * LANES {
        // SAFETY: 4 * LANES elements from i are in both buffers.
        unsafe {
            // (No closure here: one would not inherit the ISA's features.)
            let [first, second] = P::load_quad(x.add(i));
            P::store_quad(
                [quantizer.forward(first), quantizer.forward(second)],
                out.add(i),
            );
        }
        i += 4 * LANES;
    }
    if V::WHOLE_VECTOR_LOOPS && len - i >= 2 * LANES {
        // SAFETY: 2 * LANES elements from i are in both buffers.
        unsafe { quantizer.forward(P::load(x.add(i))).store(out.add(i)) };
        i += 2 * LANES;
    }
    while i < len {
        let n = (len - i).min(LANES);
        // SAFETY: n elements from i are in both buffers.
        unsafe { forward_step::<V>(quantizer, x, out, i, n) };
        i += n;
    }
}

/// Neumaier's compensated f64 sum of block values.
#[derive(Clone, Copy)]
struct Compensated {
    sum: f64,
    compensation: f64,
}

impl Compensated {
    const ZERO: Self = Compensated {
        sum: 0.0,
        compensation: 0.0,
    };

    #[inline(always)]
    fn add(&mut self, x: f64) {
        let total = self.sum + x;
        // Past an infinity the compensation would only turn inf into NaN.
        if total.is_finite() {
            self.compensation += if magnitude(self.sum) >= magnitude(x) {
                (self.sum - total) + x
            } else {
                (x - total) + self.sum
            };
        }
        self.sum = total;
    }

    #[inline(always)]
    fn value(self) -> f32 {
        (self.sum + self.compensation) as f32
    }
}

/// `|x|` (core has no `f64::abs` on older toolchains).
#[inline(always)]
fn magnitude(x: f64) -> f64 {
    f64::from_bits(x.to_bits() & !(1 << 63))
}

/// One vector of a backward row at element `i`: writes its weight gradients
/// and returns its two vectors of terms. `n < LANES` elements are loaded
/// through the stack and their padding lanes kept out of the terms.
///
/// # Safety
/// `min(n, LANES)` elements from `i` are valid in every buffer, as in
/// [`backward_row`].
#[inline(always)]
unsafe fn backward_step<V: Vector>(
    quantizer: &impl Lanewise,
    g: *const u16,
    x: *const u16,
    grad_weight: *mut u16,
    i: usize,
    n: usize,
) -> [V; 2] {
    let full = n >= LANES;
    // SAFETY: min(n, LANES) elements from i are valid in every buffer
    // (caller); a short tail goes through the stack.
    unsafe {
        let (gv, xv) = if full {
            (V::load(g.add(i)), V::load(x.add(i)))
        } else {
            (load_tail(g.add(i), n), load_tail(x.add(i), n))
        };
        let [w, a, b] = V::apply_backward(quantizer, gv, xv);
        if full {
            w.store(grad_weight.add(i));
            [a, b]
        } else {
            store_tail(w, grad_weight.add(i), n);
            // The zero padding lanes must not reach the sums.
            [a.first(n), b.first(n)]
        }
    }
}

/// One block's two sums (`end - start <= BLOCK`) in the module's order, as
/// lane accumulators; writes the block's weight gradients.
///
/// # Safety
/// As for [`backward_row`], with `start..end` inside the row.
#[inline(always)]
unsafe fn backward_block<V: Vector, P: Pair<V>>(
    g: *const u16,
    x: *const u16,
    grad_weight: *mut u16,
    start: usize,
    end: usize,
    quantizer: &impl Lanewise,
) -> [P::Sum; 2] {
    // Whole vectors first, free of tail checks: all of the block where it is
    // whole quads, else its whole octets (a quad may only end the block: its
    // octet's second half is what follows).
    let len = end - start;
    let whole = if !V::WHOLE_VECTOR_LOOPS {
        start
    } else if len.is_multiple_of(4 * LANES) {
        end
    } else {
        start + len / (8 * LANES) * (8 * LANES)
    };
    let [mut sum_a, mut sum_b] = if whole > start {
        // SAFETY: start..whole lies in the block, a whole number of quads.
        unsafe {
            let first = normalize_quad::<V, P>(quantizer, x.add(start));
            backward_whole_quads::<V, P, _>(g, x, grad_weight, start, whole, quantizer, first, None)
                .0
        }
    } else {
        [P::sum_zero(), P::sum_zero()]
    };
    let mut i = whole;
    // What is left, an octet at a time and vector by vector, in the order
    // v0, v4, v2, v6, v1, v5, v3, v7 (3-bit reversal): then three partial
    // sums suffice, as a microcontroller's stack wants. `v0 + v4` and
    // `v2 + v6` make the even half of the octet sum, `v1 + v5` and `v3 + v7`
    // the odd half. Partial sums start from +0.0, and absent vectors (past
    // the end) add nothing: +0.0, the order's padding, could only change the
    // sign of a zero sum, which the f64 accumulators, never -0.0 themselves,
    // do not see.
    // (Only set up where there is a tail: most rows and groups have none.)
    if i < end {
        let mut partial = [[V::splat(0.0); 2]; 3];
        let mut step = 0;
        while i < end {
            let k = ((step & 1) << 2) | (step & 2) | (step >> 2);
            let at = i + k * LANES;
            if at < end {
                let n = (end - at).min(LANES);
                // SAFETY: n elements from `at` are valid in every buffer.
                let [a, b]: [V; 2] = unsafe { backward_step(quantizer, g, x, grad_weight, at, n) };
                // Steps 0 and 1 to the first, 2 to 5 to the second, 6 and 7 to
                // the third.
                let slot = &mut partial[usize::from(step >= 2) + usize::from(step >= 6)];
                slot[0] = slot[0].add(a);
                slot[1] = slot[1].add(b);
            }
            step += 1;
            if step == 4 {
                // The even half, `(v0 + v4) + (v2 + v6)`, in the first.
                let [even, odd, _] = &mut partial;
                for (even, odd) in even.iter_mut().zip(odd) {
                    *even = even.add(*odd);
                    *odd = V::splat(0.0);
                }
            } else if step == 8 {
                for (j, sum) in [&mut sum_a, &mut sum_b].into_iter().enumerate() {
                    let odd = partial[1][j].add(partial[2][j]);
                    *sum = P::sum_add_vector(*sum, partial[0][j].add(odd));
                }
                for slot in partial.iter_mut().flatten() {
                    *slot = V::splat(0.0);
                }
                step = 0;
                i = end.min(i + 8 * LANES);
            }
        }
    }
    [sum_a, sum_b]
}

/// [`backward_block`] of whole quads of vectors, `start..end`: whole
/// octets, then a last quad as an octet whose second half is zero. `first`
/// is the quad at `start`, normalized ([`normalize_quad`]); each quad's
/// successor is normalized before the quad's own work is done (see
/// [`Lanewise::normalize`]), the last one's from `ahead`, the first quad of
/// the next row or group, which is returned normalized (any value where
/// there is none). Unless [`Vector::NORMALIZE_AHEAD`] says no: then each
/// quad is normalized where it is worked on, and `first`, `ahead` and the
/// value returned go unused.
///
/// # Safety
/// As for [`backward_block`], with `end - start` a positive multiple of
/// `4 * LANES`; `ahead`'s pointer valid for reading `4 * LANES` elements.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn backward_whole_quads<V: Vector, P: Pair<V>, Q: Lanewise>(
    g: *const u16,
    x: *const u16,
    grad_weight: *mut u16,
    start: usize,
    end: usize,
    quantizer: &Q,
    first: [P; 2],
    ahead: Option<(&Q, *const u16)>,
) -> ([P::Sum; 2], [P; 2]) {
    let (mut sum_a, mut sum_b) = (P::sum_zero(), P::sum_zero());
    let mut i = start;
    let mut normalized = first;
    // (A macro, not a closure: a closure would not inherit the ISA's features.)
    macro_rules! quad {
        () => {{
            // SAFETY: a whole quad from i lies in start..end, and the one after
            // it too unless it is the last, when `ahead`'s is valid (caller).
            let ([_, a0, b0], [_, a1, b1], next) = unsafe {
                let (first, second, next) = if V::NORMALIZE_AHEAD {
                    let next = if end - i > 4 * LANES {
                        normalize_quad(quantizer, x.add(i + 4 * LANES))
                    } else if let Some((quantizer, x)) = ahead {
                        normalize_quad(quantizer, x)
                    } else {
                        normalized
                    };
                    let ([g0, g1], [xn0, xn1]) = (P::load_quad(g.add(i)), normalized);
                    (
                        quantizer.backward_normalized(g0, xn0),
                        quantizer.backward_normalized(g1, xn1),
                        next,
                    )
                } else {
                    let ([g0, g1], [x0, x1]) = (P::load_quad(g.add(i)), P::load_quad(x.add(i)));
                    let (first, second) = (quantizer.backward(g0, x0), quantizer.backward(g1, x1));
                    (first, second, normalized)
                };
                P::store_quad([first[0], second[0]], grad_weight.add(i));
                (first, second, next)
            };
            normalized = next;
            i += 4 * LANES;
            [[a0, b0], [a1, b1]]
        }};
    }
    loop {
        let [[a0, b0], [a1, b1]] = quad!();
        if i == end {
            // The zero half as -0.0, which adds nothing at all (the order's
            // +0.0 could only change the sign of a zero sum, which the f64
            // accumulators, never -0.0 themselves, do not see).
            let none = P::splat(-0.0);
            sum_a = P::sum_add(sum_a, [a0, a1, none, none]);
            sum_b = P::sum_add(sum_b, [b0, b1, none, none]);
            break;
        }
        let [[a2, b2], [a3, b3]] = quad!();
        sum_a = P::sum_add(sum_a, [a0, a1, a2, a3]);
        sum_b = P::sum_add(sum_b, [b0, b1, b2, b3]);
        if i == end {
            break;
        }
    }
    ([sum_a, sum_b], normalized)
}

/// The quad of weights at `x`, loaded as two pairs and normalized.
///
/// # Safety
/// `x` is valid for reading `4 * LANES` elements.
#[inline(always)]
pub(crate) unsafe fn normalize_quad<V: Vector, P: Pair<V>>(
    quantizer: &impl Lanewise,
    x: *const u16,
) -> [P; 2] {
    // SAFETY: guaranteed by the caller.
    let [x0, x1] = unsafe { P::load_quad(x) };
    [quantizer.normalize(x0), quantizer.normalize(x1)]
}

/// [`backward_row`] of a row of at most [`BLOCK`] elements, with its two sums
/// left as lane accumulators: their [`block_value`], rounded to f32, is what
/// `backward_row` returns.
///
/// # Safety
/// As for [`backward_row`].
#[inline(always)]
pub(crate) unsafe fn backward_short_row<V: Vector, P: Pair<V>>(
    g: *const u16,
    x: *const u16,
    grad_weight: *mut u16,
    len: usize,
    quantizer: &impl Lanewise,
) -> [P::Sum; 2] {
    debug_assert!(len <= BLOCK);
    // SAFETY: the block is the row (caller).
    unsafe { backward_block::<V, P>(g, x, grad_weight, 0, len, quantizer) }
}

/// One row of a backward kernel: `[grad_weight, a, b] = backward(g, x)` for
/// every element; writes `grad_weight` and returns the sums of `a` and of `b`, in
/// the module's reduction order.
///
/// # Safety
/// `g` and `x` valid for reading and `grad_weight` for writing `len`
/// elements; `grad_weight` is one of the inputs or overlaps neither.
#[inline(always)]
pub(crate) unsafe fn backward_row<V: Vector, P: Pair<V>>(
    g: *const u16,
    x: *const u16,
    grad_weight: *mut u16,
    len: usize,
    quantizer: &impl Lanewise,
) -> [f32; 2] {
    let mut totals = [Compensated::ZERO; 2];
    let mut start = 0;
    loop {
        let end = start + (len - start).min(BLOCK);
        // SAFETY: the block lies in the row (caller).
        let [a, b] = unsafe { backward_block::<V, P>(g, x, grad_weight, start, end, quantizer) };
        let [a, b] = [block_value::<V, P>(a), block_value::<V, P>(b)];
        if start == 0 && end == len {
            // The compensated sum of one value is that value, unless it is
            // -0.0, which a block sum never is (its accumulators start at
            // +0.0). Most groups and rows are one block, and skip its steps.
            return [a as f32, b as f32];
        }
        totals[0].add(a);
        totals[1].add(b);
        start = end;
        if start == len {
            break;
        }
    }
    [totals[0].value(), totals[1].value()]
}
