//! Each kernel's time over the copy's, on a DRAM-sized tensor (4096 x 4096),
//! measured so that drifting memory bandwidth does not move it: the copy
//! and the kernel run in turn, round after round, and each round gives one
//! ratio of the kernel's time to the copy's just before it. Each timed run
//! follows an untimed run of the same operation, so that it finds the caches
//! as a loop of its own would leave them (as in the criterion benchmark). Printed as a
//! table: the median and the range of the rounds' ratios, per kernel and backend,
//! and the median against a copy of as many bytes as the kernel moves (a
//! backward kernel reads two tensors and writes one: 1.5 times the copy's;
//! quantize and dequantize move a byte per code: 0.75 times).
//!
//! `cargo bench --bench paired` (about 30 s on the machine of the README).

mod common;

use std::time::Instant;

const ROUNDS: usize = 31;

fn seconds(f: impl FnOnce()) -> f64 {
    let start = Instant::now();
    f();
    start.elapsed().as_secs_f64()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // `cargo bench` passes `--bench`. Without it (`cargo test` runs benches
    // too), each kernel runs once on a small tensor, as criterion does.
    if !args.iter().any(|a| a == "--bench") {
        let mut tensors = common::Tensors::new(4096);
        let mut all = common::kernels(4096, 1024);
        for (_, backend) in common::backends() {
            for kernel in &mut all {
                (kernel.run)(&backend, &mut tensors);
            }
        }
        println!("paired: every kernel ran once on every backend (test mode)");
        return;
    }
    // A name given after `--` keeps the kernels whose names contain it.
    let filter = args.iter().find(|a| !a.starts_with('-'));
    let (n, cols) = (4096 * 4096, 4096);
    let mut tensors = common::Tensors::new(n);
    let mut all = common::kernels(n, cols);
    println!("| kernel | backend | time / copy, median | range | per byte moved | copy G el/s |");
    println!("| --- | --- | ---: | ---: | ---: | ---: |");
    for (p, backend) in common::backends() {
        for kernel in &mut all {
            if filter.is_some_and(|f| !kernel.name.contains(f.as_str())) {
                continue;
            }
            (kernel.run)(&backend, &mut tensors); // warm up
            let (mut ratios, mut copies) = (Vec::new(), Vec::new());
            for _ in 0..ROUNDS {
                tensors.copy();
                let copy = seconds(|| tensors.copy());
                (kernel.run)(&backend, &mut tensors);
                let time = seconds(|| (kernel.run)(&backend, &mut tensors));
                ratios.push(time / copy);
                copies.push(n as f64 / copy / 1e9);
            }
            ratios.sort_by(f64::total_cmp);
            copies.sort_by(f64::total_cmp);
            let median = ratios[ROUNDS / 2];
            let moved = kernel.bytes_per_weight as f64 / 4.0;
            println!(
                "| {} | {p} | {median:.2} | {:.2} to {:.2} | {:.2} | {:.2} |",
                kernel.name,
                ratios[0],
                ratios[ROUNDS - 1],
                median / moved,
                copies[ROUNDS / 2]
            );
        }
    }
}
