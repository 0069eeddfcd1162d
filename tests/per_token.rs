//! Dynamic per-token fake quantization against an independent reference
//! written here from docs/kernels.md ("Per-token activations"), in plain
//! f32: every backend, bit for bit, on random rows, on rows of special values,
//! and on every bf16 value; the backward from the forward's parameters; the
//! statuses.

mod common;

use common::{backends, narrow, special_values, widen, Rng};
use half::bf16;
use qat_kernels::{Argument, Backend, Error, PerToken, Rule};

/// One row's reference: its scale, zero point, values and (for an output
/// gradient) input gradient.
struct Row {
    scale: f32,
    zero_point: i32,
    out: Vec<bf16>,
}

fn grid(bit: u32) -> (f32, f32) {
    let half = 2f32.powi(bit as i32 - 1);
    (-half, half - 1.0)
}

/// The NaN-propagating clip of the docs: `x < lo ? lo : x`, then
/// `x > hi ? hi : x`.
fn clip(x: f32, lo: f32, hi: f32) -> f32 {
    let x = if x < lo { lo } else { x };
    if x > hi {
        hi
    } else {
        x
    }
}

fn reference(x: &[bf16], p: &PerToken, symmetric: bool) -> Row {
    let (qmin, qmax) = grid(p.bit);
    let values: Vec<f32> = x.iter().map(|&v| widen(v)).collect();
    let (lo, hi) = if values.iter().any(|v| v.is_nan()) {
        (f32::NAN, f32::NAN)
    } else if values.is_empty() {
        (0.0, 0.0)
    } else {
        let lo = values.iter().copied().fold(f32::INFINITY, f32::min);
        let hi = values.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        (lo, hi)
    };
    let min_neg = if lo.is_nan() { lo } else { lo.min(0.0) };
    let max_pos = if hi.is_nan() { hi } else { hi.max(0.0) };
    let protect = |s: f32| if s < p.eps { p.eps } else { s };
    let (scale, zero_point) = if symmetric {
        let largest = if max_pos.is_nan() {
            max_pos
        } else {
            (-min_neg).max(max_pos)
        };
        (protect(largest / ((qmax - qmin) / 2.0)), 0.0)
    } else {
        let scale = protect((max_pos - min_neg) / (qmax - qmin));
        let zp = qmin - (min_neg / scale).round_ties_even();
        (scale, clip(zp, qmin, qmax))
    };
    let out = values
        .iter()
        .map(|&v| {
            let r = (v / scale).round_ties_even() + zero_point;
            narrow((clip(r, qmin, qmax) - zero_point) * scale)
        })
        .collect();
    Row {
        scale: if scale.is_nan() { f32::NAN } else { scale },
        zero_point: if zero_point.is_nan() {
            0
        } else {
            zero_point as i32
        },
        out,
    }
}

/// The straight-through gradient: `g` where `round(x / s) + zp` is on the
/// grid, 0 where it is clipped, NaN where it is NaN.
fn reference_backward(g: &[bf16], x: &[bf16], scale: f32, zp: i32, bit: u32) -> Vec<bf16> {
    let (qmin, qmax) = grid(bit);
    g.iter()
        .zip(x)
        .map(|(&g, &x)| {
            let r = (widen(x) / scale).round_ties_even() + zp as f32;
            let mask = if r.is_nan() {
                f32::NAN
            } else if (qmin..=qmax).contains(&r) {
                1.0
            } else {
                0.0
            };
            narrow(widen(g) * mask)
        })
        .collect()
}

struct Outputs {
    out: Vec<u16>,
    scale: Vec<u32>,
    zero_point: Vec<i32>,
    grad: Vec<u16>,
}

fn run(b: Backend, x: &[bf16], g: &[bf16], rows: usize, p: &PerToken, symmetric: bool) -> Outputs {
    let mut out = vec![bf16::ZERO; x.len()];
    let (mut scale, mut zero_point) = (vec![0f32; rows], vec![0i32; rows]);
    let forward = if symmetric {
        Backend::per_token_symmetric
    } else {
        Backend::per_token_asymmetric
    };
    forward(b, x, &mut out, &mut scale, &mut zero_point, p).unwrap();
    let mut grad = vec![bf16::ZERO; x.len()];
    b.per_token_backward(g, x, &scale, &zero_point, &mut grad, p)
        .unwrap();
    Outputs {
        out: out.iter().map(|v| v.to_bits()).collect(),
        scale: scale.iter().map(|v| v.to_bits()).collect(),
        zero_point,
        grad: grad.iter().map(|v| v.to_bits()).collect(),
    }
}

/// Every backend against the reference, both mappings.
fn check(what: &str, x: &[bf16], g: &[bf16], rows: usize, p: &PerToken) -> usize {
    let cols = x.len().checked_div(rows).unwrap_or(0);
    let mut checked = 0;
    for symmetric in [false, true] {
        let mut want = Outputs {
            out: vec![],
            scale: vec![],
            zero_point: vec![],
            grad: vec![],
        };
        for k in 0..rows {
            let (xr, gr) = (&x[k * cols..(k + 1) * cols], &g[k * cols..(k + 1) * cols]);
            let row = reference(xr, p, symmetric);
            want.grad.extend(
                reference_backward(gr, xr, row.scale, row.zero_point, p.bit)
                    .iter()
                    .map(|v| v.to_bits()),
            );
            want.out.extend(row.out.iter().map(|v| v.to_bits()));
            want.scale.push(row.scale.to_bits());
            want.zero_point.push(row.zero_point);
        }
        for (name, b) in backends() {
            let got = run(b, x, g, rows, p, symmetric);
            let tag = format!("{what}, {name}, symmetric {symmetric}, bit {}", p.bit);
            if let Some(k) = (0..rows).find(|&k| got.scale[k] != want.scale[k]) {
                panic!(
                    "{tag}: scale {k}: {:#010x}, want {:#010x}",
                    got.scale[k], want.scale[k]
                );
            }
            if let Some(k) = (0..rows).find(|&k| got.zero_point[k] != want.zero_point[k]) {
                panic!(
                    "{tag}: zero point {k}: {}, want {}",
                    got.zero_point[k], want.zero_point[k]
                );
            }
            if let Some(i) = (0..x.len()).find(|&i| got.out[i] != want.out[i]) {
                panic!(
                    "{tag}: value {i} (x {:?}): {:#06x}, want {:#06x}",
                    x[i], got.out[i], want.out[i]
                );
            }
            if let Some(i) = (0..x.len()).find(|&i| got.grad[i] != want.grad[i]) {
                panic!(
                    "{tag}: gradient {i} (x {:?}, g {:?}): {:#06x}, want {:#06x}",
                    x[i], g[i], got.grad[i], want.grad[i]
                );
            }
            checked += x.len();
        }
    }
    checked
}

#[test]
fn random_rows_on_every_path_are_the_reference() {
    let mut rng = Rng(0x70CE);
    let specials = special_values();
    let mut checked = 0;
    for case in 0..120 {
        let rows = [1, 2, 3, 7][case % 4];
        let cols = [0, 1, 5, 16, 33, 64, 127, 4095, 4097][rng.below(9)];
        let bit = 2 + (case as u32 % 7);
        let eps = [f32::EPSILON, 1e-4, 1e-30][rng.below(3)];
        let sigma = [1e-3, 1.0, 300.0][rng.below(3)];
        let x = rng.vec(rows * cols, |r| {
            if r.below(50) == 0 {
                specials[r.below(specials.len())]
            } else {
                r.normal(sigma)
            }
        });
        let g = rng.vec(rows * cols, |r| r.normal(1.0));
        checked += check("random", &x, &g, rows, &PerToken { bit, eps });
    }
    println!("{checked} values checked");
}

#[test]
fn every_bf16_value_on_every_path_is_the_reference() {
    // Each value in its own row of ordinary ones (so that its scale is
    // ordinary and it meets the grid everywhere, ties included), and every
    // value in rows of 256 consecutive patterns (NaN rows, infinite ranges).
    let context = [-1.5f32, 0.25, 3.0, -0.0078125].map(bf16::from_f32);
    let mut x = Vec::with_capacity(65536 * 5);
    for bits in 0..=u16::MAX {
        x.push(bf16::from_bits(bits));
        x.extend(context);
    }
    let g: Vec<bf16> = (0..x.len())
        .map(|i| bf16::from_f32(1.0 - (i % 7) as f32 * 0.25))
        .collect();
    for bit in [2, 4, 8] {
        let p = PerToken {
            bit,
            eps: f32::EPSILON,
        };
        check("each value in a row", &x, &g, 65536, &p);
        let all: Vec<bf16> = (0..=u16::MAX).map(bf16::from_bits).collect();
        check("consecutive patterns", &all, &g[..65536], 256, &p);
    }
}

#[test]
fn ties_and_zero_rows_follow_the_documented_operations() {
    // A row of zeros: scale eps, zero point qmin (asymmetric), values 0.
    let b = Backend::new(qat_kernels::Isa::Scalar).unwrap();
    let p = PerToken::default();
    let x = [bf16::ZERO; 8];
    let (mut out, mut s, mut zp) = ([bf16::ONE; 8], [0f32], [0i32]);
    b.per_token_asymmetric(&x, &mut out, &mut s, &mut zp, &p)
        .unwrap();
    assert_eq!((s[0], zp[0]), (f32::EPSILON, -128));
    assert!(out.iter().all(|v| v.to_bits() == 0));
    // 0.5 and 1.5 steps round to even: a row [-1, 2] at 2 bits has scale
    // 1, zero point -2 - round(-1) = -1; x = 0.5 is exactly between levels.
    let x = [-1.0f32, 2.0, 0.5, 1.5].map(bf16::from_f32);
    let p = PerToken { bit: 2, eps: 1e-4 };
    let (mut out, mut s, mut zp) = ([bf16::ZERO; 4], [0f32], [0i32]);
    b.per_token_asymmetric(&x, &mut out, &mut s, &mut zp, &p)
        .unwrap();
    assert_eq!((s[0], zp[0]), (1.0, -1));
    // r = round(x) - 1, clipped to [-2, 1], value (r + 1) * 1.
    assert_eq!(out.map(f32::from), [-1.0, 2.0, 0.0, 2.0]);
}

#[test]
fn bad_arguments_are_refused_and_write_nothing() {
    for (_, b) in backends() {
        let x = [bf16::ONE; 6];
        let (mut out, mut s, mut zp) = ([bf16::ZERO; 6], [7f32; 2], [7i32; 2]);
        let cases: [(PerToken, usize, Error); 4] = [
            (
                PerToken { bit: 1, eps: 1e-4 },
                2,
                Error::new(Argument::Bit, Rule::TokenBits),
            ),
            (
                PerToken { bit: 9, eps: 1e-4 },
                2,
                Error::new(Argument::Bit, Rule::TokenBits),
            ),
            (
                PerToken { bit: 8, eps: 0.0 },
                2,
                Error::new(Argument::Eps, Rule::NotPositive),
            ),
            (
                PerToken { bit: 8, eps: 1e-4 },
                4,
                Error::new(Argument::Scale, Rule::ChannelCount),
            ),
        ];
        for (p, rows, error) in cases {
            let (s, zp) = (&mut s[..rows.min(2)], &mut zp[..rows.min(2)]);
            let got = if rows == 4 {
                b.per_token_asymmetric(&x[..5], &mut out[..5], s, zp, &p)
            } else {
                b.per_token_symmetric(&x, &mut out, s, zp, &p)
            };
            assert_eq!(got, Err(error), "{p:?}");
            assert!(out.iter().all(|v| v.to_bits() == 0) && s.iter().all(|&v| v == 7.0));
        }
        // Backward checks the width only.
        let mut grad = [bf16::ZERO; 6];
        let p = PerToken { bit: 9, eps: 0.0 };
        assert_eq!(
            b.per_token_backward(&x, &x, &[1.0; 2], &[0; 2], &mut grad, &p),
            Err(Error::new(Argument::Bit, Rule::TokenBits))
        );
        let p = PerToken { bit: 8, eps: 0.0 };
        assert_eq!(
            b.per_token_backward(&x, &x, &[1.0; 2], &[0; 2], &mut grad, &p),
            Ok(())
        );
    }
}
