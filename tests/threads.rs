//! How a trainer splits one call across its own threads: per group and per
//! channel, chunks of whole groups or rows give exactly the bits of one call.
//! Per tensor, the weight gradient splits the same way; the scale gradient of
//! a chunk is a partial sum, and the partials add up to the whole one within
//! the reduction bound (not bit for bit: each partial is rounded to bf16).
//! And every C entry point of the registry (`tests/registry`), called from
//! four threads at once while a fifth switches the ISA, gives the bytes of
//! one call alone.

mod registry;

use std::thread;

use half::bf16;
use qat_kernels::{AsymmetricPerGroup, Symmetric};

fn data(n: usize, k: f32) -> Vec<bf16> {
    (0..n)
        .map(|i| bf16::from_f32(((i as f32 + 1.0) * k).sin() * 0.05))
        .collect()
}

#[test]
fn per_group_chunks_across_threads_equal_one_call() {
    let (group_size, groups) = (128, 96);
    let n = group_size * groups;
    let params = AsymmetricPerGroup {
        group_size,
        ..Default::default()
    };
    let (x, g) = (data(n, 0.37), data(n, 1.3));
    let (s, o) = (vec![bf16::from_f32(0.004); groups], data(groups, 0.11));

    let mut whole = (
        vec![bf16::ZERO; n],
        vec![bf16::ZERO; groups],
        vec![bf16::ZERO; groups],
    );
    qat_kernels::asymmetric_per_group_backward(
        &g,
        &x,
        &s,
        &o,
        &mut whole.0,
        &mut whole.1,
        &mut whole.2,
        &params,
    )
    .unwrap();

    // Four threads, each a run of whole groups.
    let mut split = (
        vec![bf16::ZERO; n],
        vec![bf16::ZERO; groups],
        vec![bf16::ZERO; groups],
    );
    let per_thread = groups / 4;
    thread::scope(|scope| {
        let chunks = split
            .0
            .chunks_mut(per_thread * group_size)
            .zip(split.1.chunks_mut(per_thread))
            .zip(split.2.chunks_mut(per_thread))
            .enumerate();
        for (t, ((gw, gs), go)) in chunks {
            let (e, k) = (t * per_thread * group_size, t * per_thread);
            let (g, x, s, o) = (
                &g[e..e + gw.len()],
                &x[e..e + gw.len()],
                &s[k..k + gs.len()],
                &o[k..k + gs.len()],
            );
            scope.spawn(move || {
                qat_kernels::asymmetric_per_group_backward(g, x, s, o, gw, gs, go, &params).unwrap()
            });
        }
    });
    assert_eq!(split, whole);
}

#[test]
fn per_channel_row_chunks_across_threads_equal_one_call() {
    let (rows, cols) = (64, 300);
    let params = Symmetric::signed(4);
    let (x, g, s) = (
        data(rows * cols, 0.21),
        data(rows * cols, 0.9),
        vec![bf16::from_f32(0.01); rows],
    );
    let mut whole = (vec![bf16::ZERO; rows * cols], vec![bf16::ZERO; rows]);
    qat_kernels::symmetric_per_channel_backward(&g, &x, &s, &mut whole.0, &mut whole.1, &params)
        .unwrap();
    let mut split = (vec![bf16::ZERO; rows * cols], vec![bf16::ZERO; rows]);
    thread::scope(|scope| {
        for (t, (gw, gs)) in split
            .0
            .chunks_mut(16 * cols)
            .zip(split.1.chunks_mut(16))
            .enumerate()
        {
            let (e, r) = (t * 16 * cols, t * 16);
            let (g, x, s) = (&g[e..e + gw.len()], &x[e..e + gw.len()], &s[r..r + 16]);
            scope.spawn(move || {
                qat_kernels::symmetric_per_channel_backward(g, x, s, gw, gs, &params).unwrap()
            });
        }
    });
    assert_eq!(split, whole);
}

#[test]
fn per_tensor_backward_in_chunks() {
    let n = 100_000;
    let params = Symmetric::default();
    let (x, g, s) = (data(n, 0.013), data(n, 0.7), bf16::from_f32(0.0005));
    let mut whole = (vec![bf16::ZERO; n], bf16::ZERO);
    qat_kernels::symmetric_per_tensor_backward(&g, &x, s, &mut whole.0, &mut whole.1, &params)
        .unwrap();

    let chunk = 25_000;
    let mut grad_weight = vec![bf16::ZERO; n];
    let mut partials = [bf16::ZERO; 4];
    thread::scope(|scope| {
        for (t, (gw, partial)) in grad_weight
            .chunks_mut(chunk)
            .zip(partials.iter_mut())
            .enumerate()
        {
            let (g, x) = (&g[t * chunk..][..chunk], &x[t * chunk..][..chunk]);
            scope.spawn(move || {
                qat_kernels::symmetric_per_tensor_backward(g, x, s, gw, partial, &params).unwrap()
            });
        }
    });
    assert_eq!(grad_weight, whole.0, "the weight gradient splits exactly");
    let total: f32 = partials.iter().map(|p| f32::from(*p)).sum();
    let whole_scale = f32::from(whole.1);
    // Each partial carries at most half a bf16 ulp of rounding.
    let tolerance = partials.iter().map(|p| f32::from(*p).abs()).sum::<f32>() / 256.0
        + whole_scale.abs() / 128.0;
    assert!(
        (total - whole_scale).abs() <= tolerance,
        "{total} vs {whole_scale}"
    );
}

#[test]
fn every_c_entry_point_from_many_threads_at_once() {
    let isas: Vec<i32> = (1..=4)
        .filter(|&isa| qat_kernels::ffi::qat_set_isa(isa) == registry::OK)
        .collect();
    qat_kernels::ffi::qat_set_isa(0);
    // One call alone per entry point: the bytes every threaded call must give.
    let alone: Vec<Vec<Vec<u64>>> = registry::ENTRY_POINTS
        .iter()
        .map(|ep| {
            let args = registry::typical_args(ep);
            let mut buffers = registry::valid_buffers(ep, &args, 3);
            let pointers = registry::addresses(&mut buffers);
            // SAFETY: every buffer holds its count.
            assert_eq!(
                unsafe { (ep.call)(&pointers, &args) },
                registry::OK,
                "{}",
                ep.name
            );
            buffers
        })
        .collect();
    let stop = std::sync::atomic::AtomicBool::new(false);
    thread::scope(|scope| {
        // Paths switch under the callers: every path gives the same bytes.
        let switcher = scope.spawn(|| {
            let mut k = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                qat_kernels::ffi::qat_set_isa(isas[k % isas.len()]);
                k += 1;
                thread::yield_now();
            }
        });
        let workers: Vec<_> = (0..4)
            .map(|_| {
                scope.spawn(|| {
                    for _ in 0..20 {
                        for (ep, want) in registry::ENTRY_POINTS.iter().zip(&alone) {
                            let args = registry::typical_args(ep);
                            let mut buffers = registry::valid_buffers(ep, &args, 3);
                            let pointers = registry::addresses(&mut buffers);
                            // SAFETY: every buffer holds its count.
                            let status = unsafe { (ep.call)(&pointers, &args) };
                            assert_eq!(status, registry::OK, "{}", ep.name);
                            assert!(buffers == *want, "{}: other bytes from a thread", ep.name);
                        }
                    }
                })
            })
            .collect();
        // Stop the switcher before a failed worker's panic is passed on.
        let results: Vec<_> = workers.into_iter().map(|w| w.join()).collect();
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        switcher.join().unwrap();
        for result in results {
            result.unwrap();
        }
    });
    qat_kernels::ffi::qat_set_isa(0);
}
