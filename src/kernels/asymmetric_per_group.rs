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

use super::{backward_row, gate, map_row, protect, read, Lanewise};
use super::{AsymmetricPerGroupArgs, AsymmetricPerGroupBackwardArgs};
use crate::bf16::narrow;
use crate::params::Asymmetric;
use crate::vector::Vector;

/// One group's constants, broadcast to every lane.
struct Group<V> {
    offset: V,
    alpha: V,
    low: V,
    high: V,
    levels: V,
    inverse_levels: V,
    shift: V,
}

impl<V: Vector> Group<V> {
    #[inline(always)]
    fn new(quant: &Asymmetric, scale: f32, offset: f32) -> Self {
        let alpha = protect(scale, quant.eps) * quant.levels;
        Group {
            offset: V::splat(offset),
            alpha: V::splat(alpha),
            low: V::splat(-quant.clip_val),
            high: V::splat(quant.clip_val),
            levels: V::splat(quant.levels),
            // Exact: `levels` is a power of two, so `/ n` equals `* (1 / n)`.
            inverse_levels: V::splat(1.0 / quant.levels),
            shift: V::splat(0.5),
        }
    }

    /// `(xn, xc, d)`: the normalized weight, its clipped value, and the
    /// dequantized level (still in units of alpha).
    #[inline(always)]
    fn quantize(&self, x: V) -> (V, V, V) {
        let xn = x.sub(self.offset).div(self.alpha);
        let xc = xn.max(self.low).min(self.high);
        let r = xc.mul(self.levels).sub(self.shift).round();
        let d = r.add(self.shift).mul(self.inverse_levels);
        (xn, xc, d)
    }
}

impl<V: Vector> Lanewise<V> for Group<V> {
    #[inline(always)]
    fn forward(&self, x: V) -> V {
        let (_, _, d) = self.quantize(x);
        d.mul(self.alpha).add(self.offset)
    }

    #[inline(always)]
    fn backward(&self, g: V, x: V) -> [V; 3] {
        let (xn, xc, d) = self.quantize(x);
        // 1 where -clip_val <= xn <= clip_val, which is where clipping left xn
        // unchanged, else 0; `xc - xc` is 0 unless xn is NaN, which so gives a
        // NaN mask.
        let mask = xn.ones_where_equal(xc).add(xc.sub(xc));
        let one = V::splat(1.0);
        [
            g.mul(mask),
            g.mul(one.sub(mask)),
            g.mul(d.sub(xn.mul(mask))),
        ]
    }
}

/// # Safety
/// The buffers satisfy the contract of [`super`] for `groups * group_size`
/// weights and `groups` scales and offsets.
#[inline(always)]
pub(crate) unsafe fn forward<V: Vector>(args: &AsymmetricPerGroupArgs) {
    let size = args.group_size;
    for k in 0..args.groups {
        // SAFETY: k < groups.
        let (scale, offset) = unsafe { (read(args.scale, k), read(args.offset, k)) };
        let group = Group::<V>::new(&args.quant, scale, offset);
        // SAFETY: group k spans elements [k * size, (k + 1) * size).
        unsafe {
            map_row(
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
pub(crate) unsafe fn backward<V: Vector>(args: &AsymmetricPerGroupBackwardArgs) {
    let size = args.group_size;
    for k in 0..args.groups {
        // SAFETY: k < groups. Both are read before grad_scale[k] and
        // grad_offset[k], which may be the same buffers, are written.
        let (scale, offset) = unsafe { (read(args.scale, k), read(args.offset, k)) };
        let group = Group::<V>::new(&args.quant, scale, offset);
        let at = k * size;
        // SAFETY: group k spans elements [at, at + size).
        let [offset_sum, alpha_sum] = unsafe {
            backward_row(
                args.grad_output.add(at),
                args.weight.add(at),
                args.grad_weight.add(at),
                size,
                &group,
            )
        };
        let grad_scale = alpha_sum * args.quant.levels * gate(scale, args.quant.eps);
        // SAFETY: k < groups.
        unsafe {
            args.grad_scale.add(k).write(narrow(grad_scale));
            args.grad_offset.add(k).write(narrow(offset_sum));
        }
    }
}
