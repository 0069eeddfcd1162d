//! The reduction order, and its accuracy.
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
//! of blocks; the final rounding to f32 adds 2^-24 of the result. The
//! documented bound on a reduced output is one bf16 ulp of the result plus
//! `2^-22 * sum(|terms|)`; the total above exceeds its second part only
//! where the result is nearly `sum(|terms|)`, and there the first is far
//! larger. So every sum is inside the bound
//! whatever its length (sums made mostly of terms below 2^-123 aside, by the
//! scaling's rounding).
//!
//! Why octets: the widening to f64 dominates a backward kernel's reduction
//! cost, and octets widen one vector in eight; a 16-lane backend forms
//! `[v0 + v4, v1 + v5]` in one instruction. A fourth f32 level would take the
//! worst case past the bound.

use crate::vector::{Pair, Vector};

/// Terms per reduction block; a multiple of [`LANES`](crate::vector::LANES).
pub(crate) const BLOCK: usize = 4096;

/// The blocks of a sum over `len` terms (`0` for none).
pub(crate) const fn block_count(len: usize) -> usize {
    len.div_ceil(BLOCK)
}

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
pub(crate) fn block_value_pairs_of_8<V: Vector, P: Pair<V>>(
    token: P::Token,
    pairs: &[P::SumPair; 8],
) -> P {
    // Multiplying by 8 is dividing by TERM_SCALE, exactly.
    P::sum_pairs_of_8(token, pairs, 1.0 / TERM_SCALE as f64)
}

/// Neumaier's compensated f64 sum of block values.
#[derive(Clone, Copy)]
pub(crate) struct Compensated {
    sum: f64,
    compensation: f64,
}

impl Compensated {
    pub(crate) const ZERO: Self = Compensated {
        sum: 0.0,
        compensation: 0.0,
    };

    #[inline(always)]
    pub(crate) fn add(&mut self, x: f64) {
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
    pub(crate) fn value(self) -> f32 {
        (self.sum + self.compensation) as f32
    }
}

/// `|x|` (core has no `f64::abs` on older toolchains).
#[inline(always)]
fn magnitude(x: f64) -> f64 {
    f64::from_bits(x.to_bits() & !(1 << 63))
}
