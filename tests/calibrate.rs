//! Calibration against a brute-force oracle written from docs/kernels.md
//! ("Calibration") with the independent reference forward pass, on every
//! backend; never worse than min/max; LSQ's rule; degenerate units; statuses.

mod common;

use common::*;
use half::bf16;
use qat_kernels::{Argument, AsymmetricPerGroup, Backend, Calibration, Error, Rule, Symmetric};
use quickcheck::{QuickCheck, TestResult};

/// The smallest bf16 above eps.
fn eps_scale(eps: f32) -> bf16 {
    let b = bf16::from_f32(eps);
    if f32::from(b) > eps {
        b
    } else {
        bf16::from_bits(b.to_bits() + 1)
    }
}

fn candidate(min_max: f32, i: usize, eps: f32) -> bf16 {
    let s = bf16::from_f32(min_max * (i as f32 / 64.0));
    if f32::from(s) > eps {
        s
    } else {
        eps_scale(eps)
    }
}

fn error(x: &[bf16], out: &[bf16]) -> f64 {
    x.iter().zip(out).fold(0.0, |e, (&w, &q)| {
        let d = f64::from(widen(w)) - f64::from(widen(q));
        e + d * d
    })
}

/// The oracle for one symmetric unit: every candidate through the reference
/// forward pass.
fn symmetric_oracle(x: &[bf16], p: &Symmetric) -> bf16 {
    let largest = x.iter().fold(0.0f32, |m, &w| m.max(widen(w).abs()));
    if x.is_empty() || largest == 0.0 {
        return eps_scale(p.eps);
    }
    let levels = if p.max_v >= 1.0 {
        p.max_v
    } else {
        (-p.min_v).max(1.0)
    };
    let min_max = largest / levels;
    let g = vec![bf16::ZERO; x.len()];
    let mut best = (f64::INFINITY, eps_scale(p.eps));
    for i in 1..=64 {
        let s = candidate(min_max, i, p.eps);
        let e = error(x, &symmetric(&g, x, &[s], x.len(), p).out);
        if e < best.0 {
            best = (e, s);
        }
    }
    best.1
}

fn asymmetric_oracle(x: &[bf16], p: &AsymmetricPerGroup) -> (bf16, bf16) {
    let lo = x.iter().fold(f32::INFINITY, |m, &w| m.min(widen(w)));
    let hi = x.iter().fold(f32::NEG_INFINITY, |m, &w| m.max(widen(w)));
    let offset = bf16::from_f32(lo * 0.5 + hi * 0.5);
    let min_max = (hi - lo) / (2f32.powi(p.bit as i32) - 1.0);
    let mut best = (f64::INFINITY, eps_scale(p.eps));
    if min_max > 0.0 {
        let g = vec![bf16::ZERO; x.len()];
        let q = AsymmetricPerGroup {
            group_size: x.len(),
            ..*p
        };
        for i in 1..=64 {
            let s = candidate(min_max, i, p.eps);
            let e = error(x, &asymmetric(&g, x, &[s], &[offset], &q).out);
            if e < best.0 {
                best = (e, s);
            }
        }
    }
    (best.1, offset)
}

/// Weights of several shapes of distribution: uniform, normal, and heavy
/// tailed (a normal divided by the square root of a uniform).
fn weights(len: usize, seed: u64) -> Vec<bf16> {
    let mut rng = Rng(seed);
    let kind = seed % 3;
    rng.vec(len, |r| match kind {
        0 => r.uniform(-0.1, 0.1),
        1 => r.normal(0.02),
        _ => bf16::from_f32(f32::from(r.normal(0.01)) / (r.unit() as f32).max(1e-3).sqrt()),
    })
}

#[test]
fn search_matches_the_oracle_on_every_path() {
    for seed in 0..6u64 {
        let (rows, cols) = (5, 40 + seed as usize * 37);
        let x = weights(rows * cols, seed);
        for p in [
            Symmetric::signed(4),
            Symmetric::signed(8),
            Symmetric {
                eps: 1e-4,
                min_v: -1.0,
                max_v: 0.0,
            },
        ] {
            let want: Vec<bf16> = x
                .chunks(cols)
                .map(|row| symmetric_oracle(row, &p))
                .collect();
            for (name, b) in backends() {
                let mut scale = vec![bf16::ZERO; rows];
                b.symmetric_per_channel_calibrate(&x, &mut scale, &p, Calibration::Search)
                    .unwrap();
                assert_eq!(scale, want, "{name}: per channel, seed {seed}, {p:?}");
                let mut one = bf16::ZERO;
                b.symmetric_per_tensor_calibrate(&x, &mut one, &p, Calibration::Search)
                    .unwrap();
                assert_eq!(
                    one,
                    symmetric_oracle(&x, &p),
                    "{name}: per tensor, seed {seed}"
                );
            }
        }
        for (group_size, bit) in [(32, 2), (64, 3), (128, 4), (37, 8)] {
            let n = group_size * 6;
            let x = weights(n, seed + 10);
            let p = AsymmetricPerGroup {
                group_size,
                bit,
                ..Default::default()
            };
            let want: Vec<(bf16, bf16)> = x
                .chunks(group_size)
                .map(|g| asymmetric_oracle(g, &p))
                .collect();
            for (name, b) in backends() {
                let (mut s, mut o) = (vec![bf16::ZERO; 6], vec![bf16::ZERO; 6]);
                b.asymmetric_per_group_calibrate(&x, &mut s, &mut o, &p, Calibration::Search)
                    .unwrap();
                let got: Vec<(bf16, bf16)> = s.into_iter().zip(o).collect();
                assert_eq!(
                    got, want,
                    "{name}: groups of {group_size}, {bit} bits, seed {seed}"
                );
            }
        }
    }
}

#[test]
fn never_worse_than_min_max() {
    fn prop(seed: u64, len: u8, bit: u8) -> TestResult {
        let (len, bit) = (len as usize % 200 + 1, u32::from(bit % 8) + 1);
        let x = weights(len, seed);
        let b = Backend::active();
        let g = vec![bf16::ZERO; len];
        let p = Symmetric::signed(bit.max(2));
        let mut s = bf16::ZERO;
        b.symmetric_per_tensor_calibrate(&x, &mut s, &p, Calibration::Search)
            .unwrap();
        let largest = x.iter().fold(0.0f32, |m, &w| m.max(widen(w).abs()));
        let min_max = if largest == 0.0 {
            eps_scale(p.eps)
        } else {
            candidate(largest / p.max_v, 64, p.eps)
        };
        let calibrated = error(&x, &symmetric(&g, &x, &[s], len, &p).out);
        let plain = error(&x, &symmetric(&g, &x, &[min_max], len, &p).out);
        if calibrated > plain {
            return TestResult::failed();
        }
        let q = AsymmetricPerGroup {
            group_size: len,
            bit,
            ..Default::default()
        };
        let (mut s, mut o) = ([bf16::ZERO], [bf16::ZERO]);
        b.asymmetric_per_group_calibrate(&x, &mut s, &mut o, &q, Calibration::Search)
            .unwrap();
        let lo = x.iter().fold(f32::INFINITY, |m, &w| m.min(widen(w)));
        let hi = x.iter().fold(f32::NEG_INFINITY, |m, &w| m.max(widen(w)));
        let mm = (hi - lo) / (2f32.powi(bit as i32) - 1.0);
        let mm_scale = if mm > 0.0 {
            candidate(mm, 64, q.eps)
        } else {
            eps_scale(q.eps)
        };
        let calibrated = error(&x, &asymmetric(&g, &x, &s, &o, &q).out);
        let plain = error(&x, &asymmetric(&g, &x, &[mm_scale], &o, &q).out);
        TestResult::from_bool(calibrated <= plain)
    }
    QuickCheck::new()
        .tests(300)
        .quickcheck(prop as fn(u64, u8, u8) -> TestResult);
}

#[test]
fn lsq_mode_follows_the_rule() {
    let x = weights(4096, 1);
    let p = Symmetric::signed(4);
    let mut s = bf16::ZERO;
    qat_kernels::symmetric_per_tensor_calibrate(&x, &mut s, &p, Calibration::Lsq).unwrap();
    let mean = x.iter().map(|&w| f64::from(widen(w)).abs()).sum::<f64>() / x.len() as f64;
    assert_eq!(s, bf16::from_f32((2.0 * mean / 7f64.sqrt()) as f32));
    let q = AsymmetricPerGroup {
        group_size: 4096,
        bit: 4,
        ..Default::default()
    };
    let (mut s, mut o) = ([bf16::ZERO], [bf16::ZERO]);
    qat_kernels::asymmetric_per_group_calibrate(&x, &mut s, &mut o, &q, Calibration::Lsq).unwrap();
    let mean = x.iter().map(|&w| f64::from(widen(w))).sum::<f64>() / x.len() as f64;
    assert_eq!(o[0], bf16::from_f32(mean as f32));
    let center = f64::from(widen(o[0]));
    let spread = x
        .iter()
        .map(|&w| (f64::from(widen(w)) - center).abs())
        .sum::<f64>()
        / x.len() as f64;
    assert_eq!(s[0], bf16::from_f32((2.0 * spread / 8f64.sqrt()) as f32));
}

#[test]
fn degenerate_units_and_statuses() {
    let p = Symmetric::signed(4);
    let zeros = vec![bf16::ZERO; 100];
    let mut s = bf16::PI;
    qat_kernels::symmetric_per_tensor_calibrate(&zeros, &mut s, &p, Calibration::Search).unwrap();
    assert_eq!(s, eps_scale(p.eps));
    assert!(f32::from(s) > p.eps);
    let q = AsymmetricPerGroup {
        group_size: 50,
        bit: 4,
        ..Default::default()
    };
    let constant = vec![bf16::from_f32(0.3); 100];
    let (mut s, mut o) = ([bf16::PI; 2], [bf16::PI; 2]);
    qat_kernels::asymmetric_per_group_calibrate(&constant, &mut s, &mut o, &q, Calibration::Search)
        .unwrap();
    assert_eq!(s, [eps_scale(q.eps); 2]);
    assert_eq!(o, [bf16::from_f32(0.3); 2]);

    let mut with_nan = weights(100, 2);
    with_nan[77] = bf16::NAN;
    let (mut s, mut o) = ([bf16::PI; 2], [bf16::PI; 2]);
    assert_eq!(
        qat_kernels::asymmetric_per_group_calibrate(
            &with_nan,
            &mut s,
            &mut o,
            &q,
            Calibration::Search
        ),
        Err(Error::new(Argument::Weight, Rule::NotFinite))
    );
    with_nan[77] = bf16::INFINITY;
    let mut one = bf16::PI;
    assert_eq!(
        qat_kernels::symmetric_per_tensor_calibrate(&with_nan, &mut one, &p, Calibration::Lsq),
        Err(Error::new(Argument::Weight, Rule::NotFinite))
    );
    assert_eq!((s, o, one), ([bf16::PI; 2], [bf16::PI; 2], bf16::PI));
    let bad = Symmetric { eps: 0.0, ..p };
    assert_eq!(
        qat_kernels::symmetric_per_tensor_calibrate(&zeros, &mut one, &bad, Calibration::Search),
        Err(Error::new(Argument::Eps, Rule::NotPositive))
    );
}
