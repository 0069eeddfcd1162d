//! All 65,536 bf16 weight patterns through every kernel, forward and
//! backward, on every backend, for several scales and ranges: elementwise outputs
//! bit for bit against the reference, sums within the documented bound, and every
//! backend identical to the scalar one.

mod common;

use common::*;
use half::bf16;
use qat_kernels::{AsymmetricPerGroup, Symmetric};

fn all_weights() -> Vec<bf16> {
    (0..=u16::MAX).map(bf16::from_bits).collect()
}

/// Gradients: a fixed, varied pattern (ones, negative values, a few specials).
fn gradients(len: usize) -> Vec<bf16> {
    let mut rng = Rng(7);
    (0..len)
        .map(|i| match i % 97 {
            0 => bf16::NAN,
            1 => bf16::INFINITY,
            2 => bf16::NEG_ZERO,
            _ => rng.uniform(-2.0, 2.0),
        })
        .collect()
}

#[test]
fn asymmetric_per_group_all_weights() {
    let x = all_weights();
    let g = gradients(x.len());
    // The last four reach the edges of the forward's shortcut (computing in
    // units of ps, kernels/asymmetric_per_group.rs): alpha = ps * n
    // overflowing; alpha finite near f32's largest value, with `x - o`
    // overflowing; a subnormal scale, so that `(x - o) / ps` overflows where
    // `xn` does not; n = 1.
    for (group_size, bit, scale, offset, eps) in [
        (256, 4, 0.05f32, 0.0f32, 1e-4f32),
        (128, 2, 1e-3, 0.01, 1e-4),
        (64, 8, 1.0, -0.5, 1e-4),
        (512, 4, 1e-5, 0.0, 1e-4),
        (1024, 16, 3e-2, 1e3, 1e-4),
        (256, 8, 3.0e36, 0.0, 1e-4),
        (256, 8, 2.0e36, 1.0e38, 1e-4),
        (256, 4, 1e-39, 0.0, 1e-41),
        (128, 1, 0.3, -3.0e38, 1e-4),
    ] {
        let p = AsymmetricPerGroup {
            group_size,
            bit,
            eps,
            ..Default::default()
        };
        let groups = x.len() / group_size;
        let s = vec![bf16::from_f32(scale); groups];
        let o = vec![bf16::from_f32(offset); groups];
        let want = asymmetric(&g, &x, &s, &o, &p);
        on_every_path(
            &format!("g{group_size} s{scale}"),
            |b| run_asymmetric(b, &g, &x, &s, &o, &p),
            |got| check_asymmetric(got, &want),
        );
    }
}

#[test]
fn symmetric_all_weights() {
    let x = all_weights();
    let g = gradients(x.len());
    for (scale, p) in [
        (0.05f32, Symmetric::default()),
        (1e-3, Symmetric::signed(4)),
        (1e-5, Symmetric::default()),
        (
            2.0,
            Symmetric {
                eps: 1e-4,
                min_v: 0.0,
                max_v: 255.0,
            },
        ),
        (
            1e-30,
            Symmetric {
                eps: 1e-20,
                min_v: -16_777_216.0,
                max_v: 16_777_216.0,
            },
        ),
    ] {
        for per_tensor in [false, true] {
            let rows = if per_tensor { 1 } else { 256 };
            let s = vec![bf16::from_f32(scale); rows];
            let want = symmetric(&g, &x, &s, x.len() / rows, &p);
            on_every_path(
                &format!("s{scale} tensor={per_tensor}"),
                |b| run_symmetric(b, &g, &x, &s, &p, per_tensor),
                |got| check_symmetric(got, &want),
            );
        }
    }
}
