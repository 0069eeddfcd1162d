//! Symmetric fake quantization with a learnable scale (LSQ), one scale per row:
//! per channel, or per tensor as a single row.
//!
//! ```text
//! ps  = max(s, eps)
//! c   = clip(round(x / ps), min_v, max_v)
//! out = c * ps
//! ```
//! and backward, with `mask = 1` where `round(x / ps)` lies in `[min_v, max_v]`:
//! `grad_weight = g * mask`,
//! `grad_scale = (sum(g * c) + sum((g * mask) * ((-x) / ps))) * gate`.

use super::reduction::TERM_SCALE;
use super::rows::{backward_rows, map_rows};
use super::tails::read;
use super::{gate, protect, SymmetricArgs, SymmetricBackwardArgs};
use crate::bf16_bits::narrow;
use crate::params::Symmetric;
use crate::vector::{Lanes, Lanewise, Pair, Vector};

/// One row's constants, as scalars (see `asymmetric_per_group::Group`).
struct Row {
    scale: f32,
    min: f32,
    max: f32,
}

impl Row {
    #[inline(always)]
    fn new(quant: &Symmetric, scale: f32) -> Self {
        Row {
            scale: protect(scale, quant.eps),
            min: quant.min_v,
            max: quant.max_v,
        }
    }

    /// `(round(q), c)` for `q = x / ps`.
    #[inline(always)]
    fn quantize<V: Lanes>(&self, q: V) -> (V, V) {
        let r = q.round();
        (r, r.max(r.splat_as(self.min)).min(r.splat_as(self.max)))
    }
}

impl Lanewise for Row {
    #[inline(always)]
    fn forward<V: Lanes>(&self, x: V) -> V {
        let (_, c) = self.quantize(self.normalize(x));
        c.mul(c.splat_as(self.scale))
    }

    #[inline(always)]
    fn normalize<V: Lanes>(&self, x: V) -> V {
        x.div(x.splat_as(self.scale))
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

/// # Safety
/// The buffers satisfy the contract of [`super`] for `rows * cols` weights and
/// `rows` scales.
#[inline(always)]
pub(crate) unsafe fn forward<V: Vector, P: Pair<V>>(token: P::Token, args: &SymmetricArgs) {
    // SAFETY: row < rows.
    let row_of = |row| Row::new(&args.quant, unsafe { read(args.scale, row) });
    // SAFETY: the buffers hold `rows` rows (caller).
    unsafe { map_rows::<V, P, _>(token, (args.weight, args.out), args.rows, args.cols, row_of) }
}

/// # Safety
/// As for [`forward`], with the gradients' buffers of the same lengths.
#[inline(always)]
pub(crate) unsafe fn backward<V: Vector, P: Pair<V>>(
    token: P::Token,
    args: &SymmetricBackwardArgs,
) {
    let (quant, buffers) = (
        &args.quant,
        (args.grad_output, args.weight, args.grad_weight),
    );
    let row_of = |row| {
        // SAFETY: row < rows; read before grad_scale[row] is written.
        let scale = unsafe { read(args.scale, row) };
        (Row::new(quant, scale), gate(scale, quant.eps))
    };
    let finish = |row: usize, gate: f32, [level_sum, weight_sum]: [f32; 2]| {
        let grad_scale = (level_sum + weight_sum) * gate;
        // SAFETY: row < rows.
        unsafe { args.grad_scale.add(row).write(narrow(grad_scale)) };
    };
    // SAFETY: the buffers hold `rows` rows (caller).
    unsafe { backward_rows::<V, P, _, _>(token, buffers, args.rows, args.cols, row_of, finish) }
}
