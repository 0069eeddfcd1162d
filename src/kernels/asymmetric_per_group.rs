//! Asymmetric per-group fake quantization with learnable scale and offset (LSQ+).
//!
//! Per group of `group_size` consecutive weights, with `n = 2^(bit-1)`:
//! ```text
//! ps = max(s, eps);   alpha = ps * n
//! xn = (x - o) / alpha
//! xc = clip(xn, -clip_val, clip_val)
//! r  = round(xc * n - 0.5)
//! d  = (r + 0.5) / n
//! out = d * alpha + o
//! ```
//! and backward, with `mask = 1` where `-clip_val <= xn <= clip_val`:
//! `grad_weight = g * mask`, `grad_offset = sum(g * (1 - mask))`,
//! `grad_scale = sum(g * (d - xn * mask)) * n * gate`.
//!
//! The forward pass computes the same bits with two multiplications fewer,
//! as [`Group::forward`](Lanewise::forward) explains.

use super::{backward_row, backward_short_row, backward_whole_quads, block_value_pairs_of_8};
use super::{gate, map_row, protect, read};
use super::{load_pair_tail, normalize_quad, store_pair_tail};
use super::{AsymmetricPerGroupArgs, AsymmetricPerGroupBackwardArgs};
use super::{BLOCK, TERM_SCALE};
use crate::bf16::narrow;
use crate::params::Asymmetric;
use crate::vector::{Lanes, Lanewise, Pair, Vector, LANES};

/// One group's constants. Kept as scalars and broadcast where used: the
/// compiler hoists the broadcasts out of the loops, and the portable backend
/// does not carry eight copies of each on a microcontroller's stack.
struct Group {
    offset: f32,
    alpha: f32,
    clip_val: f32,
    levels: f32,
    /// `alpha / n`: `ps`, or `+inf` where `ps * n` overflowed. Computed as
    /// `alpha * (1 / n)`, exact as well: the product is `ps`, representable.
    unit: f32,
    /// `clip_val * n` (exact).
    bound: f32,
}

impl Group {
    #[inline(always)]
    fn new(quant: &Asymmetric, scale: f32, offset: f32) -> Self {
        Group::with_alpha(quant, protect(scale, quant.eps) * quant.levels, offset)
    }

    /// The group of this `alpha = max(s, eps) * n` and offset.
    #[inline(always)]
    fn with_alpha(quant: &Asymmetric, alpha: f32, offset: f32) -> Self {
        Group {
            offset,
            alpha,
            clip_val: quant.clip_val,
            levels: quant.levels,
            unit: alpha * (1.0 / quant.levels),
            bound: quant.clip_val * quant.levels,
        }
    }

    /// `(xc, d)` for the normalized weight `xn`: its clipped value, and the
    /// dequantized level (still in units of alpha).
    #[inline(always)]
    fn quantize<V: Lanes>(&self, xn: V) -> (V, V) {
        let xc = xn
            .max(V::splat(-self.clip_val))
            .min(V::splat(self.clip_val));
        // `xc * n` is exact (`n` is a power of two; past f32's range it is
        // infinite, and so is the fused result), so fusing changes nothing.
        let r = xc.mul_add(V::splat(self.levels), V::splat(-0.5)).round();
        // `(r + 0.5) / n` as `r * (1 / n) + 0.5 / n`: scaling by a power of
        // two commutes with rounding here (no subnormal can occur, as
        // `|d| >= 0.5 / n`), and `r * (1 / n)` is exact.
        let d = r.mul_add(V::splat(1.0 / self.levels), V::splat(0.5 / self.levels));
        (xc, d)
    }
}

impl Lanewise for Group {
    /// SPEC's forward, in units of `unit` (`ps`, or `+inf` with `alpha`)
    /// rather than of `alpha`, which gives the same bits with two
    /// multiplications fewer. With `xu = (x - o) / unit`:
    /// - `r` is the same: `xc * n == clip(xu, -clip_val * n, clip_val * n)`
    ///   since scaling by a power of two commutes with rounding, except where
    ///   `xn` is subnormal, and there both are far below the `0.5` subtracted
    ///   next; where `xu` overflows, `xn` is beyond `clip_val` too; where
    ///   `alpha` is infinite, `xu` and `xn` are both `±0` (or both NaN);
    /// - `d * alpha == (r + 0.5) * unit`: `d` and `alpha` are exact, so both
    ///   products are the same real number, or both infinite.
    #[inline(always)]
    fn forward<V: Lanes>(&self, x: V) -> V {
        let (shift, offset, unit) = (V::splat(0.5), V::splat(self.offset), V::splat(self.unit));
        let xu = x.sub(offset).div(unit);
        let clipped = xu.max(V::splat(-self.bound)).min(V::splat(self.bound));
        let r = clipped.sub(shift).round();
        r.add(shift).mul(unit).add(offset)
    }

    #[inline(always)]
    fn normalize<V: Lanes>(&self, x: V) -> V {
        x.sub(V::splat(self.offset)).div(V::splat(self.alpha))
    }

    #[inline(always)]
    fn backward_normalized<V: Lanes>(&self, g: V, xn: V) -> [V; 3] {
        let (xc, d) = self.quantize(xn);
        // 1 where -clip_val <= xn <= clip_val, which is where clipping left xn
        // unchanged, else 0, or NaN where xn is NaN.
        let mask = xn.one_where_equal(xc);
        // The products by `mask` (1, 0 or NaN) and by `TERM_SCALE` (a power
        // of two, with a bf16 `g`) are exact, so `mul_add` changes nothing, and
        // `g * (TERM_SCALE * (1 - mask))` is `(g * (1 - mask)) * TERM_SCALE`.
        let scale = V::splat(TERM_SCALE);
        let scaled_complement = mask.neg_mul_add(scale, scale);
        [
            g.mul(mask),
            g.mul(scaled_complement),
            g.mul(xn.neg_mul_add(mask, d)).mul(scale),
        ]
    }
}

/// # Safety
/// The buffers satisfy the contract of [`super`] for `groups * group_size`
/// weights and `groups` scales and offsets.
#[inline(always)]
pub(crate) unsafe fn forward<V: Vector, P: Pair<V>>(args: &AsymmetricPerGroupArgs) {
    let size = args.group_size;
    for k in 0..args.groups {
        // SAFETY: k < groups.
        let (scale, offset) = unsafe { (read(args.scale, k), read(args.offset, k)) };
        let group = Group::new(&args.quant, scale, offset);
        // SAFETY: group k spans elements [k * size, (k + 1) * size).
        unsafe {
            map_row::<V, P>(
                args.weight.add(k * size),
                args.out.add(k * size),
                size,
                &group,
            )
        };
    }
}

/// # Safety
/// As for [`forward`], with the gradients' buffers of the same lengths.
#[inline(always)]
pub(crate) unsafe fn backward<V: Vector, P: Pair<V>>(args: &AsymmetricPerGroupBackwardArgs) {
    if P::SUMS_EIGHT_AT_ONCE && args.group_size <= BLOCK {
        // SAFETY: this function's contract.
        return unsafe {
            // The commonest small groups get loops of constant length: their
            // own work per group is short enough for the loops' to show.
            // Groups of 32 in batches of 32: 4 % faster than in batches of
            // 16, which are 7 % faster for groups of 256 at 4096 x 4096.
            match args.group_size {
                32 => backward_in_batches::<V, P, 1, 2>(args),
                64 => backward_in_batches::<V, P, 2, 1>(args),
                128 => backward_in_batches::<V, P, 4, 1>(args),
                256 => backward_in_batches::<V, P, 8, 1>(args),
                _ => backward_in_batches::<V, P, 0, 1>(args),
            }
        };
    }
    for k in 0..args.groups {
        // SAFETY: k < groups.
        let (group, gate, (g, x, grad_weight)) = unsafe { group_at(args, k) };
        // SAFETY: the row is group k's.
        let sums = unsafe { backward_row::<V, P>(g, x, grad_weight, args.group_size, &group) };
        // SAFETY: k < groups.
        unsafe { write_gradients(args, k, sums, gate) };
    }
}

/// [`backward`] for groups of at most one block, in batches of `PAIRS`
/// pairs of vectors' lanes (16 or 32 groups): their constants are computed
/// as the lanes of pairs, their sums finished eight at a time
/// ([`Pair::sum_pairs_of_8`]), and each of their two gradients computed and
/// narrowed a pair at a time, which saves small groups most of that fixed
/// cost. Each batch's finish stalls the loop for longer than its
/// instructions take, so the fewer batches the better, to a point. The same
/// bits: each sum is still one block's, combined by the same tree, and each
/// constant and gradient is the same f32 operations lane by lane.
///
/// Groups of `QUADS` whole quads of vectors where `QUADS` is not 0, which
/// the caller checked; then each group's first quad is normalized while the
/// group before it is worked on, as within a group (see
/// [`Lanewise::normalize`]). Of any length up to a block where it is 0.
///
/// # Safety
/// As for [`backward`].
#[inline(always)]
unsafe fn backward_in_batches<V: Vector, P: Pair<V>, const QUADS: usize, const PAIRS: usize>(
    args: &AsymmetricPerGroupBackwardArgs,
) {
    if args.groups == 0 {
        return;
    }
    let (quant, size) = (&args.quant, args.group_size);
    // Set once: a partial last batch leaves earlier groups' values in its
    // unused lanes, which are computed and never stored.
    let mut sums = [[P::sum_pair(P::sum_zero(), P::sum_zero()); LANES]; 2 * MOST_PAIRS];
    // SAFETY: 0 < groups.
    let mut batch = unsafe { Batch::<P>::at::<V, PAIRS>(args, 0) };
    let mut normalized = [P::splat(0.0); 2];
    if QUADS != 0 {
        // SAFETY: group 0 has a whole quad.
        normalized = unsafe { normalize_quad::<V, P>(&batch.group(quant, 0), args.weight) };
    }
    loop {
        let mut next_batch = None;
        for j in 0..batch.count {
            let k = batch.first + j;
            let following = if j + 1 < batch.count {
                Some(batch.group(quant, j + 1))
            } else if k + 1 < args.groups {
                // The next batch's scales and offsets are read here, before
                // this batch's gradients, which may be the same buffers, are
                // written.
                // SAFETY: k + 1 < groups.
                let next = unsafe { Batch::<P>::at::<V, PAIRS>(args, k + 1) };
                let first = next.group(quant, 0);
                next_batch = Some(next);
                Some(first)
            } else {
                None
            };
            let (group, at) = (batch.group(quant, j), k * size);
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
                    backward_short_row::<V, P>(g, x, grad_weight, size, &group)
                } else {
                    let ahead = following.as_ref().map(|group| (group, x.add(size)));
                    let (sums, next) = backward_whole_quads::<V, P, _>(
                        g,
                        x,
                        grad_weight,
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
        unsafe { finish_batch::<V, P, PAIRS>(args, &batch, &sums) };
        match next_batch {
            Some(next) => batch = next,
            None => break,
        }
    }
}

/// The most pairs of vectors' lanes that a batch of [`backward_in_batches`]
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
    /// [`backward`].
    #[inline(always)]
    unsafe fn at<V: Vector, const PAIRS: usize>(
        args: &AsymmetricPerGroupBackwardArgs,
        first: usize,
    ) -> Self
    where
        P: Pair<V>,
    {
        let count = (args.groups - first).min(PAIRS * 2 * LANES);
        let mut batch = Batch {
            first,
            count,
            offsets: [0.0; MOST_GROUPS],
            alphas: [0.0; MOST_GROUPS],
            gates: [P::splat(0.0); MOST_PAIRS],
        };
        let (eps, levels) = (P::splat(args.quant.eps), P::splat(args.quant.levels));
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
                    (P::load(scale), P::load(offset))
                } else {
                    (load_pair_tail(scale, n), load_pair_tail(offset, n))
                }
            };
            // `scale.max(eps)` is `protect`, lane by lane. `eps.max(scale)` is
            // `scale` where `scale > eps`, and `eps` where not (NaN included),
            // so the gate is 1 minus the indicator of its being `eps`.
            let alphas = scale.max(eps).mul(levels);
            *gates = P::splat(1.0).sub(eps.max(scale).one_where_equal(eps));
            let lanes = at..at + 2 * LANES;
            batch.offsets[lanes.clone()].copy_from_slice(&lanes_of(offset));
            batch.alphas[lanes].copy_from_slice(&lanes_of(alphas));
        }
        batch
    }

    /// The batch's group `j`.
    #[inline(always)]
    fn group(&self, quant: &Asymmetric, j: usize) -> Group {
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
/// for [`backward`].
#[inline(always)]
unsafe fn finish_batch<V: Vector, P: Pair<V>, const PAIRS: usize>(
    args: &AsymmetricPerGroupBackwardArgs,
    batch: &Batch<P>,
    sums: &[[P::SumPair; LANES]; 2 * MOST_PAIRS],
) {
    let (levels, first) = (P::splat(args.quant.levels), batch.first);
    for pair in 0..PAIRS {
        let at = pair * 2 * LANES;
        if at >= batch.count {
            break;
        }
        let [offsets_low, alphas_low] = block_value_pairs_of_8::<V, P>(&sums[2 * pair]).split();
        let [offsets_high, alphas_high] =
            block_value_pairs_of_8::<V, P>(&sums[2 * pair + 1]).split();
        let grad_offset = P::join(offsets_low, offsets_high);
        let grad_scale = P::join(alphas_low, alphas_high)
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
                grad_offset.store(offset_at);
                grad_scale.store(scale_at);
            } else {
                store_pair_tail(grad_offset, offset_at, n);
                store_pair_tail(grad_scale, scale_at, n);
            }
        }
    }
}

/// Group `k`'s constants, its scale gradient's gate, and its rows of
/// `grad_output`, `weight` and `grad_weight`.
///
/// # Safety
/// `k < groups`, and the buffers as for [`backward`].
#[inline(always)]
unsafe fn group_at(
    args: &AsymmetricPerGroupBackwardArgs,
    k: usize,
) -> (Group, f32, (*const u16, *const u16, *mut u16)) {
    // SAFETY: k < groups. Both are read before grad_scale[k] and
    // grad_offset[k], which may be the same buffers, are written.
    let (scale, offset) = unsafe { (read(args.scale, k), read(args.offset, k)) };
    let at = k * args.group_size;
    // SAFETY: group k spans elements [at, at + group_size) of each buffer.
    let rows = unsafe {
        (
            args.grad_output.add(at),
            args.weight.add(at),
            args.grad_weight.add(at),
        )
    };
    (
        Group::new(&args.quant, scale, offset),
        gate(scale, args.quant.eps),
        rows,
    )
}

/// Writes group `k`'s scale and offset gradients from its
/// `[offset_sum, alpha_sum]`.
///
/// # Safety
/// `k < groups`, and the buffers as for [`backward`].
#[inline(always)]
unsafe fn write_gradients(
    args: &AsymmetricPerGroupBackwardArgs,
    k: usize,
    [offset_sum, alpha_sum]: [f32; 2],
    gate: f32,
) {
    let grad_scale = alpha_sum * args.quant.levels * gate;
    // SAFETY: k < groups (caller).
    unsafe {
        args.grad_scale.add(k).write(narrow(grad_scale));
        args.grad_offset.add(k).write(narrow(offset_sum));
    }
}
