//! Every kernel on every backend against the independent reference in
//! `common`: random data at the reference's distributions, rounding ties, and
//! special values (NaN, infinities, signed zeros, subnormals, scales at and
//! around eps, negative and NaN scales).

mod common;

use common::*;
use half::bf16;
use qat_kernels::{AsymmetricPerGroup, Symmetric};

fn asymmetric_case(
    g: &[bf16],
    x: &[bf16],
    s: &[bf16],
    o: &[bf16],
    p: &AsymmetricPerGroup,
    what: &str,
) {
    let want = asymmetric(g, x, s, o, p);
    on_every_path(
        what,
        |b| run_asymmetric(b, g, x, s, o, p),
        |got| check_asymmetric(got, &want),
    );
}

fn symmetric_case(g: &[bf16], x: &[bf16], s: &[bf16], p: &Symmetric, per_tensor: bool, what: &str) {
    let cols = if s.is_empty() { 0 } else { x.len() / s.len() };
    let want = symmetric(g, x, s, cols, p);
    on_every_path(
        what,
        |b| run_symmetric(b, g, x, s, p, per_tensor),
        |got| check_symmetric(got, &want),
    );
}

#[test]
fn asymmetric_random_reference_distributions() {
    let mut rng = Rng(1);
    for (group_size, bit) in [
        (32, 2),
        (64, 3),
        (128, 4),
        (256, 4),
        (128, 8),
        (24, 16),
        (7, 1),
    ] {
        let p = AsymmetricPerGroup {
            group_size,
            bit,
            ..Default::default()
        };
        let numel = group_size * 37;
        let groups = numel / group_size;
        // Wide: weights, scales and offsets uniform in [-5, 5].
        let x = rng.vec(numel, |r| r.uniform(-5.0, 5.0));
        let g = rng.vec(numel, |r| r.uniform(-5.0, 5.0));
        let s = rng.vec(groups, |r| r.uniform(-5.0, 5.0));
        let o = rng.vec(groups, |r| r.uniform(-5.0, 5.0));
        asymmetric_case(&g, &x, &s, &o, &p, &format!("wide g{group_size} b{bit}"));
        // Typical: weights N(0, 0.02), scales 1e-3..5e-2, small offsets.
        let x = rng.vec(numel, |r| r.normal(0.02));
        let g = rng.vec(numel, |r| r.normal(1e-3));
        let s = rng.vec(groups, |r| r.uniform(1e-3, 5e-2));
        let o = rng.vec(groups, |r| r.uniform(-0.01, 0.01));
        asymmetric_case(&g, &x, &s, &o, &p, &format!("typical g{group_size} b{bit}"));
    }
}

#[test]
fn symmetric_random_reference_distributions() {
    let mut rng = Rng(2);
    for (rows, cols, bit) in [(16, 200, 8), (9, 4096, 4), (3, 8191, 8), (64, 17, 2)] {
        let p = Symmetric::signed(bit);
        let numel = rows * cols;
        let x = rng.vec(numel, |r| r.uniform(-5.0, 5.0));
        let g = rng.vec(numel, |r| r.uniform(-5.0, 5.0));
        let s = rng.vec(rows, |r| r.uniform(-5.0, 5.0));
        symmetric_case(&g, &x, &s, &p, false, &format!("wide {rows}x{cols}"));
        symmetric_case(&g, &x, &s[..1], &p, true, &format!("wide tensor {numel}"));
        let x = rng.vec(numel, |r| r.normal(0.02));
        let g = rng.vec(numel, |r| r.normal(1e-3));
        let s = rng.vec(rows, |r| r.uniform(1e-3, 5e-2));
        symmetric_case(&g, &x, &s, &p, false, &format!("typical {rows}x{cols}"));
        symmetric_case(
            &g,
            &x,
            &s[..1],
            &p,
            true,
            &format!("typical tensor {numel}"),
        );
    }
}

#[test]
fn rounding_ties_go_to_even() {
    // Symmetric: ps = 0.25 and x = k / 8 put x / ps on every half-integer.
    let x: Vec<bf16> = (-64..64).map(|k| bf16::from_f32(k as f32 / 8.0)).collect();
    let g = vec![bf16::ONE; x.len()];
    let p = Symmetric {
        eps: 1e-4,
        min_v: -8.0,
        max_v: 7.0,
    };
    symmetric_case(&g, &x, &[bf16::from_f32(0.25)], &p, true, "ties");
    let mut out = vec![bf16::ZERO; x.len()];
    qat_kernels::symmetric_per_tensor(&x, bf16::from_f32(0.25), &mut out, &p).unwrap();
    // 0.125 / 0.25 = 0.5 -> 0; 0.375 / 0.25 = 1.5 -> 2; -0.125 -> -0.5 ->
    // round -0.0, a zero level, +0.0.
    assert_eq!(f32::from(out[65]), 0.0);
    assert_eq!(f32::from(out[67]), 0.5);
    assert_eq!(out[63].to_bits(), 0x0000);
    // Asymmetric: alpha = 1 (s = 0.125, 8 levels), x * 8 - 0.5 on half-integers.
    let p = AsymmetricPerGroup {
        group_size: 128,
        bit: 4,
        ..Default::default()
    };
    asymmetric_case(
        &g,
        &x,
        &[bf16::from_f32(0.125)],
        &[bf16::ZERO],
        &p,
        "asymmetric ties",
    );
}

#[test]
fn special_values_everywhere() {
    let specials = special_values();
    let mut rng = Rng(3);
    let pick = |r: &mut Rng| {
        if r.below(3) == 0 {
            specials[r.below(specials.len())]
        } else {
            r.uniform(-2.0, 2.0)
        }
    };
    let scales: Vec<bf16> = [
        0.05f32,
        1e-4,
        9.9e-5,
        1.01e-4,
        0.0,
        -0.0,
        -0.05,
        1e-30,
        f32::NAN,
        f32::INFINITY,
        -f32::INFINITY,
    ]
    .iter()
    .map(|&v| bf16::from_f32(v))
    .chain([bf16::from_bits(0x0001)])
    .collect();
    // Per group: every scale, every group a mix of specials.
    let p = AsymmetricPerGroup {
        group_size: 19,
        ..Default::default()
    };
    let groups = scales.len() * 3;
    let x = rng.vec(groups * 19, pick);
    let g = rng.vec(groups * 19, pick);
    let s: Vec<bf16> = (0..groups).map(|k| scales[k % scales.len()]).collect();
    let o: Vec<bf16> = (0..groups)
        .map(|k| {
            if k < scales.len() {
                bf16::ZERO
            } else {
                pick(&mut rng)
            }
        })
        .collect();
    asymmetric_case(&g, &x, &s, &o, &p, "asymmetric specials");
    // Eps exactly representable in bf16, so that "scale equal to eps" is tested.
    let eps = f32::from(bf16::from_f32(1e-4));
    let p = AsymmetricPerGroup { eps, ..p };
    let s2: Vec<bf16> = s
        .iter()
        .map(|&v| {
            if v == bf16::from_f32(1e-4) {
                bf16::from_f32(eps)
            } else {
                v
            }
        })
        .collect();
    asymmetric_case(&g, &x, &s2, &o, &p, "asymmetric scale == eps");
    // Per channel and per tensor.
    let cols = 23;
    let x = rng.vec(scales.len() * cols, pick);
    let g = rng.vec(scales.len() * cols, pick);
    for p in [
        Symmetric::default(),
        Symmetric::signed(4),
        Symmetric {
            eps,
            min_v: 0.0,
            max_v: 15.0,
        },
    ] {
        symmetric_case(&g, &x, &scales, &p, false, "channel specials");
        for &s in &scales {
            symmetric_case(&g, &x, &[s], &p, true, "tensor specials");
        }
    }
}

#[test]
fn scales_around_eps_on_clean_data() {
    // No NaN or infinity in the data, so that the gate and the eps clamp show.
    let eps = f32::from(bf16::from_f32(1e-4));
    let below = f32::from(bf16::from_bits(bf16::from_f32(eps).to_bits() - 1));
    let above = f32::from(bf16::from_bits(bf16::from_f32(eps).to_bits() + 1));
    let scales: Vec<bf16> = [below, eps, above, 0.0, -0.0, -0.05, 0.05, 1e-30]
        .iter()
        .map(|&v| bf16::from_f32(v))
        .collect();
    let mut rng = Rng(4);
    let cols = 40;
    let x = rng.vec(scales.len() * cols, |r| r.normal(1e-3));
    let g = rng.vec(scales.len() * cols, |r| r.uniform(-1.0, 1.0));
    let offsets = vec![bf16::ZERO; scales.len()];
    let p = AsymmetricPerGroup {
        group_size: cols,
        eps,
        ..Default::default()
    };
    asymmetric_case(&g, &x, &scales, &offsets, &p, "asymmetric around eps");
    let p = Symmetric {
        eps,
        ..Symmetric::signed(4)
    };
    symmetric_case(&g, &x, &scales, &p, false, "channel around eps");
    for &s in &scales {
        symmetric_case(&g, &x, &[s], &p, true, "tensor around eps");
    }
    // The gate is closed at s == eps: grad_scale is exactly zero there.
    let mut gs = vec![bf16::ONE; scales.len()];
    let mut gw = vec![bf16::ZERO; x.len()];
    qat_kernels::symmetric_per_channel_backward(&g, &x, &scales, &mut gw, &mut gs, &p).unwrap();
    assert_eq!(gs[1].to_bits(), 0);
    assert_ne!(gs[2].to_bits(), 0);
}

#[test]
fn empty_inputs_write_zero_sums() {
    for (name, b) in backends() {
        let p = Symmetric::default();
        let mut gs = bf16::from_bits(0x1234);
        b.symmetric_per_tensor_backward::<bf16>(&[], &[], bf16::ONE, &mut [], &mut gs, &p)
            .unwrap();
        assert_eq!(gs.to_bits(), 0x0000, "{name}");
        let mut gs = [bf16::from_bits(0x1234); 3];
        b.symmetric_per_channel_backward::<bf16>(&[], &[], &[bf16::ONE; 3], &mut [], &mut gs, &p)
            .unwrap();
        assert_eq!(gs.map(|v| v.to_bits()), [0; 3]);
        let a = AsymmetricPerGroup::default();
        b.asymmetric_per_group::<bf16>(&[], &[], &[], &mut [], &a)
            .unwrap();
        b.asymmetric_per_group_backward::<bf16>(&[], &[], &[], &[], &mut [], &mut [], &mut [], &a)
            .unwrap();
    }
}

#[test]
fn sums_past_bf16s_range_narrow_to_infinity() {
    // grad_offset sums g itself here (weights far outside the clip range).
    // bf16's largest value is 2^128 - 2^120; a sum that f32 holds but bf16
    // does not narrows to infinity from the midpoint to 2^128 on, 2^128 -
    // 2^119, a tie that goes to infinity's even significand, and to the
    // largest value below it. Both sums are exact in f32 in every order.
    let (max, half_ulp, quarter_ulp) = (
        bf16::MAX,
        bf16::from_f64(2f64.powi(119)),
        bf16::from_f64(2f64.powi(118)),
    );
    for (sign, extra, want) in [
        (1.0, half_ulp, 0x7F80),
        (1.0, quarter_ulp, 0x7F7F),
        (-1.0, half_ulp, 0xFF80),
        (-1.0, quarter_ulp, 0xFF7F),
    ] {
        for group_size in [32, 64, 4100] {
            let mut g = vec![bf16::ZERO; group_size];
            g[3] = bf16::from_f64(sign * max.to_f64());
            g[group_size - 1] = bf16::from_f64(sign * extra.to_f64());
            let x = vec![bf16::ONE; group_size];
            let p = AsymmetricPerGroup {
                group_size,
                ..Default::default()
            };
            for (name, b) in backends() {
                let (mut gw, mut gs, mut go) =
                    (vec![bf16::ZERO; group_size], [bf16::ZERO], [bf16::ZERO]);
                let (s, o) = ([bf16::from_f32(1e-3)], [bf16::ZERO]);
                b.asymmetric_per_group_backward(&g, &x, &s, &o, &mut gw, &mut gs, &mut go, &p)
                    .unwrap();
                assert_eq!(
                    go[0].to_bits(),
                    want,
                    "{name}, groups of {group_size}: {sign} * (max + {extra})"
                );
            }
        }
    }
}

#[test]
fn huge_gradients_do_not_overflow_partial_sums() {
    // Gradients at bf16's largest magnitude in the same lane of an octet's
    // vectors (elements 0, 8, ..., 56): two of them overflow an f32 sum, and
    // eight fill the scaled partial sums to the brim. With an infinity of the
    // other sign in the group the exact sum is that infinity, not NaN; where
    // they cancel, the exact sum is small and finite. Weights far outside
    // the clip range, so that grad_offset sums g itself; per tensor, levels
    // of 1 where the weights are, so that the level sum does too.
    let max = bf16::MAX;
    let mut cases = Vec::new();
    for maxima in [2, 4, 8] {
        let mut to_infinity = vec![bf16::ZERO; 64];
        for k in 0..maxima {
            to_infinity[8 * k] = max;
        }
        to_infinity[5] = bf16::NEG_INFINITY;
        cases.push(to_infinity);
    }
    let mut cancelling = vec![bf16::ZERO; 64];
    for k in 0..8 {
        cancelling[8 * k] = if k % 3 == 0 { max } else { -max };
    }
    cancelling[1] = bf16::ONE;
    cases.push(cancelling);
    for g in cases {
        let x = vec![bf16::ONE; g.len()];
        let p = AsymmetricPerGroup {
            group_size: 64,
            ..Default::default()
        };
        asymmetric_case(
            &g,
            &x,
            &[bf16::from_f32(1e-3)],
            &[bf16::ZERO],
            &p,
            "huge gradients",
        );
        let p = Symmetric::signed(8);
        symmetric_case(&g, &x, &[bf16::ONE], &p, true, "huge gradients, per tensor");
    }
}
