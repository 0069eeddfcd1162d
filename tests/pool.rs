//! One call across the caller's thread pool (`qat_set_thread_pool`): every
//! entry point of the registry (`tests/registry`), with shapes large enough
//! to split into several tasks and ragged at the end, gives with every pool
//! the bytes it gives without one: pools of 1, 2, 3 and 8 threads, one
//! that runs the tasks backwards, one whose threads leave a flushing,
//! round-toward-zero environment, and one without a `parallel_for`. A
//! refused call never reaches the pool and writes nothing.
//!
//! The pool is process-wide, so this file is one test.

mod registry;

use std::ffi::c_void;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use qat_kernels::ffi::*;
use qat_kernels::registry::{Args, Count, Elem, EntryPoint, Role, Shape};
use registry::*;

/// Tasks run by the pools, to show the splits happen.
static TASKS: AtomicUsize = AtomicUsize::new(0);
/// Calls of `parallel_for`.
static SPLITS: AtomicUsize = AtomicUsize::new(0);

/// How a test pool runs its tasks.
struct Pool {
    threads: usize,
    backwards: bool,
    /// An MXCSR each thread sets before its tasks (x86-64), which they must
    /// leave as they found it.
    environment: Option<u32>,
}

/// A pool's `parallel_for`: its threads (scoped, started per call) take
/// task indices in turn.
unsafe extern "C" fn parallel_for(
    pool: *mut c_void,
    count: usize,
    task: qat_task,
    context: *mut c_void,
) {
    SPLITS.fetch_add(1, Ordering::Relaxed);
    // SAFETY: `pool` is the `Pool` the test set.
    let pool = unsafe { &*pool.cast::<Pool>() };
    let next = AtomicUsize::new(0);
    let context = context as usize;
    let work = || {
        #[cfg(target_arch = "x86_64")]
        let saved = pool.environment.map(|csr| {
            #[allow(deprecated)]
            // SAFETY: a valid MXCSR (exceptions masked).
            unsafe {
                let saved = std::arch::x86_64::_mm_getcsr();
                std::arch::x86_64::_mm_setcsr(csr);
                saved
            }
        });
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            if i >= count {
                break;
            }
            let index = if pool.backwards { count - 1 - i } else { i };
            TASKS.fetch_add(1, Ordering::Relaxed);
            // SAFETY: the library's task, with its context, each index once.
            unsafe { task(context as *mut c_void, index) };
        }
        #[cfg(target_arch = "x86_64")]
        if let (Some(csr), Some(saved)) = (pool.environment, saved) {
            #[allow(deprecated)]
            // SAFETY: reads and restores the thread's MXCSR.
            unsafe {
                assert_eq!(std::arch::x86_64::_mm_getcsr() & !0x3F, csr & !0x3F);
                std::arch::x86_64::_mm_setcsr(saved);
            }
        }
    };
    std::thread::scope(|s| {
        for _ in 1..pool.threads {
            s.spawn(work);
        }
        work();
    });
}

/// Sizes that split into tasks with a shorter last one: 4,000 groups of 33
/// (3 tasks of up to 1,986 groups); 33 rows of 4,001 (2 tasks, of 17 rows
/// and 16); a tensor of 2 * QAT_GRAIN + 4,103 elements (3 tasks), and for a
/// backward pass 17 * QAT_GRAIN + 4,103 (18 tasks: two rounds of block
/// sums).
fn large_args(ep: &EntryPoint) -> Args {
    let tasks = if ep.name.contains("backward") { 17 } else { 2 };
    let sizes = match ep.shape {
        Shape::Group => [33 * 4000, 33],
        Shape::Matrix => [33, 4001],
        Shape::Tensor => [tasks * QAT_GRAIN + 4103, 0],
        Shape::Pack => [101, 4],
    };
    Args {
        sizes,
        // LSQ's calibration: the search's costs 20 times more, and splits
        // the same way.
        mode: 1,
        ..typical_args(ep)
    }
}

/// NaNs with payloads of either sign, infinities and the largest values,
/// among the data a training call reads, in its first and last tasks: the
/// sums they reach must come out alike too.
fn specials(ep: &EntryPoint, buffers: &mut [Vec<u64>]) {
    for (buffer, buf) in buffers.iter_mut().zip(ep.buffers) {
        if buf.output || buf.count != Count::All {
            continue;
        }
        // SAFETY: the bytes of a vector of u64.
        let bytes = unsafe {
            std::slice::from_raw_parts_mut(buffer.as_mut_ptr().cast::<u8>(), buffer.len() * 8)
        };
        let values: &[&[u8]] = match buf.elem {
            Elem::F32 => &[
                &0x7FC1_2345u32.to_le_bytes(),
                &0xFF80_0001u32.to_le_bytes(),
                &f32::INFINITY.to_le_bytes(),
                &f32::MAX.to_le_bytes(),
            ],
            Elem::Bf16 => &[&[0x45, 0x7F], &[0x81, 0xFF], &[0x80, 0x7F], &[0x7F, 0x7F]],
            Elem::F16 => &[&[0x45, 0x7E], &[0x01, 0xFC], &[0x00, 0x7C], &[0xFF, 0x7B]],
            _ => continue,
        };
        let size = buf.elem.size();
        let count = bytes.len() / size;
        for (k, at) in [3, 1000, count - 700, count - 2].into_iter().enumerate() {
            bytes[at * size..(at + 1) * size].copy_from_slice(values[k % values.len()]);
        }
    }
}

/// The bytes of every buffer after calling `ep` on `buffers` (copied).
fn call(ep: &EntryPoint, args: &Args, buffers: &[Vec<u64>]) -> (i32, Vec<Vec<u64>>) {
    let mut buffers = buffers.to_vec();
    let addresses = addresses(&mut buffers);
    // SAFETY: valid buffers for the counts of `args`.
    let status = unsafe { (ep.call)(&addresses, args) };
    (status, buffers)
}

fn set(pool: Option<&qat_thread_pool>) {
    let pool = pool.map_or(std::ptr::null(), |p| p as *const _);
    // SAFETY: the pools outlive their use (they live in `main`'s frame).
    unsafe { qat_set_thread_pool(pool) };
}

#[test]
fn every_entry_point_gives_the_same_bytes_across_every_pool() {
    static ONE: Mutex<()> = Mutex::new(());
    let _one = ONE.lock().unwrap();
    let pools: Vec<(&str, Pool)> = vec![
        (
            "1 thread",
            Pool {
                threads: 1,
                backwards: false,
                environment: None,
            },
        ),
        (
            "2 threads",
            Pool {
                threads: 2,
                backwards: false,
                environment: None,
            },
        ),
        (
            "3 threads",
            Pool {
                threads: 3,
                backwards: false,
                environment: None,
            },
        ),
        (
            "8 threads",
            Pool {
                threads: 8,
                backwards: false,
                environment: None,
            },
        ),
        (
            "backwards",
            Pool {
                threads: 1,
                backwards: true,
                environment: None,
            },
        ),
        // FTZ, DAZ, round toward zero, every exception masked.
        (
            "flushing",
            Pool {
                threads: 2,
                backwards: false,
                environment: Some(0xFFC0),
            },
        ),
    ];
    let entries: Vec<_> = ENTRY_POINTS
        .iter()
        .map(|ep| {
            let args = large_args(ep);
            let mut buffers = valid_buffers(ep, &args, 7);
            if matches!(ep.role, Role::Train | Role::Blocks { .. }) {
                specials(ep, &mut buffers);
            }
            set(None);
            let (status, want) = call(ep, &args, &buffers);
            assert_eq!(status, QAT_OK, "{}", ep.name);
            (ep, args, buffers, want)
        })
        .collect();
    for (label, pool) in &pools {
        let c = qat_thread_pool {
            parallel_for: Some(parallel_for),
            pool: (pool as *const Pool).cast_mut().cast(),
        };
        set(Some(&c));
        for (ep, args, buffers, want) in &entries {
            let before = TASKS.load(Ordering::Relaxed);
            let (status, got) = call(ep, args, buffers);
            assert_eq!(status, QAT_OK, "{} ({label})", ep.name);
            for (i, (g, w)) in got.iter().zip(want).enumerate() {
                assert!(
                    g == w,
                    "{} ({label}): {} differs",
                    ep.name,
                    ep.buffers[i].name
                );
            }
            // Everything but packing, finishing and a tensor's calibration
            // splits.
            let stays = matches!(ep.role, Role::Pack { .. } | Role::Unpack | Role::Finish)
                || (ep.role == Role::Calibrate && ep.shape == Shape::Tensor);
            let split = !stays;
            let tasks = TASKS.load(Ordering::Relaxed) - before;
            assert_eq!(tasks > 0, split, "{} ({label}): {tasks} tasks", ep.name);
        }
    }
    // Without a parallel_for, the calling thread runs the call.
    let none = qat_thread_pool {
        parallel_for: None,
        pool: std::ptr::null_mut(),
    };
    set(Some(&none));
    for (ep, args, buffers, want) in &entries {
        assert!(
            call(ep, args, buffers) == (QAT_OK, want.clone()),
            "{}",
            ep.name
        );
    }

    // A refused call (the first buffer null) reaches no pool and writes
    // nothing.
    let pool = Pool {
        threads: 2,
        backwards: false,
        environment: None,
    };
    let c = qat_thread_pool {
        parallel_for: Some(parallel_for),
        pool: (&pool as *const Pool).cast_mut().cast(),
    };
    assert_eq!(set_returning(&c), &none as *const _);
    let splits = SPLITS.load(Ordering::Relaxed);
    for (ep, args, buffers, _) in &entries {
        let mut copy = buffers.clone();
        let mut addresses = addresses(&mut copy);
        addresses[0] = 0;
        // SAFETY: as in `call`; the null one is refused before any read.
        let status = unsafe { (ep.call)(&addresses, args) };
        assert_ne!(status, QAT_OK, "{}", ep.name);
        assert!(&copy == buffers, "{}: written", ep.name);
    }
    assert_eq!(SPLITS.load(Ordering::Relaxed), splits);
    set(None);
}

/// Sets `pool`, returning the one it replaces.
fn set_returning(pool: &qat_thread_pool) -> *const qat_thread_pool {
    // SAFETY: as in `set`.
    unsafe { qat_set_thread_pool(pool) }
}
