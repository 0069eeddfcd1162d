//! No kernel allocates: a counting global allocator watches every call of all
//! training kernels (and their in-place variants, the ISA helpers and the C ABI) on
//! every backend, from the very first call of the process, and then of every C
//! entry point of the registry (`tests/registry`: export, shard forms and
//! calibration too) on every backend.

mod registry;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

use half::bf16;
use qat_kernels::{ffi, AsymmetricPerGroup, Backend, Isa, Symmetric};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static WATCHING: Cell<bool> = const { Cell::new(false) };
}

fn note() {
    if WATCHING.try_with(Cell::get).unwrap_or(false) {
        ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
    }
}

// SAFETY: forwards every call unchanged to the system allocator.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note();
        // SAFETY: forwarded.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note();
        // SAFETY: forwarded.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note();
        // SAFETY: forwarded.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        note();
        // SAFETY: forwarded.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

#[test]
fn kernels_never_allocate() {
    let n = 4096 + 13;
    let x: Vec<bf16> = (0..n)
        .map(|i| bf16::from_f32((i as f32 * 0.1).sin() * 0.05))
        .collect();
    let g: Vec<bf16> = (0..n)
        .map(|i| bf16::from_f32((i as f32 * 0.3).cos()))
        .collect();
    let (mut out, mut gw, mut work) = (vec![bf16::ZERO; n], vec![bf16::ZERO; n], x.clone());
    let groups = n / 7;
    let asym = AsymmetricPerGroup {
        group_size: 7,
        ..Default::default()
    };
    let sym = Symmetric::default();
    let (s, o) = (vec![bf16::from_f32(0.01); groups], vec![bf16::ZERO; groups]);
    let (mut gs, mut go) = (vec![bf16::ZERO; groups], vec![bf16::ZERO; groups]);
    let mut isas = [None; 4];

    WATCHING.with(|w| w.set(true));
    for (slot, (_, backend)) in isas.iter_mut().zip(Backend::all()) {
        *slot = Some(backend.isa());
        backend
            .asymmetric_per_group(&x, &s, &o, &mut out, &asym)
            .unwrap();
        backend
            .asymmetric_per_group_in_place(&mut work, &s, &o, &asym)
            .unwrap();
        backend
            .asymmetric_per_group_backward(&g, &x, &s, &o, &mut gw, &mut gs, &mut go, &asym)
            .unwrap();
        backend
            .asymmetric_per_group_backward_in_place(&mut work, &x, &s, &o, &mut gs, &mut go, &asym)
            .unwrap();
        backend
            .symmetric_per_channel(&x, &s, &mut out, &sym)
            .unwrap();
        backend
            .symmetric_per_channel_in_place(&mut work, &s, &sym)
            .unwrap();
        backend
            .symmetric_per_channel_backward(&g, &x, &s, &mut gw, &mut gs, &sym)
            .unwrap();
        backend
            .symmetric_per_channel_backward_in_place(&mut work, &x, &s, &mut gs, &sym)
            .unwrap();
        backend
            .symmetric_per_tensor(&x, s[0], &mut out, &sym)
            .unwrap();
        backend
            .symmetric_per_tensor_in_place(&mut work, s[0], &sym)
            .unwrap();
        backend
            .symmetric_per_tensor_backward(&g, &x, s[0], &mut gw, &mut gs[0], &sym)
            .unwrap();
        backend
            .symmetric_per_tensor_backward_in_place(&mut work, &x, s[0], &mut gs[0], &sym)
            .unwrap();
        assert!(backend
            .symmetric_per_tensor(&x, s[0], &mut out[1..], &sym)
            .is_err());
        qat_kernels::set_isa(backend.isa()).unwrap();
        // SAFETY: every pointer is valid for the counts given.
        let status = unsafe {
            ffi::qat_asymmetric_per_group_backward(
                g.as_ptr().cast(),
                x.as_ptr().cast(),
                s.as_ptr().cast(),
                o.as_ptr().cast(),
                gw.as_mut_ptr().cast(),
                gs.as_mut_ptr().cast(),
                go.as_mut_ptr().cast(),
                n,
                7,
                4,
                1e-4,
                0.99,
            )
        };
        assert_eq!(status, ffi::QAT_OK);
        let _ = ffi::qat_status_message(status);
    }
    WATCHING.with(|w| w.set(false));

    // Every C entry point, on every backend, its buffers made beforehand.
    for isa in [Isa::Scalar, Isa::Avx2, Isa::Avx512, Isa::Neon] {
        if qat_kernels::set_isa(isa).is_err() {
            continue;
        }
        for ep in registry::ENTRY_POINTS.iter() {
            let args = registry::typical_args(ep);
            let mut buffers = registry::valid_buffers(ep, &args, 1);
            let pointers = registry::addresses(&mut buffers);
            WATCHING.with(|w| w.set(true));
            // SAFETY: every buffer holds its count.
            let status = unsafe { (ep.call)(&pointers, &args) };
            WATCHING.with(|w| w.set(false));
            assert_eq!(status, ffi::QAT_OK, "{} on {isa:?}", ep.name);
            assert_eq!(
                ALLOCATIONS.load(Ordering::SeqCst),
                0,
                "{} allocated",
                ep.name
            );
        }
    }
    qat_kernels::set_isa(Isa::Auto).unwrap();

    assert_eq!(ALLOCATIONS.load(Ordering::SeqCst), 0, "kernels allocated");
    assert!(isas[0] == Some(Isa::Scalar), "the scalar backend ran");
    // The counter works: an allocation inside the window is seen.
    WATCHING.with(|w| w.set(true));
    let v = std::hint::black_box(vec![1u8; 3]);
    WATCHING.with(|w| w.set(false));
    drop(v);
    assert!(ALLOCATIONS.load(Ordering::SeqCst) >= 1);
}
