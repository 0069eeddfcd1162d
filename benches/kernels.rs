//! Throughput of the training kernels (forward and backward of each
//! weight quantizer) on the scalar backend and every SIMD backend,
//! at an L1-resident, an L2-resident and a DRAM-sized tensor, beside a plain
//! copy of the same number of bf16 values (the memory baseline).
//!
//! `cargo bench --bench kernels`, then `python3 benches/summary.py` for the
//! README's table (G elements/s and time relative to the copy). The `paired`
//! benchmark measures the ratios to the copy in a way that bandwidth drift
//! on a shared machine does not move.

mod common;

use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

fn kernels(c: &mut Criterion) {
    // `cargo bench` passes `--bench`; without it (`cargo test` runs benches
    // too, each benchmark once, in a debug build) only the smallest size,
    // which checks every kernel on every backend in a second, not minutes.
    let bench = std::env::args().any(|a| a == "--bench");
    let sizes = [
        ("l1_4096", 4096usize, 4096usize),
        ("l2_2p18", 1 << 18, 4096),
        ("dram_4096x4096", 4096 * 4096, 4096),
    ];
    for (size, n, cols) in sizes.into_iter().take(if bench { 3 } else { 1 }) {
        let mut group = c.benchmark_group(size);
        if n > 1 << 20 {
            group
                .sample_size(10)
                .measurement_time(Duration::from_secs(3));
        } else {
            group.measurement_time(Duration::from_secs(2));
        }
        group.warm_up_time(Duration::from_millis(500));
        let mut tensors = common::Tensors::new(n);
        // Elements, and the bytes read and written per element.
        let bytes = |per_weight: u64| Throughput::ElementsAndBytes {
            elements: n as u64,
            bytes: per_weight * n as u64,
        };

        // The copy runs first and again last: memory bandwidth on a shared
        // machine drifts, and the summary takes the faster of the two.
        group.throughput(bytes(4));
        group.bench_function("copy", |b| b.iter(|| tensors.copy()));
        let mut all = common::kernels(n, cols);
        for (p, backend) in common::backends() {
            for kernel in &mut all {
                group.throughput(bytes(kernel.bytes_per_weight));
                group.bench_function(BenchmarkId::new(&kernel.name, p), |b| {
                    b.iter(|| (kernel.run)(&backend, &mut tensors))
                });
            }
        }
        group.throughput(bytes(4));
        group.bench_function("copy_again", |b| b.iter(|| tensors.copy()));
        group.finish();
    }
}

criterion_group!(benches, kernels);
criterion_main!(benches);
