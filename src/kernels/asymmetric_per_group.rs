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

use super::reduction::{block_count, TERM_SCALE};
use super::rows::{backward_rows, map_rows, BlockValues, Codes, Forward, Totals, Values};
use super::tails::read;
use super::{gate, protect, BackwardArgs, MapArgs, Quantizer};
use crate::arch::Backend;
use crate::bf16_bits::widen;
use crate::kernels::scan::{elements, no_nan};
use crate::{Argument, Error, Rule};
use core::marker::PhantomData;

use crate::vector::{Data, Divisor, Elementwise, Lanes, Lanewise, Pair, Vector};

/// Validated asymmetric per-group parameters, in the form the kernels use.
#[derive(Clone, Copy)]
pub(crate) struct AsymmetricConstants {
    /// `n = 2^(bit-1)`.
    pub levels: f32,
    pub eps: f32,
    pub clip_val: f32,
    /// Whether to divide by reciprocal ([`crate::Division`]), read once
    /// per call (read by the SIMD backends' dispatch).
    #[cfg(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64"))]
    pub reciprocal: bool,
}

/// One group's constants. Kept as scalars and broadcast where used: the
/// compiler hoists the broadcasts out of the loops, and the portable backend
/// does not carry eight copies of each on a microcontroller's stack.
pub(super) struct Group<const R: bool = false> {
    offset: f32,
    /// `alpha`, the divisor of the backward pass's `(x - o) / alpha`.
    alpha: Divisor<R>,
    clip_val: f32,
    levels: f32,
    /// `alpha / n`: `ps`, or `+inf` where `ps * n` overflowed. Computed as
    /// `alpha * (1 / n)`, exact as well: the product is `ps`, representable.
    /// The divisor of the forward pass's `(x - o) / unit`.
    unit: Divisor<R>,
    /// `clip_val * n` (exact).
    bound: f32,
}

impl<const R: bool> Group<R> {
    #[inline(always)]
    pub(super) fn new(quant: &AsymmetricConstants, scale: f32, offset: f32) -> Self {
        Group::with_alpha(quant, protect(scale, quant.eps) * quant.levels, offset)
    }

    /// The group of this `alpha = max(s, eps) * n` and offset.
    #[inline(always)]
    pub(super) fn with_alpha(quant: &AsymmetricConstants, alpha: f32, offset: f32) -> Self {
        let unit = alpha * (1.0 / quant.levels);
        // The dividend `x - o` may have every bit of an f32, whatever the
        // weights' type: not narrow.
        Group {
            offset,
            alpha: Divisor::new(alpha, false),
            clip_val: quant.clip_val,
            levels: quant.levels,
            unit: Divisor::new(unit, false),
            bound: quant.clip_val * quant.levels,
        }
    }

    /// `(xc, d)` for the normalized weight `xn`: its clipped value, and the
    /// dequantized level (still in units of alpha).
    #[inline(always)]
    fn quantize<V: Lanes>(&self, xn: V) -> (V, V) {
        let xc = xn
            .max(xn.splat_as(-self.clip_val))
            .min(xn.splat_as(self.clip_val));
        // `xc * n` is exact (`n` is a power of two; past f32's range it is
        // infinite, and so is the fused result), so fusing changes nothing.
        let r = xc
            .mul_add(xc.splat_as(self.levels), xc.splat_as(-0.5))
            .round();
        // `(r + 0.5) / n` as `r * (1 / n) + 0.5 / n`: scaling by a power of
        // two commutes with rounding here (no subnormal can occur, as
        // `|d| >= 0.5 / n`), and `r * (1 / n)` is exact.
        let d = r.mul_add(r.splat_as(1.0 / self.levels), r.splat_as(0.5 / self.levels));
        (xc, d)
    }

    /// The level `r` of the forward formula, in `-n..n`, computed in units
    /// of `unit` (see `forward`).
    #[inline(always)]
    fn level<V: Lanes>(&self, x: V) -> V {
        let xu = x.sub(x.splat_as(self.offset)).divide(&self.unit);
        let clipped = xu.max(x.splat_as(-self.bound)).min(x.splat_as(self.bound));
        clipped.sub(x.splat_as(0.5)).round()
    }

    /// The forward formula's output for level `r`: `(r + 0.5) * unit + o`.
    #[inline(always)]
    fn value_of_level<V: Lanes>(&self, r: V) -> V {
        r.add(r.splat_as(0.5))
            .mul(r.splat_as(self.unit.value()))
            .add(r.splat_as(self.offset))
    }
}

/// Whether the forward pass writes a finite bf16 value for every weight of
/// a group with this scale and offset (see [`super::values_finite`]), with
/// `alpha + |o|` as the bound: `|(r + 0.5) * unit| <= alpha`, and rounding
/// is monotone.
pub(crate) fn values_finite<T: Data>(
    quant: &AsymmetricConstants,
    scale: f32,
    offset: f32,
    weights: &[T],
    no_nan: bool,
) -> bool {
    let group = Group::<false>::new(quant, scale, offset);
    let magnitude = f32::from_bits(offset.to_bits() & 0x7FFF_FFFF);
    super::values_finite(&group, group.alpha.value() + magnitude, weights, no_nan)
}

impl<const R: bool> Lanewise for Group<R> {
    /// The forward formula above, in units of `unit` (`ps`, or `+inf` with `alpha`)
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
        self.value_of_level(self.level(x))
    }

    /// `q = r + n`, in `0..2n` (exact: small integers).
    #[inline(always)]
    fn code<V: Lanes>(&self, x: V) -> V {
        self.level(x).add(x.splat_as(self.levels))
    }

    /// `r = q - n` (exact), then as in `forward`.
    #[inline(always)]
    fn value<V: Lanes>(&self, code: V) -> V {
        self.value_of_level(code.sub(code.splat_as(self.levels)))
    }

    #[inline(always)]
    fn normalize<V: Lanes>(&self, x: V) -> V {
        x.sub(x.splat_as(self.offset)).divide(&self.alpha)
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
        let scale = g.splat_as(TERM_SCALE);
        let scaled_complement = mask.neg_mul_add(scale, scale);
        [
            g.mul(mask),
            g.mul(scaled_complement),
            g.mul(xn.neg_mul_add(mask, d)).mul(scale),
        ]
    }
}

/// `map_of(group)` over every group: the forward pass, the codes, or the
/// values of codes.
///
/// # Safety
/// The buffers satisfy the contract of [`super`] for `units * len`
/// elements and `units` scales and offsets.
#[inline(always)]
unsafe fn map<V: Vector, P: Pair<V>, F: Elementwise, const R: bool>(
    token: P::Token,
    args: &MapArgs<AsymmetricConstants, F::In, F::Out>,
    map_of: impl Fn(Group<R>) -> F,
) {
    let group_of = |k| {
        // SAFETY: k < units.
        let (scale, offset) = unsafe { (read(args.scale, k), read(args.offset, k)) };
        map_of(Group::new(&args.quant, scale, offset))
    };
    let (buffers, len) = ((args.input, args.output), args.len);
    // SAFETY: the buffers hold `units` groups (caller).
    unsafe { map_rows::<V, P, F>(token, buffers, args.units, len, group_of) }
}

/// The forward pass.
///
/// # Safety
/// As for [`map`].
#[inline(always)]
pub(crate) unsafe fn forward<V: Vector, P: Pair<V>, const R: bool, T: Data>(
    token: P::Token,
    args: &MapArgs<AsymmetricConstants, T, T>,
) {
    // SAFETY: the caller's.
    unsafe { map::<V, P, _, R>(token, args, |group| Forward(group, PhantomData)) }
}

/// The codes (`q = r + n`), which the caller has checked exist.
///
/// # Safety
/// As for [`map`].
#[inline(always)]
pub(crate) unsafe fn quantize<V: Vector, P: Pair<V>, const R: bool, T: Data>(
    token: P::Token,
    args: &MapArgs<AsymmetricConstants, T, u8>,
) {
    // SAFETY: the caller's.
    unsafe { map::<V, P, _, R>(token, args, |group| Codes(group, PhantomData)) }
}

/// The values of codes, which the caller has checked are in `0..2n`.
///
/// # Safety
/// As for [`map`].
#[inline(always)]
pub(crate) unsafe fn dequantize<V: Vector, P: Pair<V>, T: Data>(
    token: P::Token,
    args: &MapArgs<AsymmetricConstants, u8, T>,
) {
    // SAFETY: the caller's (no division: one copy).
    unsafe { map::<V, P, _, false>(token, args, |group| Values(group, PhantomData)) }
}

/// The backward pass, group by group (`batched_backward::backward` takes
/// small groups in batches where the lanes allow).
///
/// # Safety
/// As for [`forward`], with the gradients' buffers of the same lengths.
#[inline(always)]
pub(super) unsafe fn backward_by_groups<V: Vector, P: Pair<V>, const R: bool, T: Data, G: Data>(
    token: P::Token,
    args: &BackwardArgs<AsymmetricConstants, T, G>,
) {
    let (quant, buffers) = (
        &args.quant,
        (args.grad_output, args.weight, args.grad_weight),
    );
    let (units, len) = (args.units, args.len);
    let group_of = |k| {
        // SAFETY: k < units. Both are read before grad_scale[k] and
        // grad_offset[k], which may be the same buffers, are written.
        let (scale, offset) = unsafe { (read(args.scale, k), read(args.offset, k)) };
        (Group::<R>::new(quant, scale, offset), scale)
    };
    let finish = |k: usize, scale: f32, totals: Totals| {
        let [grad_scale, grad_offset] = quant.finish(scale, totals.values());
        // SAFETY: k < units.
        unsafe {
            args.grad_scale.add(k).write(G::narrow(grad_scale));
            args.grad_offset.add(k).write(G::narrow(grad_offset));
        }
    };
    // SAFETY: the buffers hold `units` groups (caller).
    unsafe {
        backward_rows::<V, P, T, _, _, _>(
            token,
            buffers,
            units,
            len,
            group_of,
            |_| Totals::ZERO,
            finish,
        )
    }
}

/// The backward pass for a shard: the weight gradients, and each group's
/// sums as block values to `args.block_sums` (which must be set).
///
/// # Safety
/// As for [`backward_by_groups`], with `block_sums` valid for `2 *
/// block_count(group_size)` values per group.
#[inline(always)]
pub(crate) unsafe fn backward_blocks<V: Vector, P: Pair<V>, const R: bool, T: Data>(
    token: P::Token,
    args: &BackwardArgs<AsymmetricConstants, T, T>,
) {
    let Some(out) = args.block_sums else { return };
    let (quant, buffers) = (
        &args.quant,
        (args.grad_output, args.weight, args.grad_weight),
    );
    let (units, len) = (args.units, args.len);
    let group_of = |k| {
        // SAFETY: k < units.
        let (scale, offset) = unsafe { (read(args.scale, k), read(args.offset, k)) };
        (Group::<R>::new(quant, scale, offset), ())
    };
    let blocks = block_count(len);
    let sums_of = |k: usize| BlockValues {
        // SAFETY: `out` holds `2 * blocks` values per group (caller).
        out: unsafe { out.add(k * 2 * blocks) },
        blocks,
    };
    // SAFETY: the buffers hold `units` groups (caller).
    unsafe {
        backward_rows::<V, P, T, _, _, _>(
            token,
            buffers,
            units,
            len,
            group_of,
            sums_of,
            |_, _, _| {},
        )
    }
}

impl Quantizer for AsymmetricConstants {
    type Code = u8;
    const OFFSETS: bool = true;
    type Forward<T: Data> = super::AsymmetricForward<T>;
    type Quantize<T: Data> = super::AsymmetricQuantize<T>;
    type Dequantize<T: Data> = super::AsymmetricDequantize<T>;
    type Backward<T: Data, G: Data> = super::AsymmetricBackward<T, G>;
    type BackwardBlocks<T: Data> = super::AsymmetricBackwardBlocks<T>;
    type Calibrate<T: Data> = super::AsymmetricCalibrate<T>;

    /// A NaN weight, scale or offset, an `alpha` or a level past bf16's
    /// range, or infinities meeting in `(x - o) / alpha`, all give a value
    /// that is not finite.
    unsafe fn codes_exist<T: Data>(
        backend: Backend,
        args: &MapArgs<Self, T, u8>,
    ) -> Result<(), Error> {
        let len = args.len;
        // SAFETY: the caller's; `units * len` cannot overflow, the call
        // checked it.
        let (weights, scales, offsets) = unsafe {
            (
                elements(args.input, args.units * len),
                elements(args.scale, args.units),
                elements(args.offset, args.units),
            )
        };
        // SAFETY: the backend is the call's (its ISA runs here).
        let no_nan = unsafe { no_nan(backend, weights) };
        // `chunks_exact` of an empty slice is empty, and a size of 0 has no
        // groups (the call checked it); `max(1)` only keeps it from panicking.
        let groups = weights.chunks_exact(len.max(1));
        for ((&scale, &offset), group) in scales.iter().zip(offsets).zip(groups) {
            let (scale, offset) = (widen(scale), widen(offset));
            if !values_finite(&args.quant, scale, offset, group, no_nan) {
                return Err(Error::new(Argument::Weight, Rule::NoCode));
            }
        }
        Ok(())
    }

    /// Every code below `2^bit`.
    unsafe fn codes_on_grid<T: Data>(
        backend: Backend,
        args: &MapArgs<Self, u8, T>,
    ) -> Result<(), Error> {
        // SAFETY: the caller's; the backend is the call's (its ISA runs here).
        let largest = unsafe {
            backend.run::<super::LargestCode>(elements(args.input, args.units * args.len))
        };
        // `levels` is `2^(bit - 1)` with bit <= 8: the grid is `0..2 * levels`.
        if f32::from(largest) < 2.0 * args.quant.levels {
            Ok(())
        } else {
            Err(Error::new(Argument::Codes, Rule::OffGrid))
        }
    }

    /// `grad_offset = offset_sum`, `grad_scale = alpha_sum * n * gate`.
    #[inline(always)]
    fn finish(&self, scale: f32, [offset_sum, alpha_sum]: [f32; 2]) -> [f32; 2] {
        [alpha_sum * self.levels * gate(scale, self.eps), offset_sum]
    }
}
