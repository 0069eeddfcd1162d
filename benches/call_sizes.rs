//! Small calls, where a call's fixed cost shows: 16, 256 and 4096 elements
//! through the backend `Auto` picks, forward and backward. The per-call cost of
//! saving, setting and restoring the floating-point environment is the
//! difference to the same benchmark on a build without it.
//!
//! `cargo bench --bench call_sizes`

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use half::bf16;
use qat_kernels::{AsymmetricPerGroup, Backend, Isa, Symmetric};

fn call_sizes(c: &mut Criterion) {
    let backend = Backend::new(Isa::Auto).unwrap();
    let mut group = c.benchmark_group("call_sizes");
    group
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(500));
    for n in [16usize, 256, 4096] {
        let x: Vec<bf16> = (0..n)
            .map(|i| bf16::from_f32((i as f32 * 0.37).sin()))
            .collect();
        let g: Vec<bf16> = (0..n)
            .map(|i| bf16::from_f32((i as f32 * 0.11).cos()))
            .collect();
        let (mut out, mut gw) = (vec![bf16::ZERO; n], vec![bf16::ZERO; n]);
        let sym = Symmetric::signed(4);
        let scale = bf16::from_f32(0.1);
        group.bench_function(BenchmarkId::new("symmetric_per_tensor", n), |b| {
            b.iter(|| {
                backend
                    .symmetric_per_tensor(black_box(&x), scale, &mut out, &sym)
                    .unwrap()
            })
        });
        let mut gs = bf16::ZERO;
        group.bench_function(BenchmarkId::new("symmetric_per_tensor_backward", n), |b| {
            b.iter(|| {
                backend
                    .symmetric_per_tensor_backward(black_box(&g), &x, scale, &mut gw, &mut gs, &sym)
                    .unwrap()
            })
        });
        let params = AsymmetricPerGroup {
            group_size: 16,
            ..Default::default()
        };
        let (s, o) = (vec![scale; n / 16], vec![bf16::ZERO; n / 16]);
        group.bench_function(BenchmarkId::new("asymmetric_per_group_g16", n), |b| {
            b.iter(|| {
                backend
                    .asymmetric_per_group(black_box(&x), &s, &o, &mut out, &params)
                    .unwrap()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, call_sizes);
criterion_main!(benches);
