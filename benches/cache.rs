//! Each kernel's time per element on a tensor that stays in the L2 cache
//! (32,768 elements: 64 KiB per bf16 tensor), beside a copy of as many bf16
//! values between two in-cache buffers, measured in turn round after round
//! as `paired` does at 4096 x 4096. In cache, memory bandwidth is no longer
//! the bound: what shows is the work per element, divisions included.
//!
//! Each kernel runs both ways of dividing by a scale (`Division`), in turn
//! within each round: by instruction and by reciprocal (the same bits).
//!
//! `cargo bench --bench cache [-- TEXT]` (a few minutes); a text keeps the
//! kernels whose name and backend (`NAME BACKEND`) contain it.

mod common;

use qat_kernels::{set_division, Division};
use std::time::Instant;

const ROUNDS: usize = 31;
/// Elements per tensor, and calls per timed run.
const N: usize = 32 * 1024;
const CALLS: usize = 64;

fn seconds(mut f: impl FnMut()) -> f64 {
    let start = Instant::now();
    for _ in 0..CALLS {
        f();
    }
    start.elapsed().as_secs_f64()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut tensors = common::Tensors::new(N);
    let mut all = common::kernels(N, 1024);
    if !args.iter().any(|a| a == "--bench") {
        // `cargo test` runs benches too: each kernel once.
        for (_, backend) in common::backends() {
            for kernel in &mut all {
                (kernel.run)(&backend, &mut tensors);
            }
        }
        println!("cache: every kernel ran once on every backend (test mode)");
        return;
    }
    let filter = args.iter().find(|a| !a.starts_with('-'));
    println!(
        "| kernel | backend | by instruction: ns / element | / copy | by reciprocal: ns / element | / copy | reciprocal / instruction, range |"
    );
    println!("| --- | --- | ---: | ---: | ---: | ---: | ---: |");
    for (p, backend) in common::backends() {
        for kernel in &mut all {
            if filter.is_some_and(|f| !format!("{} {p}", kernel.name).contains(f.as_str())) {
                continue;
            }
            let mut rounds = Vec::new();
            for _ in 0..ROUNDS {
                tensors.copy();
                let copy = seconds(|| tensors.copy());
                let mut time = |division| {
                    set_division(division);
                    (kernel.run)(&backend, &mut tensors);
                    seconds(|| (kernel.run)(&backend, &mut tensors))
                };
                let (instruction, reciprocal) =
                    (time(Division::Instruction), time(Division::Reciprocal));
                rounds.push([instruction, reciprocal, copy]);
            }
            set_division(Division::Auto);
            let per_element = |t: f64| t / (CALLS * N) as f64 * 1e9;
            let median = |f: &dyn Fn(&[f64; 3]) -> f64| {
                let mut v: Vec<f64> = rounds.iter().map(f).collect();
                v.sort_by(f64::total_cmp);
                (v[ROUNDS / 2], v[0], v[ROUNDS - 1])
            };
            let (instruction, reciprocal) = (median(&|r| r[0]).0, median(&|r| r[1]).0);
            let (ratio, lo, hi) = median(&|r| r[1] / r[0]);
            println!(
                "| {} | {p} | {:.3} | {:.2} | {:.3} | {:.2} | {ratio:.2} ({lo:.2} to {hi:.2}) |",
                kernel.name,
                per_element(instruction),
                median(&|r| r[0] / r[2]).0,
                per_element(reciprocal),
                median(&|r| r[1] / r[2]).0,
            );
        }
    }
}
