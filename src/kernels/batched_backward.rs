//! The asymmetric per-group backward. Groups of at most one reduction
//! block go in batches of 16 or 32 groups on backends whose pairs finish
//! sums eight at a time ([`Pair::SUMS_EIGHT_AT_ONCE`]: AVX-512); the others
//! group by group, in `asymmetric_per_group`.
//!
//! A batch's scales, offsets and gates are computed as the lanes of pairs,
//! its groups' sums finished eight at a time ([`Pair::sum_pairs_of_8`]), and
//! each of its two gradients computed and narrowed a pair at a time, which
//! saves small groups most of that fixed cost per group. The bits are those
//! of the plain loop in `asymmetric_per_group`: each sum is still one
//! block's, combined by the same tree, and each constant and gradient is the
//! same f32 operations lane by lane.

use super::asymmetric_per_group::{backward_by_groups, AsymmetricConstants, Group};
use super::reduction::{block_value_pairs_of_8, BLOCK};
use super::rows::{backward_short_row, backward_whole_quads, normalize_quad};
use super::tails::{load_tail, store_tail};
use super::BackwardArgs;
use crate::vector::{Data, Pair, Vector, LANES};

/// The asymmetric per-group backward: small groups in batches where the
/// lanes finish sums eight at a time, the others group by group.
///
/// # Safety
/// As for `asymmetric_per_group::forward`, with the gradients' buffers of
/// the same lengths.
#[inline(always)]
pub(crate) unsafe fn backward<V: Vector, P: Pair<V>, const R: bool, T: Data, G: Data>(
    token: P::Token,
    args: &BackwardArgs<AsymmetricConstants, T, G>,
) {
    // SAFETY: this function's contract.
    unsafe {
        if P::SUMS_EIGHT_AT_ONCE && args.len <= BLOCK {
            backward_in_batches::<V, P, T, G, R>(token, args)
        } else {
            backward_by_groups::<V, P, R, T, G>(token, args)
        }
    }
}

/// The asymmetric per-group backward of groups of at most one block.
///
/// The commonest small groups get loops of constant length, since their own
/// work per group is short enough for a loop's overhead to show. Groups of
/// 32 take batches of 32 groups, the others 16: each batch's finish stalls
/// the loop for longer than its instructions take, so fewer batches are
/// better, but for larger groups the bigger batch's stack use costs more
/// than it saves.
///
/// # Safety
/// As for [`backward`], with `len <= BLOCK`.
#[inline(always)]
unsafe fn backward_in_batches<V: Vector, P: Pair<V>, T: Data, G: Data, const R: bool>(
    token: P::Token,
    args: &BackwardArgs<AsymmetricConstants, T, G>,
) {
    // SAFETY: this function's contract; each size has the quads it names.
    unsafe {
        match args.len {
            32 => batches::<V, P, T, G, 1, 2, R>(token, args),
            64 => batches::<V, P, T, G, 2, 1, R>(token, args),
            128 => batches::<V, P, T, G, 4, 1, R>(token, args),
            256 => batches::<V, P, T, G, 8, 1, R>(token, args),
            _ => batches::<V, P, T, G, 0, 1, R>(token, args),
        }
    }
}

/// [`backward_in_batches`] in batches of `PAIRS` pairs of vectors' lanes
/// (16 or 32 groups).
///
/// Groups of `QUADS` whole quads of vectors where `QUADS` is not 0, which
/// the caller checked; then each group's first quad is normalized while the
/// group before it is worked on, as within a group (see
/// [`Lanewise::normalize`](crate::vector::Lanewise::normalize)). Of any
/// length up to a block where it is 0.
///
/// # Safety
/// As for [`backward_in_batches`].
#[inline(always)]
unsafe fn batches<
    V: Vector,
    P: Pair<V>,
    T: Data,
    G: Data,
    const QUADS: usize,
    const PAIRS: usize,
    const R: bool,
>(
    token: P::Token,
    args: &BackwardArgs<AsymmetricConstants, T, G>,
) {
    if args.units == 0 {
        return;
    }
    let (quant, len) = (&args.quant, args.len);
    // Set once: a partial last batch leaves earlier groups' values in its
    // unused lanes, which are computed and never stored.
    let zero = P::sum_zero(token);
    let mut sums = [[P::sum_pair(zero, zero); LANES]; 2 * MOST_PAIRS];
    // SAFETY: 0 < groups.
    let mut batch = unsafe { Batch::<P>::at::<V, T, G, PAIRS>(token, args, 0) };
    let mut normalized = [P::splat(token, 0.0); 2];
    if QUADS != 0 {
        // SAFETY: group 0 has a whole quad.
        normalized =
            unsafe { normalize_quad::<V, P, T>(token, &batch.group::<R>(quant, 0), args.weight) };
    }
    loop {
        let mut next_batch = None;
        for j in 0..batch.count {
            let k = batch.first + j;
            let following = if j + 1 < batch.count {
                Some(batch.group::<R>(quant, j + 1))
            } else if k + 1 < args.units {
                // The next batch's scales and offsets are read here, before
                // this batch's gradients, which may be the same buffers, are
                // written.
                // SAFETY: k + 1 < groups.
                let next = unsafe { Batch::<P>::at::<V, T, G, PAIRS>(token, args, k + 1) };
                let first = next.group::<R>(quant, 0);
                next_batch = Some(next);
                Some(first)
            } else {
                None
            };
            let (group, at) = (batch.group::<R>(quant, j), k * len);
            // SAFETY: group k spans elements [at, at + size) of each buffer,
            // at most a block, and QUADS quads where QUADS is not 0, as does
            // the following group from at + size.
            let [offset_sum, alpha_sum] = unsafe {
                let (g, x, grad_weight) = (
                    args.grad_output.add(at),
                    args.weight.add(at),
                    args.grad_weight.add(at),
                );
                if QUADS == 0 {
                    backward_short_row::<V, P, T>(token, g, x, grad_weight, len, &group)
                } else {
                    let ahead = following.as_ref().map(|group| (group, x.add(len)));
                    let (sums, next) = backward_whole_quads::<V, P, T, _>(
                        token,
                        (g, x, grad_weight),
                        0,
                        QUADS * 4 * LANES,
                        &group,
                        normalized,
                        ahead,
                    );
                    normalized = next;
                    sums
                }
            };
            sums[j / LANES][j % LANES] = P::sum_pair(offset_sum, alpha_sum);
        }
        // SAFETY: the batch's groups exist.
        unsafe { finish_batch::<V, P, T, G, PAIRS>(token, args, &batch, &sums) };
        match next_batch {
            Some(next) => batch = next,
            None => break,
        }
    }
}

/// The most pairs of vectors' lanes that a batch of [`batches`]
/// spans, and so the most groups in a batch.
const MOST_PAIRS: usize = 2;
const MOST_GROUPS: usize = MOST_PAIRS * 2 * LANES;

/// The constants of up to 32 consecutive groups, computed as pairs of
/// vectors.
struct Batch<P> {
    /// The first group's index.
    first: usize,
    /// How many groups: at least one, at most the batch's size.
    count: usize,
    offsets: [f32; MOST_GROUPS],
    /// `max(s, eps) * n`.
    alphas: [f32; MOST_GROUPS],
    /// The scale gradients' gates, a pair of groups at a time.
    gates: [P; MOST_PAIRS],
}

impl<P: Copy> Batch<P> {
    /// Groups `first..first + min(16 * PAIRS, groups - first)`.
    ///
    /// # Safety
    /// `first < groups`, `PAIRS <= MOST_PAIRS`, and the buffers as for
    /// [`backward_in_batches`].
    #[inline(always)]
    unsafe fn at<V: Vector, T: Data, G: Data, const PAIRS: usize>(
        token: P::Token,
        args: &BackwardArgs<AsymmetricConstants, T, G>,
        first: usize,
    ) -> Self
    where
        P: Pair<V>,
    {
        let count = (args.units - first).min(PAIRS * 2 * LANES);
        let mut batch = Batch {
            first,
            count,
            offsets: [0.0; MOST_GROUPS],
            alphas: [0.0; MOST_GROUPS],
            gates: [P::splat(token, 0.0); MOST_PAIRS],
        };
        let eps = P::splat(token, args.quant.eps);
        let levels = P::splat(token, args.quant.levels);
        for (pair, gates) in batch.gates.iter_mut().enumerate().take(PAIRS) {
            let at = pair * 2 * LANES;
            let n = count.saturating_sub(at).min(2 * LANES);
            // SAFETY: n scales and offsets from first + at exist, none where
            // the pair is past the batch's count (whose pointers may then be
            // past the buffers' ends: `wrapping_add` allows that); fewer than
            // sixteen go through the stack.
            let (scale, offset): (P, P) = unsafe {
                let (scale, offset) = (
                    args.scale.wrapping_add(first + at),
                    args.offset.wrapping_add(first + at),
                );
                if n == 2 * LANES {
                    (P::load(token, scale), P::load(token, offset))
                } else {
                    (load_tail(token, scale, n), load_tail(token, offset, n))
                }
            };
            // `scale.max(eps)` is `protect`, lane by lane. `eps.max(scale)` is
            // `scale` where `scale > eps`, and `eps` where not (NaN included),
            // so the gate is 1 minus the indicator of its being `eps`.
            let alphas = scale.max(eps).mul(levels);
            *gates = P::splat(token, 1.0).sub(eps.max(scale).one_where_equal(eps));
            let lanes = at..at + 2 * LANES;
            batch.offsets[lanes.clone()].copy_from_slice(&lanes_of(offset));
            batch.alphas[lanes].copy_from_slice(&lanes_of(alphas));
        }
        batch
    }

    /// The batch's group `j`.
    #[inline(always)]
    fn group<const R: bool>(&self, quant: &AsymmetricConstants, j: usize) -> Group<R> {
        Group::with_alpha(quant, self.alphas[j], self.offsets[j])
    }
}

/// The sixteen lanes of a pair, the first vector's first.
#[inline(always)]
fn lanes_of<V: Vector, P: Pair<V>>(pair: P) -> [f32; 2 * LANES] {
    let mut lanes = [0.0; 2 * LANES];
    let (first, second) = lanes.split_at_mut(LANES);
    let [low, high] = pair.split();
    first.copy_from_slice(&low.to_array());
    second.copy_from_slice(&high.to_array());
    lanes
}

/// Writes a batch's scale and offset gradients, from its groups' pairs of
/// sums, `[offset_sum, alpha_sum]`, group `j` at `sums[j / 8][j % 8]`.
///
/// # Safety
/// The batch's groups exist, `PAIRS` is the batch's, and the buffers are as
/// for [`backward_in_batches`].
#[inline(always)]
unsafe fn finish_batch<V: Vector, P: Pair<V>, T: Data, G: Data, const PAIRS: usize>(
    token: P::Token,
    args: &BackwardArgs<AsymmetricConstants, T, G>,
    batch: &Batch<P>,
    sums: &[[P::SumPair; LANES]; 2 * MOST_PAIRS],
) {
    let (levels, first) = (P::splat(token, args.quant.levels), batch.first);
    for pair in 0..PAIRS {
        let at = pair * 2 * LANES;
        if at >= batch.count {
            break;
        }
        let [offsets_low, alphas_low] =
            block_value_pairs_of_8::<V, P>(token, &sums[2 * pair]).split();
        let [offsets_high, alphas_high] =
            block_value_pairs_of_8::<V, P>(token, &sums[2 * pair + 1]).split();
        let grad_offset = P::join(token, offsets_low, offsets_high);
        let grad_scale = P::join(token, alphas_low, alphas_high)
            .mul(levels)
            .mul(batch.gates[pair]);
        let n = (batch.count - at).min(2 * LANES);
        // SAFETY: elements first + at.. first + at + n of both gradients
        // exist; fewer than sixteen go through the stack.
        unsafe {
            let (offset_at, scale_at) = (
                args.grad_offset.add(first + at),
                args.grad_scale.add(first + at),
            );
            if n == 2 * LANES {
                G::store(grad_offset, offset_at);
                G::store(grad_scale, scale_at);
            } else {
                store_tail(grad_offset, offset_at, n);
                store_tail(grad_scale, scale_at, n);
            }
        }
    }
}
