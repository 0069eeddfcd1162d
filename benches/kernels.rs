//! Throughput of the six kernels on the scalar path and every SIMD path,
//! at an L1-resident, an L2-resident and a DRAM-sized tensor, beside a plain
//! copy of the same number of bf16 values (the memory baseline).
//!
//! `cargo bench --bench kernels`, then `python3 benches/summary.py` for the
//! README's table (G elements/s and time relative to the copy).

use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use half::bf16;
use qat_kernels::{AsymmetricPerGroup, Backend, Symmetric};

/// Deterministic weights ~ N(0, 0.02)-ish and gradients in [-1, 1].
fn data(n: usize, seed: u32) -> Vec<bf16> {
    let mut state = seed.wrapping_mul(2_654_435_761).max(1);
    (0..n)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            bf16::from_f32((state as f32 / u32::MAX as f32 - 0.5) * 0.08)
        })
        .collect()
}

/// Every path this CPU has, named: the scalar one, each SIMD one, and on a CPU
/// with AVX-512 BF16 also the AVX-512 build without it (what AVX-512 CPUs
/// before Zen 4 and Sapphire Rapids run).
fn paths() -> Vec<(&'static str, Backend)> {
    Backend::builds().collect()
}

fn kernels(c: &mut Criterion) {
    for (size, n, cols) in [
        ("l1_4096", 4096usize, 4096usize),
        ("l2_2p18", 1 << 18, 4096),
        ("dram_4096x4096", 4096 * 4096, 4096),
    ] {
        let mut group = c.benchmark_group(size);
        if n > 1 << 20 {
            group
                .sample_size(10)
                .measurement_time(Duration::from_secs(3));
        } else {
            group.measurement_time(Duration::from_secs(2));
        }
        group.warm_up_time(Duration::from_millis(500));
        let rows = n / cols;
        let (x, g) = (data(n, 1), data(n, 2));
        let mut out = vec![bf16::ZERO; n];
        let mut grad_weight = vec![bf16::ZERO; n];
        let forward_bytes = Throughput::ElementsAndBytes {
            elements: n as u64,
            bytes: 4 * n as u64,
        };
        let backward_bytes = Throughput::ElementsAndBytes {
            elements: n as u64,
            bytes: 6 * n as u64,
        };

        // The copy runs first and again last: memory bandwidth on a shared
        // machine drifts, and the summary takes the faster of the two.
        group.throughput(forward_bytes.clone());
        group.bench_function("copy", |b| b.iter(|| out.copy_from_slice(&x)));

        for (p, path) in paths() {
            for group_size in [32, 128, 256] {
                let groups = n / group_size;
                let params = AsymmetricPerGroup {
                    group_size,
                    ..Default::default()
                };
                let scale = vec![bf16::from_f32(0.01); groups];
                let offset = vec![bf16::from_f32(0.001); groups];
                let (mut gs, mut go) = (vec![bf16::ZERO; groups], vec![bf16::ZERO; groups]);
                group.throughput(forward_bytes.clone());
                group.bench_function(
                    BenchmarkId::new(format!("asymmetric_per_group_g{group_size}"), p),
                    |b| {
                        b.iter(|| {
                            path.asymmetric_per_group(&x, &scale, &offset, &mut out, &params)
                                .unwrap()
                        })
                    },
                );
                group.throughput(backward_bytes.clone());
                group.bench_function(
                    BenchmarkId::new(format!("asymmetric_per_group_backward_g{group_size}"), p),
                    |b| {
                        b.iter(|| {
                            path.asymmetric_per_group_backward(
                                &g,
                                &x,
                                &scale,
                                &offset,
                                &mut grad_weight,
                                &mut gs,
                                &mut go,
                                &params,
                            )
                            .unwrap()
                        })
                    },
                );
            }
            let params = Symmetric::signed(4);
            let scale = vec![bf16::from_f32(0.01); rows];
            let mut gs = vec![bf16::ZERO; rows];
            group.throughput(forward_bytes.clone());
            group.bench_function(BenchmarkId::new("symmetric_per_channel", p), |b| {
                b.iter(|| {
                    path.symmetric_per_channel(&x, &scale, &mut out, &params)
                        .unwrap()
                })
            });
            group.bench_function(BenchmarkId::new("symmetric_per_tensor", p), |b| {
                b.iter(|| {
                    path.symmetric_per_tensor(&x, scale[0], &mut out, &params)
                        .unwrap()
                })
            });
            group.throughput(backward_bytes.clone());
            group.bench_function(BenchmarkId::new("symmetric_per_channel_backward", p), |b| {
                b.iter(|| {
                    path.symmetric_per_channel_backward(
                        &g,
                        &x,
                        &scale,
                        &mut grad_weight,
                        &mut gs,
                        &params,
                    )
                    .unwrap()
                })
            });
            group.bench_function(BenchmarkId::new("symmetric_per_tensor_backward", p), |b| {
                b.iter(|| {
                    path.symmetric_per_tensor_backward(
                        &g,
                        &x,
                        scale[0],
                        &mut grad_weight,
                        &mut gs[0],
                        &params,
                    )
                    .unwrap()
                })
            });
        }
        group.throughput(forward_bytes.clone());
        group.bench_function("copy_again", |b| b.iter(|| out.copy_from_slice(&x)));
        group.finish();
    }
}

criterion_group!(benches, kernels);
criterion_main!(benches);
