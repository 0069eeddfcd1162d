//! SymmetricConstants fake quantization with a learnable scale (LSQ), one scale per row:
//! per channel, or per tensor as a single row.
//!
//! ```text
//! ps  = max(s, eps)
//! c   = clip(round(x / ps), min_v, max_v) + 0.0
//! out = c * ps
//! ```
//! and backward, with `mask = 1` where `round(x / ps)` lies in `[min_v, max_v]`:
//! `grad_weight = g * mask`,
//! `grad_scale = (sum(g * c) + sum((g * mask) * ((-x) / ps))) * gate`.

use super::reduction::{block_count, TERM_SCALE};
use super::rows::{backward_rows, map_rows, BlockValues, Codes, Forward, Totals, Values};
use super::tails::read;
use super::{gate, protect, BackwardArgs, MapArgs, Quantizer};
use crate::arch::Backend;
use crate::bf16_bits::widen;
use crate::kernels::scan::{elements, no_nan};
use crate::{Argument, Error, Rule};
use core::marker::PhantomData;

use crate::vector::{Data, Divisor, Element, Elementwise, Lanes, Lanewise, Pair, Vector};

/// Validated symmetric parameters, in the form the kernels use: the
/// scale's lower bound and the integer grid `min_v..=max_v`.
#[derive(Clone, Copy)]
pub(crate) struct SymmetricConstants {
    pub eps: f32,
    pub min_v: f32,
    pub max_v: f32,
    /// Whether to divide by reciprocal ([`crate::Division`]), read once
    /// per call (read by the SIMD backends' dispatch).
    #[cfg(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64"))]
    pub reciprocal: bool,
}

/// One row's constants, as scalars (see `asymmetric_per_group::Group`).
pub(super) struct Row<const R: bool = false> {
    /// `ps`, the divisor of `x / ps` (by reciprocal where `R`).
    scale: Divisor<R>,
    min: f32,
    max: f32,
}

impl<const R: bool> Row<R> {
    /// The row of this scale, for weights of type `T`.
    #[inline(always)]
    pub(super) fn new<T: Element>(quant: &SymmetricConstants, scale: f32) -> Self {
        let scale = protect(scale, quant.eps);
        Row {
            scale: Divisor::new(scale, T::NARROW),
            min: quant.min_v,
            max: quant.max_v,
        }
    }

    /// `(round(q), c)` for `q = x / ps`. Adding `+0.0` makes a zero level
    /// `+0.0` (`round` keeps the sign of `-0.3`'s zero) and changes nothing
    /// else: the level is an integer, as its code is, so that the values of
    /// codes are the forward pass's bits.
    #[inline(always)]
    fn quantize<V: Lanes>(&self, q: V) -> (V, V) {
        let r = q.round();
        let c = r.max(r.splat_as(self.min)).min(r.splat_as(self.max));
        (r, c.add(c.splat_as(0.0)))
    }
}

/// Whether the forward pass writes a finite bf16 value for every weight of
/// a row with this scale (see [`super::values_finite`]), with
/// `max(|min_v|, |max_v|) * ps` as the bound of every value `c * ps` where
/// `ps` is finite (none where it is not: `0 * inf` is NaN).
pub(crate) fn values_finite<T: Data>(
    quant: &SymmetricConstants,
    scale: f32,
    weights: &[T],
    no_nan: bool,
) -> bool {
    let row = Row::<false>::new::<T>(quant, scale);
    let largest = if -row.min > row.max {
        -row.min
    } else {
        row.max
    };
    let scale = row.scale.value();
    let bound = if scale.is_finite() {
        largest * scale
    } else {
        f32::INFINITY
    };
    super::values_finite(&row, bound, weights, no_nan)
}

impl<const R: bool> Lanewise for Row<R> {
    #[inline(always)]
    fn forward<V: Lanes>(&self, x: V) -> V {
        self.value(self.code(x))
    }

    /// `c`, in `[min_v, max_v]`.
    #[inline(always)]
    fn code<V: Lanes>(&self, x: V) -> V {
        let (_, c) = self.quantize(self.normalize(x));
        c
    }

    /// `c * ps`.
    #[inline(always)]
    fn value<V: Lanes>(&self, c: V) -> V {
        c.mul(c.splat_as(self.scale.value()))
    }

    #[inline(always)]
    fn normalize<V: Lanes>(&self, x: V) -> V {
        x.divide(&self.scale)
    }

    #[inline(always)]
    fn backward_normalized<V: Lanes>(&self, g: V, q: V) -> [V; 3] {
        let (r, c) = self.quantize(q);
        // `1 - clip(|r - c|, 0, 1)` is 1 where clipping left r unchanged and 0
        // elsewhere, since r, min_v and max_v are integers; NaN where r (so c)
        // is NaN.
        let mask = r.one_where_equal(c);
        let grad_weight = g.mul(mask);
        let scale = g.splat_as(TERM_SCALE);
        // (-x) / ps == -(x / ps) exactly.
        [
            grad_weight,
            g.mul(c).mul(scale),
            grad_weight.mul(q.mul(q.splat_as(-1.0))).mul(scale),
        ]
    }
}

/// `map_of(row)` over every row: the forward pass, the codes, or the values
/// of codes.
///
/// # Safety
/// The buffers satisfy the contract of [`super`] for `rows * cols` elements
/// and `rows` scales.
#[inline(always)]
unsafe fn map<V: Vector, P: Pair<V>, F: Elementwise, const R: bool>(
    token: P::Token,
    args: &MapArgs<SymmetricConstants, F::In, F::Out>,
    map_of: impl Fn(Row<R>) -> F,
) {
    let row_of = |row| {
        // SAFETY: row < rows.
        let scale = unsafe { read(args.scale, row) };
        map_of(Row::new::<F::In>(&args.quant, scale))
    };
    let buffers = (args.input, args.output);
    // SAFETY: the buffers hold `rows` rows (caller).
    unsafe { map_rows::<V, P, F>(token, buffers, args.units, args.len, row_of) }
}

/// The forward pass.
///
/// # Safety
/// As for [`map`].
#[inline(always)]
pub(crate) unsafe fn forward<V: Vector, P: Pair<V>, const R: bool, T: Data>(
    token: P::Token,
    args: &MapArgs<SymmetricConstants, T, T>,
) {
    // SAFETY: the caller's.
    unsafe { map::<V, P, _, R>(token, args, |row| Forward(row, PhantomData)) }
}

/// The codes `c`, which the caller has checked exist.
///
/// # Safety
/// As for [`map`].
#[inline(always)]
pub(crate) unsafe fn quantize<V: Vector, P: Pair<V>, const R: bool, T: Data>(
    token: P::Token,
    args: &MapArgs<SymmetricConstants, T, i8>,
) {
    // SAFETY: the caller's.
    unsafe { map::<V, P, _, R>(token, args, |row| Codes(row, PhantomData)) }
}

/// The values of codes, which the caller has checked are in `[min_v, max_v]`.
///
/// # Safety
/// As for [`map`].
#[inline(always)]
pub(crate) unsafe fn dequantize<V: Vector, P: Pair<V>, T: Data>(
    token: P::Token,
    args: &MapArgs<SymmetricConstants, i8, T>,
) {
    // SAFETY: the caller's (no division: one copy).
    unsafe { map::<V, P, _, false>(token, args, |row| Values(row, PhantomData)) }
}

/// # Safety
/// As for [`forward`], with the gradients' buffers of the same lengths.
#[inline(always)]
pub(crate) unsafe fn backward<V: Vector, P: Pair<V>, const R: bool, T: Data, G: Data>(
    token: P::Token,
    args: &BackwardArgs<SymmetricConstants, T, G>,
) {
    let (quant, buffers) = (
        &args.quant,
        (args.grad_output, args.weight, args.grad_weight),
    );
    let row_of = |row| {
        // SAFETY: row < rows; read before grad_scale[row] is written.
        let scale = unsafe { read(args.scale, row) };
        (Row::<R>::new::<T>(quant, scale), scale)
    };
    let (rows, cols) = (args.units, args.len);
    let finish = |row: usize, scale: f32, totals: Totals| {
        // SAFETY: row < rows.
        unsafe {
            args.grad_scale
                .add(row)
                .write(G::narrow(quant.finish(scale, totals.values())[0]))
        };
    };
    // SAFETY: the buffers hold `rows` rows (caller).
    unsafe {
        backward_rows::<V, P, T, _, _, _>(
            token,
            buffers,
            rows,
            cols,
            row_of,
            |_| Totals::ZERO,
            finish,
        )
    }
}

/// The backward pass for a shard: the weight gradients, and each row's sums
/// as block values to `args.block_sums` (which must be set).
///
/// # Safety
/// As for [`backward`], with `block_sums` valid for `2 * block_count(cols)`
/// values per row.
#[inline(always)]
pub(crate) unsafe fn backward_blocks<V: Vector, P: Pair<V>, const R: bool, T: Data>(
    token: P::Token,
    args: &BackwardArgs<SymmetricConstants, T, T>,
) {
    let Some(out) = args.block_sums else { return };
    let (quant, buffers) = (
        &args.quant,
        (args.grad_output, args.weight, args.grad_weight),
    );
    let row_of = |row| {
        // SAFETY: row < rows.
        let scale = unsafe { read(args.scale, row) };
        (Row::<R>::new::<T>(quant, scale), ())
    };
    let (rows, cols) = (args.units, args.len);
    let blocks = block_count(cols);
    let sums_of = |row: usize| BlockValues {
        // SAFETY: `out` holds `2 * blocks` values per row (caller).
        out: unsafe { out.add(row * 2 * blocks) },
        blocks,
    };
    // SAFETY: the buffers hold `rows` rows (caller).
    unsafe {
        backward_rows::<V, P, T, _, _, _>(token, buffers, rows, cols, row_of, sums_of, |_, _, _| {})
    }
}

impl Quantizer for SymmetricConstants {
    type Code = i8;
    const OFFSETS: bool = false;
    type Forward<T: Data> = super::SymmetricForward<T>;
    type Quantize<T: Data> = super::SymmetricQuantize<T>;
    type Dequantize<T: Data> = super::SymmetricDequantize<T>;
    type Backward<T: Data, G: Data> = super::SymmetricBackward<T, G>;
    type BackwardBlocks<T: Data> = super::SymmetricBackwardBlocks<T>;
    type Calibrate<T: Data> = super::SymmetricCalibrate<T>;

    /// A NaN weight or scale, an infinite scale, or `c * ps` past bf16's
    /// range give a value that is not finite.
    unsafe fn codes_exist<T: Data>(
        backend: Backend,
        args: &MapArgs<Self, T, i8>,
    ) -> Result<(), Error> {
        let cols = args.len;
        // SAFETY: the caller's.
        let (weights, scales) = unsafe {
            (
                elements(args.input, args.units * cols),
                elements(args.scale, args.units),
            )
        };
        // SAFETY: the backend is the call's (its ISA runs here).
        let no_nan = unsafe { no_nan(backend, weights) };
        for (row, &scale) in scales.iter().enumerate() {
            // SAFETY: the row is one of `units` in the weights (caller); with
            // no columns it is empty.
            let weights = unsafe { elements(args.input.add(row * cols), cols) };
            if !values_finite(&args.quant, widen(scale), weights, no_nan) {
                return Err(Error::new(Argument::Weight, Rule::NoCode));
            }
        }
        Ok(())
    }

    /// Every code in `[min_v, max_v]`.
    unsafe fn codes_on_grid<T: Data>(
        backend: Backend,
        args: &MapArgs<Self, i8, T>,
    ) -> Result<(), Error> {
        // SAFETY: the caller's.
        let codes = unsafe { elements(args.input, args.units * args.len) };
        // SAFETY: the backend is the call's (its ISA runs here).
        let (low, high) = unsafe { backend.run::<super::CodeRange>(codes) };
        if codes.is_empty()
            || (f32::from(low) >= args.quant.min_v && f32::from(high) <= args.quant.max_v)
        {
            Ok(())
        } else {
            Err(Error::new(Argument::Codes, Rule::OutsideRange))
        }
    }

    /// `grad_scale = (level_sum + weight_sum) * gate`.
    #[inline(always)]
    fn finish(&self, scale: f32, [level_sum, weight_sum]: [f32; 2]) -> [f32; 2] {
        [(level_sum + weight_sum) * gate(scale, self.eps), 0.0]
    }
}
