//! The reduction order documented in `src/kernels/mod.rs` is a contract: these
//! tests write it out again from the documentation, for the per-tensor scale
//! gradient and for the per-group scale and offset gradients, and check every
//! backend's bits against it. The data are chosen so that the order shows: a
//! plain f64 sum, or the previous order (quads of vectors), gives other bits
//! on some of them (checked too, so the tests cannot pass vacuously).

mod common;

use common::{backends, Rng};
use half::bf16;
use qat_kernels::{AsymmetricPerGroup, Symmetric};

/// Blocks of 4096 terms, vectors of eight, octets of eight vectors, every
/// term divided by 8 first and every block's value multiplied by 8: the
/// documented order.
fn documented_sum(terms: &[f32]) -> f32 {
    blocked_sum(terms, 0.125, 8, |v| {
        ((v[0] + v[4]) + (v[2] + v[6])) + ((v[1] + v[5]) + (v[3] + v[7]))
    })
}

/// The order before octets: quads of vectors, terms quartered.
fn quad_sum(terms: &[f32]) -> f32 {
    blocked_sum(terms, 0.25, 4, |v| (v[0] + v[2]) + (v[1] + v[3]))
}

/// Per block, per lane: `combine` of the lane's terms (times `scale`) in each
/// group of `vectors` vectors (zero-padded), added in f64; the lanes by the
/// tree, divided by `scale`; the blocks by Neumaier's sum.
fn blocked_sum(terms: &[f32], scale: f32, vectors: usize, combine: fn(&[f32]) -> f32) -> f32 {
    let mut sum = Neumaier::default();
    for block in terms.chunks(4096) {
        let mut lanes = [0.0f64; 8];
        for group in block.chunks(8 * vectors) {
            for (lane, acc) in lanes.iter_mut().enumerate() {
                let column: Vec<f32> = (0..vectors)
                    .map(|k| group.get(8 * k + lane).map_or(0.0, |&t| t * scale))
                    .collect();
                *acc += f64::from(combine(&column));
            }
        }
        sum.add(lane_tree(lanes) / f64::from(scale));
    }
    sum.value()
}

fn lane_tree(l: [f64; 8]) -> f64 {
    ((l[0] + l[4]) + (l[2] + l[6])) + ((l[1] + l[5]) + (l[3] + l[7]))
}

#[derive(Default)]
struct Neumaier {
    sum: f64,
    compensation: f64,
}

impl Neumaier {
    fn add(&mut self, x: f64) {
        let total = self.sum + x;
        if total.is_finite() {
            self.compensation += if self.sum.abs() >= x.abs() {
                (self.sum - total) + x
            } else {
                (x - total) + self.sum
            };
        }
        self.sum = total;
    }
    fn value(&self) -> f32 {
        (self.sum + self.compensation) as f32
    }
}

/// The per-tensor scale gradient from the formulas of docs/kernels.md, one f32 operation at a
/// time, summed by `sum`, narrowed. Scale 1, so `ps = 1` and the gate is 1.
fn grad_scale(g: &[bf16], x: &[bf16], p: &Symmetric, sum: fn(&[f32]) -> f32) -> u16 {
    let (mut levels, mut weights) = (Vec::new(), Vec::new());
    for (&g, &x) in g.iter().zip(x) {
        let (g, x) = (f32::from(g), f32::from(x));
        let r = (x / 1.0).round_ties_even();
        let c = r.clamp(p.min_v, p.max_v);
        let mask = if r == c { 1.0 } else { 0.0 };
        levels.push(g * c);
        weights.push((g * mask) * ((-x) / 1.0));
    }
    bf16::from_f32(sum(&levels) + sum(&weights)).to_bits()
}

#[test]
fn every_path_sums_in_the_documented_order() {
    // Wide levels and weights spread over many binades, so that f32 octet
    // sums round, and signs that cancel, so that the rounding shows in
    // the bf16 result.
    let p = Symmetric {
        eps: 1e-4,
        min_v: -16_777_216.0,
        max_v: 16_777_216.0,
    };
    let mut rng = Rng(7);
    let (mut differs_from_f64, mut differs_from_quads) = (0, 0);
    for len in [
        1, 7, 8, 9, 31, 32, 33, 63, 64, 65, 96, 100, 127, 160, 1000, 4095, 4096, 4097, 12_333,
        20_000,
    ] {
        for _ in 0..20 {
            // Weights over binades 0 to 15 (a fifth of them below 2^12), and
            // two in five in pairs of equal weights with opposite gradients,
            // whose terms cancel in an exact sum but not always in the f32
            // partial sums; then shuffled.
            let mut pairs: Vec<(bf16, bf16)> = (0..len)
                .map(|i| {
                    let binade = if i % 5 == 0 { 0 } else { 4 } + (rng.next_u64() % 12) as i32;
                    let x = bf16::from_f64(f64::from(rng.normal(1.0)) * 2f64.powi(binade));
                    (x, rng.normal(1.0))
                })
                .collect();
            for i in (1..len).step_by(5) {
                if i + 1 < len {
                    pairs[i + 1] = (pairs[i].0, -pairs[i].1);
                }
            }
            for i in (1..len).rev() {
                pairs.swap(i, (rng.next_u64() % (i as u64 + 1)) as usize);
            }
            let (x, g): (Vec<bf16>, Vec<bf16>) = pairs.into_iter().unzip();
            let want = grad_scale(&g, &x, &p, documented_sum);
            let plain = grad_scale(&g, &x, &p, |t| {
                t.iter().map(|&t| f64::from(t)).sum::<f64>() as f32
            });
            differs_from_f64 += usize::from(plain != want);
            differs_from_quads += usize::from(grad_scale(&g, &x, &p, quad_sum) != want);
            for (name, b) in backends() {
                let (mut gw, mut gs) = (vec![bf16::ZERO; len], bf16::ZERO);
                b.symmetric_per_tensor_backward(&g, &x, bf16::ONE, &mut gw, &mut gs, &p)
                    .unwrap();
                assert_eq!(
                    gs.to_bits(),
                    want,
                    "{name}, {len} weights: {:#06x}, documented order {want:#06x}",
                    gs.to_bits()
                );
            }
        }
    }
    assert!(differs_from_f64 > 0, "the data do not tell orders apart");
    assert!(
        differs_from_quads > 0,
        "the data do not tell octets from quads"
    );
}

/// Per group: the asymmetric backward terms of docs/kernels.md, one f32 operation at a time,
/// each sum by `sum`, then `[grad_scale, grad_offset]` narrowed.
fn group_gradients(
    g: &[bf16],
    x: &[bf16],
    scale: bf16,
    offset: bf16,
    p: &AsymmetricPerGroup,
    sum: fn(&[f32]) -> f32,
) -> [u16; 2] {
    let n = 2f32.powi(p.bit as i32 - 1);
    let s = f32::from(scale);
    let ps = if s < p.eps { p.eps } else { s };
    let alpha = ps * n;
    let (mut offset_terms, mut alpha_terms) = (Vec::new(), Vec::new());
    for (&g, &x) in g.iter().zip(x) {
        let (g, x) = (f32::from(g), f32::from(x));
        let xn = (x - f32::from(offset)) / alpha;
        let xc = xn.clamp(-p.clip_val, p.clip_val);
        let r = (xc * n - 0.5).round_ties_even();
        let d = (r + 0.5) / n;
        let mask = if xn == xc { 1.0 } else { 0.0 };
        offset_terms.push(g * (1.0 - mask));
        alpha_terms.push(g * (d - xn * mask));
    }
    let gate = if s > p.eps { 1.0 } else { 0.0 };
    [
        bf16::from_f32(sum(&alpha_terms) * n * gate).to_bits(),
        bf16::from_f32(sum(&offset_terms)).to_bits(),
    ]
}

#[test]
fn per_group_sums_follow_the_documented_order() {
    // Most weights far outside the clip range, a few inside. Gradients that
    // cancel: each large one (2^8 to 2^12) has its negative in the same
    // group, and small ones (2^-16 to 2^-12, a fifth of them) are what is
    // left, so that where f32 sums round the small ones away shows in the
    // bf16 result. 19 and 45 groups: where a backend works in batches of 16 or
    // 32 groups and finishes their sums eight at a time, partial last
    // batches of 3, 13 and 19 groups (later eights' sums left from the batch
    // before); groups longer than a block take the compensated backend.
    let mut rng = Rng(11);
    let (mut differs_from_f64, mut differs_from_quads) = (0, 0);
    let sizes = [(32, 4), (96, 2), (128, 8), (200, 4), (4096, 4), (4100, 3)];
    for ((group_size, bit), groups) in sizes.into_iter().flat_map(|size| [(size, 19), (size, 45)]) {
        let len = group_size * groups;
        let p = AsymmetricPerGroup {
            group_size,
            bit,
            ..Default::default()
        };
        let x: Vec<bf16> = (0..len)
            .map(|i| {
                let size = if i % 10 == 3 { 1e-5 } else { 1.0 };
                rng.uniform(-size, size)
            })
            .collect();
        let mut g = Vec::with_capacity(len);
        for _ in 0..groups {
            let mut group: Vec<bf16> = Vec::with_capacity(group_size);
            for _ in 0..group_size / 5 {
                let small =
                    rng.uniform(-1.0, 1.0).to_f64() * 2f64.powi(-12 - (rng.next_u64() % 5) as i32);
                group.push(bf16::from_f64(small));
            }
            while group.len() + 1 < group_size {
                let big =
                    rng.uniform(1.0, 2.0).to_f64() * 2f64.powi(8 + (rng.next_u64() % 5) as i32);
                group.push(bf16::from_f64(big));
                group.push(bf16::from_f64(-big));
            }
            while group.len() < group_size {
                group.push(bf16::ZERO);
            }
            // Shuffled within the group (Fisher-Yates).
            for i in (1..group.len()).rev() {
                group.swap(i, (rng.next_u64() % (i as u64 + 1)) as usize);
            }
            g.extend(group);
        }
        let s: Vec<bf16> = (0..groups).map(|_| rng.uniform(1e-3, 0.05)).collect();
        let o: Vec<bf16> = (0..groups).map(|_| rng.uniform(-0.01, 0.01)).collect();
        let mut want = Vec::new();
        for k in 0..groups {
            let span = k * group_size..(k + 1) * group_size;
            let (gk, xk) = (&g[span.clone()], &x[span]);
            let documented = group_gradients(gk, xk, s[k], o[k], &p, documented_sum);
            let plain = group_gradients(gk, xk, s[k], o[k], &p, |t| {
                t.iter().map(|&t| f64::from(t)).sum::<f64>() as f32
            });
            let quads = group_gradients(gk, xk, s[k], o[k], &p, quad_sum);
            differs_from_f64 += usize::from(plain != documented);
            differs_from_quads += usize::from(quads != documented);
            want.push(documented);
        }
        for (name, b) in backends() {
            let (mut gw, mut gs, mut go) = (
                vec![bf16::ZERO; len],
                vec![bf16::ZERO; groups],
                vec![bf16::ZERO; groups],
            );
            b.asymmetric_per_group_backward(&g, &x, &s, &o, &mut gw, &mut gs, &mut go, &p)
                .unwrap();
            for (k, [scale, offset]) in want.iter().enumerate() {
                assert_eq!(
                    [gs[k].to_bits(), go[k].to_bits()],
                    [*scale, *offset],
                    "{name}, groups of {group_size}, group {k}: [grad_scale, grad_offset]"
                );
            }
        }
    }
    assert!(differs_from_f64 > 0, "the data do not tell orders apart");
    assert!(
        differs_from_quads > 0,
        "the data do not tell octets from quads"
    );
}

#[test]
fn sums_of_zeros_are_positive_zero() {
    // The order's accumulators start at +0.0, so a sum whose terms are all
    // -0.0 is +0.0, not the -0.0 of IEEE addition. Here every offset-gradient
    // term is -0.0 (g = -0.0, and 1 - mask is 0 or 1), so every grad_offset
    // must be +0.0, at every length: one vector or less, quads, octets,
    // tails, a block, and more than a block; and 19 groups, so a whole and
    // a partial batch, or a partial one, where a backend works in batches.
    let mut rng = Rng(13);
    for group_size in [1, 7, 8, 31, 32, 33, 64, 96, 128, 200, 256, 4096, 4100] {
        let groups = 19;
        let len = group_size * groups;
        let p = AsymmetricPerGroup {
            group_size,
            ..Default::default()
        };
        let g = vec![bf16::NEG_ZERO; len];
        let x: Vec<bf16> = (0..len).map(|_| rng.uniform(-1.0, 1.0)).collect();
        let s: Vec<bf16> = (0..groups).map(|_| rng.uniform(1e-3, 0.05)).collect();
        let o: Vec<bf16> = (0..groups).map(|_| rng.uniform(-0.01, 0.01)).collect();
        for (name, b) in backends() {
            let (mut gw, mut gs) = (vec![bf16::ZERO; len], vec![bf16::ZERO; groups]);
            let mut go = vec![bf16::ONE; groups];
            b.asymmetric_per_group_backward(&g, &x, &s, &o, &mut gw, &mut gs, &mut go, &p)
                .unwrap();
            for (k, go) in go.iter().enumerate() {
                assert_eq!(
                    go.to_bits(),
                    0,
                    "{name}, groups of {group_size}, group {k}: grad_offset {go:?}"
                );
            }
        }
    }
}
