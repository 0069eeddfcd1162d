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
use super::rows::{backward_row, map_row};
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
    let cols = args.cols;
    for row in 0..args.rows {
        // SAFETY: row < rows.
        let quant = Row::new(&args.quant, unsafe { read(args.scale, row) });
        // SAFETY: the row spans elements [row * cols, (row + 1) * cols).
        unsafe {
            map_row::<V, P>(
                token,
                args.weight.add(row * cols),
                args.out.add(row * cols),
                cols,
                &quant,
            )
        };
    }
}

/// # Safety
/// As for [`forward`], with the gradients' buffers of the same lengths.
#[inline(always)]
pub(crate) unsafe fn backward<V: Vector, P: Pair<V>>(
    token: P::Token,
    args: &SymmetricBackwardArgs,
) {
    let cols = args.cols;
    for row in 0..args.rows {
        // SAFETY: row < rows; read before grad_scale[row] is written.
        let scale = unsafe { read(args.scale, row) };
        let quant = Row::new(&args.quant, scale);
        let at = row * cols;
        // SAFETY: the row spans elements [at, at + cols).
        let [level_sum, weight_sum] = unsafe {
            backward_row::<V, P>(
                token,
                args.grad_output.add(at),
                args.weight.add(at),
                args.grad_weight.add(at),
                cols,
                &quant,
            )
        };
        let grad_scale = (level_sum + weight_sum) * gate(scale, args.quant.eps);
        // SAFETY: row < rows.
        unsafe { args.grad_scale.add(row).write(narrow(grad_scale)) };
    }
}
