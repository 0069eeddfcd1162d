//! What a C or C++ trainer runs: f32 and f16 data, and one call across a
//! thread pool. Three tables, on the backend `Auto` picks, by the method of
//! `paired` (the measured operation and its reference in turn, 31 rounds,
//! each timed run after an untimed one; the median and range of the rounds'
//! ratios):
//!
//! 1. each kernel at 4096 x 4096 on bf16, f32 and f16 data, one thread,
//!    over a copy of the same tensor in the same type;
//! 2. one thread over the same call across a pool of 2 threads
//!    (`qat_set_thread_pool`), 4096 x 4096 f32;
//! 3. the grain: a symmetric per-channel f32 call of n elements (rows of
//!    1,024) over the same call split by hand into 2 halves, one per thread
//!    (the split the library makes from `2 * QAT_GRAIN` elements on), for n
//!    from 2^13 to 2^20: where the ratio passes 1, a split pays.
//!
//! The pools have a worker per extra thread, which between calls either
//! spins (as OpenMP's and pthreadpool's do for a while) or sleeps on a
//! condition variable (as a plain `std::thread` pool does): the grain
//! table gives both, the cost of a wake-up being what a split must beat.
//!
//! `cargo bench --bench trainer` (a few minutes; `-- dtypes`, `-- threads`
//! or `-- grain` runs one table).

// Only its data.
#[allow(dead_code)]
mod common;

use std::ffi::c_void;
use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use half::{bf16, f16};
use qat_kernels::ffi::{qat_set_thread_pool, qat_task, qat_thread_pool};
use qat_kernels::{AsymmetricPerGroup, Float, Symmetric};

const ROUNDS: usize = 31;

fn seconds(f: &mut impl FnMut()) -> f64 {
    let start = Instant::now();
    f();
    start.elapsed().as_secs_f64()
}

/// The median and range of `a`'s time over `b`'s, run in turn.
fn paired(mut a: impl FnMut(), mut b: impl FnMut(), rounds: usize) -> (f64, f64, f64) {
    a();
    b();
    let mut ratios: Vec<f64> = (0..rounds)
        .map(|_| {
            b();
            let tb = seconds(&mut b);
            a();
            let ta = seconds(&mut a);
            ta / tb
        })
        .collect();
    ratios.sort_by(f64::total_cmp);
    (ratios[rounds / 2], ratios[0], ratios[rounds - 1])
}

/// The benchmarks' values as `T`.
fn data<T: From32>(n: usize, seed: u32) -> Vec<T> {
    common::values(n, seed).map(T::from32).collect()
}

trait From32: Float + Default {
    const NAME: &'static str;
    fn from32(x: f32) -> Self;
}
impl From32 for bf16 {
    const NAME: &'static str = "bf16";
    fn from32(x: f32) -> Self {
        bf16::from_f32(x)
    }
}
impl From32 for f32 {
    const NAME: &'static str = "f32";
    fn from32(x: f32) -> Self {
        x
    }
}
impl From32 for f16 {
    const NAME: &'static str = "f16";
    fn from32(x: f32) -> Self {
        f16::from_f32(x)
    }
}

/// A tensor's buffers in one type, and the scales and gradients of each
/// quantizer.
struct Tensors<T: From32> {
    x: Vec<T>,
    g: Vec<T>,
    out: Vec<T>,
    copy: Vec<T>,
    cols: usize,
    group_scale: Vec<bf16>,
    group_offset: Vec<bf16>,
    row_scale: Vec<bf16>,
    grad_scale: Vec<T::Grad>,
    grad_offset: Vec<T::Grad>,
}

impl<T: From32> Tensors<T>
where
    T::Grad: Default + Clone,
{
    fn new(n: usize, cols: usize) -> Self {
        Tensors {
            x: data(n, 1),
            g: data(n, 2),
            out: vec![T::default(); n],
            copy: data(n, 3),
            cols,
            group_scale: vec![bf16::from_f32(0.01); n / 128],
            group_offset: vec![bf16::from_f32(0.5); n / 128],
            row_scale: vec![bf16::from_f32(0.01); n / cols],
            grad_scale: vec![T::Grad::default(); n / 32],
            grad_offset: vec![T::Grad::default(); n / 32],
        }
    }

    /// A copy of `x` into `copy`.
    fn copy(&mut self) {
        self.copy.copy_from_slice(&self.x);
        std::hint::black_box(&self.copy);
    }

    /// The kernels, named: forward and backward of asymmetric per group
    /// (128), symmetric per channel and per tensor.
    fn run(&mut self, kernel: &str) {
        let group = AsymmetricPerGroup {
            group_size: 128,
            ..Default::default()
        };
        let symmetric = Symmetric::signed(8);
        let rows = self.x.len() / self.cols;
        let r = match kernel {
            "asymmetric_per_group_g128" => qat_kernels::asymmetric_per_group(
                &self.x,
                &self.group_scale,
                &self.group_offset,
                &mut self.out,
                &group,
            ),
            "asymmetric_per_group_backward_g128" => qat_kernels::asymmetric_per_group_backward(
                &self.g,
                &self.x,
                &self.group_scale,
                &self.group_offset,
                &mut self.out,
                &mut self.grad_scale[..self.group_scale.len()],
                &mut self.grad_offset[..self.group_scale.len()],
                &group,
            ),
            "symmetric_per_channel" => qat_kernels::symmetric_per_channel(
                &self.x,
                &self.row_scale,
                &mut self.out,
                &symmetric,
            ),
            "symmetric_per_channel_backward" => qat_kernels::symmetric_per_channel_backward(
                &self.g,
                &self.x,
                &self.row_scale,
                &mut self.out,
                &mut self.grad_scale[..rows],
                &symmetric,
            ),
            "symmetric_per_tensor" => qat_kernels::symmetric_per_tensor(
                &self.x,
                self.row_scale[0],
                &mut self.out,
                &symmetric,
            ),
            "symmetric_per_tensor_backward" => qat_kernels::symmetric_per_tensor_backward(
                &self.g,
                &self.x,
                self.row_scale[0],
                &mut self.out,
                &mut self.grad_scale[0],
                &symmetric,
            ),
            _ => unreachable!(),
        };
        r.unwrap();
        std::hint::black_box(&self.out);
    }
}

const KERNELS: [&str; 6] = [
    "asymmetric_per_group_g128",
    "asymmetric_per_group_backward_g128",
    "symmetric_per_channel",
    "symmetric_per_channel_backward",
    "symmetric_per_tensor",
    "symmetric_per_tensor_backward",
];

/// A pool of workers that spin between calls, or sleep on a condition
/// variable (`blocking`).
struct Pool {
    shared: Arc<Shared>,
    workers: usize,
}

/// A call's tasks, on the caller's stack while it runs.
struct Job {
    task: qat_task,
    context: *mut c_void,
    count: usize,
    next: AtomicUsize,
}

#[derive(Default)]
struct Shared {
    /// Bumped per call (0: stop).
    epoch: AtomicUsize,
    job: AtomicPtr<Job>,
    /// Workers done with the current epoch.
    finished: AtomicUsize,
    /// Where blocking workers sleep.
    sleep: (Mutex<()>, Condvar),
}

impl Job {
    fn work(&self) {
        loop {
            let i = self.next.fetch_add(1, Ordering::Relaxed);
            if i >= self.count {
                return;
            }
            // SAFETY: the library's task and context, each index once.
            unsafe { (self.task)(self.context, i) };
        }
    }
}

impl Pool {
    fn new(threads: usize, blocking: bool) -> Pool {
        let shared = Arc::new(Shared {
            epoch: AtomicUsize::new(1),
            ..Default::default()
        });
        for _ in 1..threads {
            let shared = shared.clone();
            std::thread::spawn(move || {
                let mut seen = 1;
                let mut idle = Instant::now();
                loop {
                    let epoch = shared.epoch.load(Ordering::Acquire);
                    if epoch == 0 {
                        return;
                    }
                    if epoch == seen && blocking {
                        let (lock, wake) = &shared.sleep;
                        let mut guard = lock.lock().unwrap();
                        while shared.epoch.load(Ordering::Acquire) == seen {
                            guard = wake.wait(guard).unwrap();
                        }
                        continue;
                    }
                    if epoch == seen {
                        if idle.elapsed() > Duration::from_millis(20) {
                            std::thread::sleep(Duration::from_micros(50));
                        } else {
                            std::hint::spin_loop();
                        }
                        continue;
                    }
                    seen = epoch;
                    // SAFETY: the job lives until every worker has
                    // finished this epoch.
                    unsafe { &*shared.job.load(Ordering::Acquire) }.work();
                    shared.finished.fetch_add(1, Ordering::AcqRel);
                    idle = Instant::now();
                }
            });
        }
        Pool {
            shared,
            workers: threads - 1,
        }
    }

    /// Runs `task` on `context` as two tasks, one per thread, by hand.
    fn halves<C>(&self, task: qat_task, context: &C) {
        // SAFETY: this pool, and a context alive until both tasks return.
        unsafe {
            parallel_for(
                (self as *const Pool).cast_mut().cast(),
                2,
                task,
                (context as *const C).cast_mut().cast(),
            )
        }
    }

    fn c(&self) -> qat_thread_pool {
        qat_thread_pool {
            parallel_for: Some(parallel_for),
            pool: (self as *const Pool).cast_mut().cast(),
        }
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.shared.epoch.store(0, Ordering::Release);
        let _guard = self.shared.sleep.0.lock().unwrap();
        self.shared.sleep.1.notify_all();
    }
}

unsafe extern "C" fn parallel_for(
    pool: *mut c_void,
    count: usize,
    task: qat_task,
    context: *mut c_void,
) {
    // SAFETY: the `Pool` set with this function.
    let pool = unsafe { &*pool.cast::<Pool>() };
    let job = Job {
        task,
        context,
        count,
        next: AtomicUsize::new(0),
    };
    let shared = &pool.shared;
    shared.finished.store(0, Ordering::Relaxed);
    shared
        .job
        .store((&raw const job).cast_mut(), Ordering::Relaxed);
    shared.epoch.fetch_add(1, Ordering::AcqRel);
    {
        let _guard = shared.sleep.0.lock().unwrap();
        shared.sleep.1.notify_all();
    }
    job.work();
    while shared.finished.load(Ordering::Acquire) < pool.workers {
        std::hint::spin_loop();
    }
}

fn set(pool: Option<&qat_thread_pool>) {
    // SAFETY: the pools outlive their use.
    unsafe { qat_set_thread_pool(pool.map_or(std::ptr::null(), |p| p)) };
}

fn dtypes<T: From32>(filter: &Option<String>)
where
    T::Grad: Default + Clone,
{
    let mut t = Tensors::<T>::new(4096 * 4096, 4096);
    for kernel in KERNELS {
        if filter
            .as_ref()
            .is_some_and(|f| !kernel.contains(f.as_str()))
        {
            continue;
        }
        let t = std::cell::RefCell::new(&mut t);
        let (median, low, high) = paired(
            || t.borrow_mut().run(kernel),
            || t.borrow_mut().copy(),
            ROUNDS,
        );
        println!(
            "| {kernel} | {} | {median:.2} | {low:.2} to {high:.2} |",
            T::NAME
        );
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let bench = args.iter().any(|a| a == "--bench");
    let table = args.iter().find(|a| !a.starts_with('-')).cloned();
    let pool = Pool::new(2, false);
    let blocking = Pool::new(2, true);
    let c = pool.c();
    if !bench {
        // `cargo test`: each kernel once, small, with the pool and without.
        for p in [None, Some(&c)] {
            set(p);
            let mut t = Tensors::<f32>::new(1 << 18, 1024);
            KERNELS.iter().for_each(|k| t.run(k));
        }
        set(None);
        println!("trainer: every kernel ran once with and without a pool (test mode)");
        return;
    }
    let wants = |name: &str| table.as_ref().is_none_or(|t| t == name);
    if wants("dtypes") {
        println!("| kernel | data | time / copy of the same tensor, median | range |");
        println!("| --- | --- | ---: | ---: |");
        dtypes::<bf16>(&None);
        dtypes::<f32>(&None);
        dtypes::<f16>(&None);
    }
    if wants("threads") {
        println!("\n| kernel (f32) | 1 thread / 2 threads, median | range |");
        println!("| --- | ---: | ---: |");
        let t = std::cell::RefCell::new(Tensors::<f32>::new(4096 * 4096, 4096));
        for kernel in KERNELS {
            let (median, low, high) = paired(
                || {
                    set(None);
                    t.borrow_mut().run(kernel)
                },
                || {
                    set(Some(&c));
                    t.borrow_mut().run(kernel)
                },
                ROUNDS,
            );
            println!("| {kernel} | {median:.2} | {low:.2} to {high:.2} |");
        }
        set(None);
        // The memory's own scaling: a copy, whole and in halves.
        let (median, low, high) = paired(
            || t.borrow_mut().copy(),
            || copy_halves(&pool, &mut t.borrow_mut()),
            ROUNDS,
        );
        println!("| copy (of the tensor, for scale) | {median:.2} | {low:.2} to {high:.2} |");
    }
    if wants("grain") {
        println!("\n| elements | forward: one call / halves on 2 threads, spinning pool | backward | forward, blocking pool | backward |");
        println!("| ---: | ---: | ---: | ---: | ---: |");
        set(None);
        for log in 13..=20 {
            let n = 1usize << log;
            let t = std::cell::RefCell::new(Tensors::<f32>::new(n, 1024));
            let mut row = format!("| {n} |");
            for p in [&pool, &blocking] {
                for kernel in ["symmetric_per_channel", "symmetric_per_channel_backward"] {
                    let whole = || t.borrow_mut().run(kernel);
                    let halves = || halves(p, &t, kernel);
                    let (median, low, high) = paired(whole, halves, 101);
                    row += &format!(" {median:.2} ({low:.2} to {high:.2}) |");
                }
            }
            println!("{row}");
        }
    }
}

/// `t`'s copy in two halves, on the pool's two threads.
fn copy_halves(pool: &Pool, t: &mut Tensors<f32>) {
    struct Halves(*const f32, *mut f32, usize);
    unsafe extern "C" fn half(context: *mut c_void, index: usize) {
        // SAFETY: the `Halves` below; each task copies its own half.
        unsafe {
            let h = &*context.cast::<Halves>();
            std::ptr::copy_nonoverlapping(h.0.add(index * h.2), h.1.add(index * h.2), h.2);
        }
    }
    let h = Halves(t.x.as_ptr(), t.copy.as_mut_ptr(), t.x.len() / 2);
    pool.halves(half, &h);
    std::hint::black_box(&t.copy);
}

/// `kernel` on `t` as two calls, one per half of the rows, on the pool's
/// two threads.
fn halves(pool: &Pool, t: &std::cell::RefCell<Tensors<f32>>, kernel: &str) {
    /// The buffers, as each half's call takes its part of them.
    struct Halves {
        x: *const f32,
        g: *const f32,
        scale: *const bf16,
        out: *mut f32,
        grad_scale: *mut f32,
        n: usize,
        rows: usize,
        backward: bool,
    }
    unsafe extern "C" fn half(context: *mut c_void, index: usize) {
        // SAFETY: the `Halves` below, alive during the call; each task
        // takes its own half of every buffer.
        let (h, x, g, s, out, gs) = unsafe {
            let h = &*context.cast::<Halves>();
            let (w, r) = (index * h.n, index * h.rows);
            (
                h,
                std::slice::from_raw_parts(h.x.add(w), h.n),
                std::slice::from_raw_parts(h.g.add(w), h.n),
                std::slice::from_raw_parts(h.scale.add(r), h.rows),
                std::slice::from_raw_parts_mut(h.out.add(w), h.n),
                std::slice::from_raw_parts_mut(h.grad_scale.add(r), h.rows),
            )
        };
        let symmetric = Symmetric::signed(8);
        let result = if h.backward {
            qat_kernels::symmetric_per_channel_backward(g, x, s, out, gs, &symmetric)
        } else {
            qat_kernels::symmetric_per_channel(x, s, out, &symmetric)
        };
        result.unwrap();
    }
    let mut t = t.borrow_mut();
    let n = t.x.len() / 2;
    let h = Halves {
        x: t.x.as_ptr(),
        g: t.g.as_ptr(),
        scale: t.row_scale.as_ptr(),
        out: t.out.as_mut_ptr(),
        grad_scale: t.grad_scale.as_mut_ptr(),
        n,
        rows: n / t.cols,
        backward: kernel.ends_with("backward"),
    };
    pool.halves(half, &h);
    std::hint::black_box(&t.out);
}
