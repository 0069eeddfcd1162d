//! One call across the caller's thread pool (`qat_set_thread_pool`, in
//! `ffi`): after every check has passed on the calling thread, a kernel
//! runs as tasks of whole units (groups, rows, tokens) of about [`GRAIN`]
//! elements, or, per tensor, of [`GRAIN`] elements each. The split depends
//! on the shape alone, and each unit's results on its elements alone, so
//! the bits do not depend on the pool or its thread count. A per-tensor
//! backward is the one unit split inside: its tasks write the block values
//! of their elements (`pool::blocks`), which the calling thread adds in
//! block order, as one call does.
//!
//! The library starts no threads: the pool's `parallel_for` runs the tasks,
//! and returns when all have. Each task sets the default floating-point
//! environment on the thread that runs it.

use core::ffi::c_void;
use core::sync::atomic::{AtomicPtr, Ordering};

use crate::arch::{Backend, Kernel};
use crate::fpenv;
use crate::kernels::calibrate::CalibrateArgs;
use crate::kernels::reduction::{block_count, BLOCK};
use crate::kernels::rows::BlockSums;
use crate::kernels::{BackwardArgs, MapArgs, PerTokenArgs, PerTokenBackwardArgs, Quantizer};
use crate::vector::Data;

/// The elements a task takes: calls of fewer than twice this many run on
/// the calling thread, and larger ones split into tasks of whole units of
/// about this many elements (per tensor, exactly this many). Below it, a
/// task's work (tens of microseconds) is no longer much more than a pool's
/// cost to hand it to a thread (`benches/README.md`).
pub const QAT_GRAIN: usize = 65_536;

/// A task of a call: `task(context, index)` runs task `index`.
#[allow(non_camel_case_types)]
pub type qat_task = unsafe extern "C" fn(context: *mut c_void, index: usize);

/// A pool's `parallel_for`.
type ParallelFor = unsafe extern "C" fn(*mut c_void, usize, qat_task, *mut c_void);

/// A caller's thread pool as the library uses it: `parallel_for(pool,
/// count, task, context)` calls `task(context, i)` once for every `i` below
/// `count`, on any threads (the calling one too), in any order and at once,
/// and returns when every call has returned. The tasks never fail. `pool`
/// is the pool's own state, passed back as is.
#[allow(non_camel_case_types)]
#[repr(C)]
pub struct qat_thread_pool {
    /// Runs `count` tasks (NULL: the calling thread runs them).
    pub parallel_for: Option<
        unsafe extern "C" fn(pool: *mut c_void, count: usize, task: qat_task, context: *mut c_void),
    >,
    /// The pool's state.
    pub pool: *mut c_void,
}

/// The pool (null: none), set by `qat_set_thread_pool`.
pub(crate) static POOL: AtomicPtr<qat_thread_pool> = AtomicPtr::new(core::ptr::null_mut());

/// The pool's `parallel_for` and state, if one is set.
fn pool() -> Option<(ParallelFor, *mut c_void)> {
    // Without the feature, no call splits: the split's code is dead.
    if !cfg!(feature = "thread-pool") {
        return None;
    }
    // SAFETY: null, or a pool its setter keeps valid while it is set (the
    // contract of `qat_set_thread_pool`).
    let pool = unsafe { POOL.load(Ordering::Acquire).as_ref() }?;
    Some((pool.parallel_for?, pool.pool))
}

/// Kernel arguments that split: their units, and a part of them.
pub(crate) trait Parts: Sized {
    /// Whether one unit may split into runs of elements: the kernel maps
    /// each element on its own.
    const ELEMENTWISE: bool = false;
    /// The units, and the elements of each.
    fn shape(&self) -> (usize, usize);
    /// Units `start..end` (for [`Parts::ELEMENTWISE`] arguments of one unit:
    /// its elements `start..end`). Wrapping pointer arithmetic: a part's
    /// pointers stay inside the buffers, and a pointer never used (a null
    /// offset) stays unused.
    fn part(&self, start: usize, end: usize) -> Self;
}

impl<Q: Copy, I, O> Parts for MapArgs<Q, I, O> {
    const ELEMENTWISE: bool = true;
    fn shape(&self) -> (usize, usize) {
        (self.units, self.len)
    }
    fn part(&self, start: usize, end: usize) -> Self {
        if self.units == 1 {
            return MapArgs {
                input: self.input.wrapping_add(start),
                output: self.output.wrapping_add(start),
                len: end - start,
                ..*self
            };
        }
        MapArgs {
            input: self.input.wrapping_add(start * self.len),
            scale: self.scale.wrapping_add(start),
            offset: self.offset.wrapping_add(start),
            output: self.output.wrapping_add(start * self.len),
            units: end - start,
            ..*self
        }
    }
}

impl<Q: Copy, T, G> Parts for BackwardArgs<Q, T, G> {
    fn shape(&self) -> (usize, usize) {
        (self.units, self.len)
    }
    fn part(&self, start: usize, end: usize) -> Self {
        let at = start * self.len;
        BackwardArgs {
            grad_output: self.grad_output.wrapping_add(at),
            weight: self.weight.wrapping_add(at),
            scale: self.scale.wrapping_add(start),
            offset: self.offset.wrapping_add(start),
            grad_weight: self.grad_weight.wrapping_add(at),
            grad_scale: self.grad_scale.wrapping_add(start),
            grad_offset: self.grad_offset.wrapping_add(start),
            block_sums: self
                .block_sums
                .map(|b| b.wrapping_add(start * 2 * block_count(self.len))),
            units: end - start,
            ..*self
        }
    }
}

impl<Q: Copy, T> Parts for CalibrateArgs<Q, T> {
    fn shape(&self) -> (usize, usize) {
        (self.units, self.len)
    }
    fn part(&self, start: usize, end: usize) -> Self {
        CalibrateArgs {
            weight: self.weight.wrapping_add(start * self.len),
            scale: self.scale.wrapping_add(start),
            offset: self.offset.wrapping_add(start),
            units: end - start,
            ..*self
        }
    }
}

impl<T> Parts for PerTokenArgs<T> {
    fn shape(&self) -> (usize, usize) {
        (self.units, self.len)
    }
    fn part(&self, start: usize, end: usize) -> Self {
        PerTokenArgs {
            input: self.input.wrapping_add(start * self.len),
            output: self.output.wrapping_add(start * self.len),
            scale: self.scale.wrapping_add(start),
            zero_point: self.zero_point.wrapping_add(start),
            units: end - start,
            ..*self
        }
    }
}

impl<T> Parts for PerTokenBackwardArgs<T> {
    fn shape(&self) -> (usize, usize) {
        (self.units, self.len)
    }
    fn part(&self, start: usize, end: usize) -> Self {
        PerTokenBackwardArgs {
            grad_output: self.grad_output.wrapping_add(start * self.len),
            input: self.input.wrapping_add(start * self.len),
            scale: self.scale.wrapping_add(start),
            zero_point: self.zero_point.wrapping_add(start),
            grad_input: self.grad_input.wrapping_add(start * self.len),
            units: end - start,
            ..*self
        }
    }
}

/// How a call splits: tasks of `step` units (or elements of its one unit),
/// the last one shorter, `count` of them.
#[derive(Clone, Copy)]
struct Split {
    step: usize,
    count: usize,
    /// The units, or the one unit's elements, that the steps cover.
    total: usize,
}

impl Split {
    /// The split of `units` units of `len` (`elementwise`: a single unit
    /// may split), if the call is large enough for two tasks.
    fn of(units: usize, len: usize, elementwise: bool) -> Option<Split> {
        let (step, total) = if units == 1 && elementwise {
            (QAT_GRAIN, len)
        } else {
            (QAT_GRAIN.div_ceil(len.max(1)), units)
        };
        // `max(1)`: no division by zero for the compiler to guard (a step is
        // at least 1 already), so no panic path.
        let count = total.div_ceil(step.max(1));
        (count >= 2 && units.saturating_mul(len) >= 2 * QAT_GRAIN).then_some(Split {
            step,
            count,
            total,
        })
    }

    /// Task `index`'s range.
    fn range(self, index: usize) -> (usize, usize) {
        let start = index * self.step;
        (start, (start + self.step).min(self.total))
    }
}

/// A split call as its tasks see it.
struct Job<'a, A> {
    backend: Backend,
    args: &'a A,
    split: Split,
}

/// Runs task `index` of the `Job<K::Args>` at `context`.
///
/// # Safety
/// `context` points to a live `Job<K::Args>` and `index` is below its
/// task count.
unsafe extern "C" fn task<K: Kernel<Output = ()>>(context: *mut c_void, index: usize)
where
    K::Args: Parts,
{
    // SAFETY: the caller's.
    let job = unsafe { &*context.cast::<Job<'_, K::Args>>() };
    let (start, end) = job.split.range(index);
    let part = job.args.part(start, end);
    // SAFETY: the part's buffers are inside the call's, which passed its
    // checks, and no other task's overlap them (whole units, or disjoint
    // elements); the backend's ISA runs on every thread of the machine.
    fpenv::with_default(|| unsafe { job.backend.run::<K>(&part) })
}

/// Runs `K` on `args`: across the pool if one is set and the call is large
/// enough, else on this thread.
///
/// # Safety
/// As [`Backend::run`]; the call's checks have all passed.
#[inline(always)]
pub(crate) unsafe fn run<K: Kernel<Output = ()>>(backend: Backend, args: &K::Args)
where
    K::Args: Parts,
{
    let (units, len) = args.shape();
    match Split::of(units, len, K::Args::ELEMENTWISE).and_then(|split| Some((split, pool()?))) {
        // SAFETY: the caller's.
        Some((split, (parallel_for, pool))) => unsafe {
            across::<K>(backend, args, split, parallel_for, pool)
        },
        // SAFETY: the caller's.
        None => unsafe { backend.run::<K>(args) },
    }
}

/// [`run`] across the pool: out of line, so that a call without one pays
/// only for the check.
///
/// # Safety
/// As [`run`].
#[inline(never)]
unsafe fn across<K: Kernel<Output = ()>>(
    backend: Backend,
    args: &K::Args,
    split: Split,
    parallel_for: ParallelFor,
    pool: *mut c_void,
) where
    K::Args: Parts,
{
    let job = Job {
        backend,
        args,
        split,
    };
    // SAFETY: the pool calls `task` with indices below `split.count` while
    // `job` lives (its contract: it returns when every task has).
    unsafe {
        parallel_for(
            pool,
            split.count,
            task::<K>,
            (&raw const job).cast_mut().cast(),
        )
    };
}

/// Tasks of a one-unit backward per round: their block values stay on the
/// calling thread's stack (4 KiB), added before the next round.
const ROUND: usize = 16;

/// The block values of a task of [`QAT_GRAIN`] elements.
const TASK_VALUES: usize = 2 * QAT_GRAIN / BLOCK;

/// A one-unit backward call across the pool, if one is set and the unit is
/// large enough: the weight gradient, and the unit's block values given to
/// `sums` in block order (`true`); else nothing is done (`false`).
///
/// # Safety
/// As [`run`]: `args` are a backward call's of one unit, with any sums.
pub(crate) unsafe fn blocks<Q: Quantizer, T: Data, G>(
    backend: Backend,
    args: &BackwardArgs<Q, T, G>,
    sums: &mut dyn BlockSums,
) -> bool {
    let (Some(split), Some((parallel_for, pool))) = (Split::of(1, args.len, true), pool()) else {
        return false;
    };
    // SAFETY: the caller's.
    unsafe { rounds::<Q, T, G>(backend, args, sums, split, parallel_for, pool) };
    true
}

/// [`blocks`], out of line: its round's values take stack only when taken.
///
/// # Safety
/// As [`blocks`].
#[inline(never)]
unsafe fn rounds<Q: Quantizer, T: Data, G>(
    backend: Backend,
    args: &BackwardArgs<Q, T, G>,
    sums: &mut dyn BlockSums,
    split: Split,
    parallel_for: ParallelFor,
    pool: *mut c_void,
) {
    let mut values = [0f64; ROUND * TASK_VALUES];
    let mut first = 0;
    while first < split.count {
        let count = ROUND.min(split.count - first);
        let start = first * QAT_GRAIN;
        // This round's elements, each task's block values in its slot.
        let round = BackwardArgs::<Q, T, T> {
            grad_output: args.grad_output.wrapping_add(start),
            weight: args.weight.wrapping_add(start),
            scale: args.scale,
            offset: args.offset,
            grad_weight: args.grad_weight.wrapping_add(start),
            grad_scale: core::ptr::null_mut(),
            grad_offset: core::ptr::null_mut(),
            block_sums: Some(values.as_mut_ptr()),
            units: 1,
            len: (args.len - start).min(ROUND * QAT_GRAIN),
            quant: args.quant,
        };
        let job = Job {
            backend,
            args: &round,
            split: Split {
                step: QAT_GRAIN,
                count,
                total: round.len,
            },
        };
        // SAFETY: as in `across`.
        unsafe {
            parallel_for(
                pool,
                count,
                blocks_task::<Q, T>,
                (&raw const job).cast_mut().cast(),
            )
        };
        for (task, slot) in values.chunks_exact(TASK_VALUES).take(count).enumerate() {
            let (from, to) = job.split.range(task);
            let blocks = block_count(to - from);
            for i in 0..blocks {
                // `get`: always there (a task has at most TASK_VALUES / 2
                // blocks), and no panic path for the compiler to keep.
                if let (Some(&a), Some(&b)) = (slot.get(i), slot.get(blocks + i)) {
                    sums.block((first + task) * (QAT_GRAIN / BLOCK) + i, a, b);
                }
            }
        }
        first += count;
    }
}

/// Task `index` of a round of [`rounds`]: its elements' weight gradient,
/// and their block values in its slot.
///
/// # Safety
/// As [`task`], for a `Job` of a round.
unsafe extern "C" fn blocks_task<Q: Quantizer, T: Data>(context: *mut c_void, index: usize) {
    // SAFETY: the caller's.
    let job = unsafe { &*context.cast::<Job<'_, BackwardArgs<Q, T, T>>>() };
    let (start, end) = job.split.range(index);
    let args = job.args;
    let part = BackwardArgs {
        grad_output: args.grad_output.wrapping_add(start),
        weight: args.weight.wrapping_add(start),
        grad_weight: args.grad_weight.wrapping_add(start),
        block_sums: args.block_sums.map(|b| b.wrapping_add(index * TASK_VALUES)),
        len: end - start,
        ..*args
    };
    // SAFETY: as in `task`; each task's slot is its own.
    fpenv::with_default(|| unsafe { job.backend.run::<Q::BackwardBlocks<T>>(&part) })
}
