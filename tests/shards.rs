//! Scale gradients across shards: the backward kernels' block values,
//! combined and finished, against one call.
//!
//! - Unsharded, block values then finish give one call's bits, on every backend.
//! - A per-tensor weight cut into 1 to 8 shards: on block boundaries (whole
//!   blocks of 4096 from the start) the combined result is one call's, bit for
//!   bit; on any element boundaries it is within the documented bound; bf16
//!   partials added in f32, the naive way, are compared for the record.
//! - A per-channel row cut across shards on block boundaries: one call's bits.

mod common;

use common::*;
use half::bf16;
use qat_kernels::{
    asymmetric_per_group_finish, block_count, symmetric_per_channel_finish,
    symmetric_per_tensor_finish, Argument, AsymmetricPerGroup, Backend, Error, Rule, Symmetric,
};

fn mixed(len: usize, seed: u64) -> (Vec<bf16>, Vec<bf16>) {
    let mut rng = Rng(seed);
    let x = rng.vec(len, |r| r.uniform(-5.0, 5.0));
    let g = rng.vec(len, |r| r.uniform(-1.0, 1.0));
    (x, g)
}

#[test]
fn block_values_then_finish_give_one_calls_bits() {
    for (name, b) in backends() {
        for (groups, group_size) in [(3, 32), (5, 4096), (2, 4097), (2, 10_000), (4, 0x4000)] {
            let p = AsymmetricPerGroup {
                group_size,
                bit: 3,
                ..Default::default()
            };
            let n = groups * group_size;
            let (x, g) = mixed(n, n as u64);
            let mut rng = Rng(groups as u64);
            let s = rng.vec(groups, |r| r.uniform(0.005, 0.5));
            let o = rng.vec(groups, |r| r.uniform(-0.5, 0.5));
            let (mut gw, mut gs, mut go) = (
                vec![bf16::ZERO; n],
                vec![bf16::ZERO; groups],
                vec![bf16::ZERO; groups],
            );
            b.asymmetric_per_group_backward(&g, &x, &s, &o, &mut gw, &mut gs, &mut go, &p)
                .unwrap();
            let mut values = vec![0.0; groups * 2 * block_count(group_size)];
            let mut gw2 = vec![bf16::ZERO; n];
            b.asymmetric_per_group_backward_blocks(&g, &x, &s, &o, &mut gw2, &mut values, &p)
                .unwrap();
            let (mut gs2, mut go2) = (vec![bf16::ZERO; groups], vec![bf16::ZERO; groups]);
            asymmetric_per_group_finish(&values, &s, &mut gs2, &mut go2, &p).unwrap();
            assert_eq!(
                (gw2, gs2, go2),
                (gw, gs, go),
                "{name}: groups of {group_size}"
            );
        }
        for (rows, cols) in [(1, 5), (3, 4096), (2, 9000), (1, 100_000)] {
            let p = Symmetric::signed(4);
            let (x, g) = mixed(rows * cols, cols as u64);
            let s: Vec<bf16> = (0..rows)
                .map(|r| bf16::from_f32(0.1 + r as f32 * 0.3))
                .collect();
            let (mut gw, mut gs) = (vec![bf16::ZERO; x.len()], vec![bf16::ZERO; rows]);
            b.symmetric_per_channel_backward(&g, &x, &s, &mut gw, &mut gs, &p)
                .unwrap();
            let mut values = vec![0.0; rows * 2 * block_count(cols)];
            let mut gw2 = vec![bf16::ZERO; x.len()];
            b.symmetric_per_channel_backward_blocks(&g, &x, &s, &mut gw2, &mut values, &p)
                .unwrap();
            let mut gs2 = vec![bf16::ZERO; rows];
            symmetric_per_channel_finish(&values, &s, &mut gs2, cols, &p).unwrap();
            assert_eq!((gw2, gs2), (gw, gs), "{name}: {rows} x {cols}");
        }
    }
}

/// One call's per-tensor scale gradient, and the reference's exact sum with
/// its allowed error.
fn per_tensor_one_call(b: Backend, x: &[bf16], g: &[bf16], s: bf16, p: &Symmetric) -> bf16 {
    let (mut gw, mut gs) = (vec![bf16::ZERO; x.len()], bf16::ZERO);
    b.symmetric_per_tensor_backward(g, x, s, &mut gw, &mut gs, p)
        .unwrap();
    gs
}

/// The per-tensor scale gradient from shards cut at `cuts`: each shard's
/// block values added into the tensor's (at the block its first element
/// falls in), then finished.
fn per_tensor_sharded(
    b: Backend,
    x: &[bf16],
    g: &[bf16],
    s: bf16,
    p: &Symmetric,
    cuts: &[usize],
) -> bf16 {
    let total_blocks = block_count(x.len());
    let mut combined = vec![0.0f64; 2 * total_blocks];
    for shard in cuts.windows(2) {
        let (start, end) = (shard[0], shard[1]);
        let blocks = block_count(end - start);
        let mut values = vec![0.0; 2 * blocks];
        let mut gw = vec![bf16::ZERO; end - start];
        b.symmetric_per_tensor_backward_blocks(
            &g[start..end],
            &x[start..end],
            s,
            &mut gw,
            &mut values,
            p,
        )
        .unwrap();
        let first = start / 4096;
        for k in 0..blocks {
            // The all-reduce: a sum, in f64.
            combined[(first + k).min(total_blocks - 1)] += values[k];
            combined[total_blocks + (first + k).min(total_blocks - 1)] += values[blocks + k];
        }
    }
    let mut gs = bf16::ZERO;
    symmetric_per_tensor_finish(&combined, s, &mut gs, x.len(), p).unwrap();
    gs
}

/// Each shard's own bf16 scale gradient, added in f32: what a trainer gets
/// from the plain backward on shards.
fn per_tensor_bf16_partials(
    b: Backend,
    x: &[bf16],
    g: &[bf16],
    s: bf16,
    p: &Symmetric,
    cuts: &[usize],
) -> bf16 {
    let total: f32 = cuts
        .windows(2)
        .map(|w| f32::from(per_tensor_one_call(b, &x[w[0]..w[1]], &g[w[0]..w[1]], s, p)))
        .sum();
    bf16::from_f32(total)
}

#[test]
fn per_tensor_shards_give_one_calls_bits_on_block_boundaries_and_the_bound_elsewhere() {
    let p = Symmetric::signed(8);
    let n = 25 * 4096 + 1234;
    let (x, g) = mixed(n, 42);
    let s = bf16::from_f32(0.05);
    let reference = symmetric(&g, &x, &[s], n, &p).grad_scale[0];
    let mut rng = Rng(9);
    let (mut worst_blocks, mut worst_bf16) = (0.0f64, 0.0f64);
    for (name, b) in backends() {
        let one = per_tensor_one_call(b, &x, &g, s, &p);
        check_reduced(one, reference).unwrap_or_else(|e| panic!("{name}: one call: {e}"));
        for shards in 1..=8usize {
            // On block boundaries.
            let mut aligned: Vec<usize> = (0..shards).map(|k| k * 25 / shards * 4096).collect();
            aligned.push(n);
            aligned.dedup();
            let got = per_tensor_sharded(b, &x, &g, s, &p, &aligned);
            assert_eq!(
                got.to_bits(),
                one.to_bits(),
                "{name}: {shards} shards at {aligned:?}"
            );
            // Anywhere.
            let mut cuts: Vec<usize> = (1..shards).map(|_| rng.below(n)).collect();
            cuts.extend([0, n]);
            cuts.sort_unstable();
            let got = per_tensor_sharded(b, &x, &g, s, &p, &cuts);
            check_reduced(got, reference)
                .unwrap_or_else(|e| panic!("{name}: {shards} shards at {cuts:?}: {e}"));
            let naive = per_tensor_bf16_partials(b, &x, &g, s, &p, &cuts);
            let exact = reference.value;
            worst_blocks = worst_blocks.max((f64::from(got) - exact).abs());
            worst_bf16 = worst_bf16.max((f64::from(naive) - exact).abs());
        }
    }
    println!(
        "per tensor, {n} weights, 1 to 8 shards at random cuts: largest error of the combined block values \
         {worst_blocks:.3e}, of bf16 partials added in f32 {worst_bf16:.3e} (exact sum {:.6})",
        reference.value
    );
}

#[test]
fn a_row_cut_on_block_boundaries_gives_one_calls_bits() {
    let p = Symmetric::signed(4);
    let (rows, cols) = (3, 3 * 4096);
    let (x, g) = mixed(rows * cols, 5);
    let s = vec![
        bf16::from_f32(0.7),
        bf16::from_f32(1.1),
        bf16::from_f32(0.2),
    ];
    for (name, b) in backends() {
        let (mut gw, mut gs) = (vec![bf16::ZERO; x.len()], vec![bf16::ZERO; rows]);
        b.symmetric_per_channel_backward(&g, &x, &s, &mut gw, &mut gs, &p)
            .unwrap();
        // Column shards of 4096: each a block of every row.
        let mut combined = vec![0.0; rows * 2 * 3];
        for shard in 0..3 {
            let pick = |v: &[bf16]| -> Vec<bf16> {
                (0..rows)
                    .flat_map(|r| {
                        v[r * cols + shard * 4096..r * cols + (shard + 1) * 4096].to_vec()
                    })
                    .collect()
            };
            let (xs, gs_) = (pick(&x), pick(&g));
            let mut values = vec![0.0; rows * 2];
            let mut gw_ = vec![bf16::ZERO; xs.len()];
            b.symmetric_per_channel_backward_blocks(&gs_, &xs, &s, &mut gw_, &mut values, &p)
                .unwrap();
            for r in 0..rows {
                combined[r * 6 + shard] = values[r * 2];
                combined[r * 6 + 3 + shard] = values[r * 2 + 1];
            }
        }
        let mut got = vec![bf16::ZERO; rows];
        symmetric_per_channel_finish(&combined, &s, &mut got, cols, &p).unwrap();
        assert_eq!(got, gs, "{name}");
    }
}

#[test]
fn wrong_block_buffers_are_refused() {
    let p = Symmetric::signed(4);
    let (x, g) = mixed(5000, 1);
    let mut gw = vec![bf16::ZERO; 5000];
    let mut values = vec![7.0; 3];
    assert_eq!(
        qat_kernels::symmetric_per_tensor_backward_blocks(
            &g,
            &x,
            bf16::ONE,
            &mut gw,
            &mut values,
            &p
        ),
        Err(Error::new(Argument::BlockSums, Rule::Length))
    );
    assert_eq!(values, [7.0; 3]);
    let mut gs = bf16::ZERO;
    assert_eq!(
        symmetric_per_tensor_finish(&[0.0; 3], bf16::ONE, &mut gs, 5000, &p),
        Err(Error::new(Argument::BlockSums, Rule::Length))
    );
    let bad = Symmetric { eps: 0.0, ..p };
    assert_eq!(
        symmetric_per_tensor_finish(&[0.0; 4], bf16::ONE, &mut gs, 5000, &bad),
        Err(Error::new(Argument::Eps, Rule::NotPositive))
    );
    assert_eq!(gs, bf16::ZERO);
}
