//! The C boundary under adversarial input, every entry point from one
//! registry (`tests/registry`) held to a model of the documented check
//! order:
//!
//! - sizes of 2^59 to 2^63 and products that wrap: `QAT_ERR_SHAPE` before
//!   any pointer is looked at, in debug and release builds alike;
//! - random argument combinations (sizes, parameters, null, misaligned and
//!   overlapping pointers at byte granularity in one arena);
//! - every partial overlap, byte by byte, of each output with each other
//!   buffer;
//! - buffers flush against inaccessible pages, before and after;
//! - the same inputs on every instruction set, NaN payloads, infinities,
//!   subnormals, ties and huge magnitudes included: the same status and
//!   bits, and the invariants `dequantize(quantize) = forward`,
//!   `finish(blocks) = backward` and `unpack(pack) = codes`;
//! - the defects an earlier adversarial pass found, one test each.
//!
//! `QAT_ADVERSARIAL_SCALE` multiplies the case counts (CI's long stage).

mod common;
mod registry;

use std::sync::{Mutex, MutexGuard};

use common::Rng;
use half::bf16;
use qat_kernels::ffi::*;
use qat_kernels::{Argument, AsymmetricPerGroup, Calibration, Error, Rule, Symmetric};
use registry::*;

/// How many times the default case counts to run.
fn scale() -> usize {
    std::env::var("QAT_ADVERSARIAL_SCALE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
}

/// The ISA is process-wide: tests that switch it take turns.
static ISA: Mutex<()> = Mutex::new(());

fn isa_lock() -> MutexGuard<'static, ()> {
    ISA.lock().unwrap_or_else(|e| e.into_inner())
}

/// Every ISA this CPU runs, by C code.
fn isas() -> Vec<i32> {
    (1..=4).filter(|&isa| qat_set_isa(isa) == OK).collect()
}

/// An 8-aligned byte arena.
struct Arena(Vec<u64>);

impl Arena {
    fn new(bytes: usize) -> Self {
        Arena(vec![0; bytes.div_ceil(8)])
    }
    fn base(&self) -> usize {
        self.0.as_ptr() as usize
    }
    fn len(&self) -> usize {
        self.0.len() * 8
    }
    fn bytes(&mut self) -> &mut [u8] {
        let len = self.len();
        // SAFETY: the vector's own bytes.
        unsafe { std::slice::from_raw_parts_mut(self.0.as_mut_ptr().cast(), len) }
    }
    fn snapshot(&self) -> Vec<u64> {
        self.0.clone()
    }
}

/// A byte an arena starts with: mostly moderate bf16 values, whose
/// contents pass every check, sometimes anything at all.
fn fill(arena: &mut Arena, rng: &mut Rng, wild: bool) {
    let bytes = arena.bytes();
    for pair in bytes.chunks_exact_mut(2) {
        let v = if wild && rng.below(8) == 0 {
            rng.next_u64() as u16
        } else {
            // 0x3C00..0x3D00: 2^-7 to 2^-5, finite, codes 0..=60 as bytes.
            0x3C00 | (rng.below(256) as u16)
        };
        pair.copy_from_slice(&v.to_le_bytes());
    }
}

fn huge_sizes() -> Vec<usize> {
    let mut v: Vec<usize> = (59..=63).map(|k| 1usize << k).collect();
    v.extend([
        usize::MAX,
        (1 << 62) - 1,
        (1 << 63) + 1,
        3 << 61,
        (1 << 60) + 4096,
    ]);
    v
}

#[test]
fn huge_and_wrapping_sizes_are_shape_errors_on_every_entry_point() {
    let arena = Arena::new(4096);
    let mut called = 0;
    for ep in ENTRY_POINTS.iter() {
        let mut shape_errors = 0;
        let pointers: Vec<usize> = (0..ep.buffers.len())
            .map(|i| arena.base() + 512 * i)
            .collect();
        let mut pairs = vec![];
        for &a in &huge_sizes() {
            for b in [1, 2, 3, 4, 5, 7, 8, 4096, 1 << 31, 1 << 32, a] {
                pairs.push((a, b));
                pairs.push((b, a));
            }
        }
        // Products that wrap to something small.
        pairs.extend([
            (1 << 32, 1 << 32),
            (1 << 33, 1 << 31),
            ((1 << 32) + 1, (1 << 32) - 1),
        ]);
        for (a, b) in pairs {
            let b = if ep.shape == Shape::Pack {
                [1, 2, 4, 8][b % 4]
            } else {
                b
            };
            let args = Args {
                sizes: [a, b],
                ..Args::DEFAULT
            };
            let want = ep.expected(&args, &pointers);
            // Only calls that cannot reach memory: any other would be given
            // more elements than the arena holds.
            if want == OK {
                continue;
            }
            let before = arena.snapshot();
            // SAFETY: the model says the call stops before the kernel.
            let got = unsafe { (ep.call)(&pointers, &args) };
            assert_eq!(got, want, "{} with sizes {a}, {b}", ep.name);
            assert!(arena.snapshot() == before, "{}: written on error", ep.name);
            shape_errors += usize::from(want == SHAPE);
            called += 1;
        }
        assert!(
            shape_errors > 10,
            "{}: {shape_errors} shape errors",
            ep.name
        );
    }
    println!("{called} calls with huge or wrapping sizes");
}

/// A random argument of each kind, valid more often than not.
fn random_args(ep: &EntryPoint, rng: &mut Rng) -> Args {
    let pick = |rng: &mut Rng, v: &[f32]| v[rng.below(v.len())];
    let huge = huge_sizes();
    let size = |rng: &mut Rng, small: usize| match rng.below(16) {
        0 => huge[rng.below(huge.len())],
        1 => 0,
        _ => rng.below(small) + 1,
    };
    let a = size(rng, 40);
    let b = match ep.shape {
        Shape::Pack => [1, 2, 4, 8, 0, 3, 16][rng.below(7).min(rng.below(9))],
        Shape::Group if rng.below(3) > 0 && a > 0 && a < 1000 => {
            let divisors: Vec<usize> = (1..=a).filter(|d| a % d == 0).collect();
            divisors[rng.below(divisors.len())]
        }
        _ => size(rng, 12),
    };
    let bad = |rng: &mut Rng| rng.below(12) == 0;
    Args {
        sizes: [a, b],
        bit: if bad(rng) {
            [0, 9, 17, 32, u32::MAX][rng.below(5)]
        } else {
            rng.below(8) as u32 + 1
        },
        eps: if bad(rng) {
            pick(rng, &[0.0, -1e-4, f32::NAN, f32::INFINITY])
        } else {
            pick(rng, &[1e-4, 1e-30, 0.5])
        },
        clip_val: if bad(rng) {
            pick(rng, &[0.0, 1.0, -0.5, f32::NAN, 1.0 - f32::EPSILON / 2.0])
        } else {
            pick(rng, &[0.99, 0.5, 0.999])
        },
        min_v: if bad(rng) {
            pick(rng, &[-0.5, f32::NAN, -1e9, -129.0, 8.0])
        } else {
            pick(rng, &[-8.0, -128.0, 0.0, -1.0])
        },
        max_v: if bad(rng) {
            pick(rng, &[0.5, f32::INFINITY, 1e9, 128.0])
        } else {
            pick(rng, &[7.0, 127.0, 15.0, 1.0])
        },
        mode: if bad(rng) {
            [2, -1, i32::MAX][rng.below(3)]
        } else {
            rng.below(2) as i32
        },
    }
}

/// Places each buffer somewhere in the arena (byte granular, so that
/// misaligned and overlapping ones occur), or null, or out in the address
/// space where it would wrap.
fn random_pointers(ep: &EntryPoint, args: &Args, arena: &Arena, rng: &mut Rng) -> Vec<usize> {
    let counts = ep.counts(args);
    (0..ep.buffers.len())
        .map(|i| {
            let bytes = counts.as_ref().map_or(0, |c| {
                c[i].saturating_mul(ep.buffers[i].elem.size() as u128)
            });
            match rng.below(24) {
                0 => 0,
                1 => usize::MAX - rng.below(64),
                _ => {
                    let room = (arena.len() as u128).saturating_sub(bytes) as usize;
                    let offset = rng.below(room.min(arena.len()) + 1);
                    let align = ep.buffers[i].elem.size();
                    // Mostly aligned.
                    let offset = if rng.below(4) == 0 {
                        offset
                    } else {
                        offset / align * align
                    };
                    arena.base() + offset
                }
            }
        })
        .collect()
}

/// Whether every buffer lies inside the arena: only such calls may reach
/// the kernel.
fn inside(ep: &EntryPoint, args: &Args, pointers: &[usize], arena: &Arena) -> bool {
    let Some(counts) = ep.counts(args) else {
        return true;
    };
    pointers
        .iter()
        .zip(&counts)
        .zip(ep.buffers)
        .all(|((&p, &n), b)| {
            let bytes = n * b.elem.size() as u128;
            bytes == 0
                || (p >= arena.base() && (p - arena.base()) as u128 + bytes <= arena.len() as u128)
        })
}

#[test]
fn random_arguments_follow_the_documented_check_order() {
    let cases = 40_000 * scale();
    let mut arena = Arena::new(8192);
    let mut rng = Rng(0x5EED);
    let (mut per_status, mut skipped) = ([0usize; 12], 0);
    for case in 0..cases {
        let ep = &ENTRY_POINTS[case % ENTRY_POINTS.len()];
        let args = random_args(ep, &mut rng);
        let pointers = random_pointers(ep, &args, &arena, &mut rng);
        let want = ep.expected(&args, &pointers);
        if want == OK && !inside(ep, &args, &pointers, &arena) {
            skipped += 1;
            continue;
        }
        fill(&mut arena, &mut rng, true);
        let before = arena.snapshot();
        // SAFETY: a call that passes every check has all its buffers in
        // the arena (just checked); any other stops before the kernel.
        let got = unsafe { (ep.call)(&pointers, &args) };
        let content = want == OK && Some(got) == ep.content_error();
        assert!(
            got == want || content,
            "{}: got {got}, want {want}, {args:?}, pointers {:x?} (arena {:x})",
            ep.name,
            pointers,
            arena.base()
        );
        if got != OK {
            assert!(
                arena.snapshot() == before,
                "{}: written on error {got}",
                ep.name
            );
        }
        per_status[got as usize] += 1;
    }
    println!("{cases} random calls ({skipped} not callable), by status: {per_status:?}");
    for (status, &n) in per_status.iter().enumerate() {
        if [OK, POINTER, SHAPE, BIT_WIDTH, EPS, CLIP, RANGE, OVERLAP].contains(&(status as i32)) {
            assert!(n > 0, "no call returned {status}");
        }
    }
}

#[test]
fn every_partial_overlap_byte_by_byte() {
    let mut arena = Arena::new(1024);
    let mut rng = Rng(7);
    let mut calls = 0;
    for ep in ENTRY_POINTS.iter() {
        let a = match ep.shape {
            Shape::Group | Shape::Matrix => 6,
            Shape::Tensor => 9,
            Shape::Pack => 13,
        };
        let b = match ep.shape {
            Shape::Group => 3,
            Shape::Matrix => 3,
            Shape::Tensor => 0,
            Shape::Pack => 4,
        };
        let args = Args {
            sizes: [a, b],
            ..Args::DEFAULT
        };
        let counts = ep.counts(&args).unwrap();
        let bytes: Vec<usize> = counts
            .iter()
            .zip(ep.buffers)
            .map(|(&n, b)| n as usize * b.elem.size())
            .collect();
        for i in 0..ep.buffers.len() {
            for j in 0..ep.buffers.len() {
                if i == j || !ep.buffers[j].output {
                    continue;
                }
                // Buffer i at 256, j at every byte offset around it, the rest
                // apart, from 512 on.
                for delta in -(bytes[j] as isize) - 2..=bytes[i] as isize + 2 {
                    let mut pointers: Vec<usize> = (0..ep.buffers.len())
                        .map(|k| arena.base() + 512 + 64 * k)
                        .collect();
                    pointers[i] = arena.base() + 256;
                    pointers[j] = (arena.base() as isize + 256 + delta) as usize;
                    let want = ep.expected(&args, &pointers);
                    fill(&mut arena, &mut rng, false);
                    let before = arena.snapshot();
                    // SAFETY: every buffer lies in the arena.
                    let got = unsafe { (ep.call)(&pointers, &args) };
                    let content = want == OK && Some(got) == ep.content_error();
                    assert!(
                        got == want || content,
                        "{}: {} at {delta} from {}: got {got}, want {want}",
                        ep.name,
                        ep.buffers[j].name,
                        ep.buffers[i].name
                    );
                    if got != OK {
                        assert!(arena.snapshot() == before, "{}: written on error", ep.name);
                    }
                    calls += 1;
                }
            }
        }
    }
    println!("{calls} overlap calls");
}

#[cfg(target_os = "linux")]
mod guard {
    //! Buffers flush against a page that cannot be touched.
    use std::ffi::c_void;

    extern "C" {
        fn mmap(
            addr: *mut c_void,
            len: usize,
            prot: i32,
            flags: i32,
            fd: i32,
            off: i64,
        ) -> *mut c_void;
        fn mprotect(addr: *mut c_void, len: usize, prot: i32) -> i32;
        fn munmap(addr: *mut c_void, len: usize) -> i32;
        fn sysconf(name: i32) -> i64;
    }
    const PROT_NONE: i32 = 0;
    const PROT_READ_WRITE: i32 = 3;
    const MAP_PRIVATE_ANONYMOUS: i32 = 0x02 | 0x20;
    const SC_PAGESIZE: i32 = 30;

    /// Data pages between two inaccessible ones.
    pub struct Guarded {
        base: *mut u8,
        page: usize,
        pages: usize,
    }

    impl Guarded {
        pub fn new(bytes: usize) -> Guarded {
            // SAFETY: plain calls; the mapping is checked.
            unsafe {
                let page = sysconf(SC_PAGESIZE) as usize;
                let pages = bytes.div_ceil(page).max(1);
                let len = (pages + 2) * page;
                let base = mmap(
                    std::ptr::null_mut(),
                    len,
                    PROT_READ_WRITE,
                    MAP_PRIVATE_ANONYMOUS,
                    -1,
                    0,
                );
                assert!(base as isize != -1, "mmap");
                let base = base.cast::<u8>();
                assert_eq!(mprotect(base.cast(), page, PROT_NONE), 0);
                assert_eq!(
                    mprotect(base.add((pages + 1) * page).cast(), page, PROT_NONE),
                    0
                );
                Guarded { base, page, pages }
            }
        }
        /// The first data byte, right after the lower guard page.
        pub fn start(&self) -> usize {
            self.base as usize + self.page
        }
        /// One past the last data byte, where the upper guard page begins.
        pub fn end(&self) -> usize {
            self.start() + self.pages * self.page
        }
    }

    impl Drop for Guarded {
        fn drop(&mut self) {
            // SAFETY: the mapping made in `new`.
            unsafe { munmap(self.base.cast(), (self.pages + 2) * self.page) };
        }
    }
}

#[cfg(target_os = "linux")]
#[test]
fn buffers_flush_against_inaccessible_pages() {
    let _isa = isa_lock();
    let mut calls = 0;
    for isa in isas() {
        assert_eq!(qat_set_isa(isa), OK);
        for ep in ENTRY_POINTS.iter() {
            let shapes: &[(usize, usize)] = match ep.shape {
                Shape::Group => &[
                    (1, 1),
                    (7, 7),
                    (30, 15),
                    (34, 17),
                    (66, 33),
                    (200, 100),
                    (4100, 4100),
                ],
                Shape::Matrix => &[(1, 1), (1, 7), (2, 15), (3, 17), (2, 33), (1, 4099)],
                Shape::Tensor => &[(0, 0), (1, 0), (7, 0), (15, 0), (17, 0), (33, 0), (4099, 0)],
                Shape::Pack => &[(1, 1), (7, 2), (15, 4), (17, 8), (33, 1), (100, 2)],
            };
            for &(a, b) in shapes {
                let args = Args {
                    sizes: [a, b],
                    ..Args::DEFAULT
                };
                let counts = ep.counts(&args).unwrap();
                let regions: Vec<guard::Guarded> = counts
                    .iter()
                    .zip(ep.buffers)
                    .map(|(&n, b)| guard::Guarded::new(n as usize * b.elem.size()))
                    .collect();
                for flush_end in [true, false] {
                    let pointers: Vec<usize> = regions
                        .iter()
                        .zip(&counts)
                        .zip(ep.buffers)
                        .map(|((r, &n), b)| {
                            let bytes = n as usize * b.elem.size();
                            if flush_end {
                                r.end() - bytes
                            } else {
                                r.start()
                            }
                        })
                        .collect();
                    // Contents every check passes, copied flush into place.
                    let contents = valid_buffers(ep, &args, calls as u64);
                    for (((&p, &n), b), src) in
                        pointers.iter().zip(&counts).zip(ep.buffers).zip(&contents)
                    {
                        let bytes = n as usize * b.elem.size();
                        // SAFETY: `src` holds at least `bytes` bytes, and the
                        // destination lies inside the region's data pages.
                        unsafe {
                            std::ptr::copy_nonoverlapping(
                                src.as_ptr().cast::<u8>(),
                                p as *mut u8,
                                bytes,
                            )
                        };
                    }
                    // SAFETY: every buffer holds its count, inside its region.
                    let got = unsafe { (ep.call)(&pointers, &args) };
                    assert_eq!(got, OK, "{} on ISA {isa} with {a}, {b}", ep.name);
                    calls += 1;
                }
            }
        }
    }
    assert_eq!(qat_set_isa(0), OK);
    println!("{calls} calls with guard pages");
}

/// Weights worth trying on every backend: NaN payloads of both signs,
/// infinities, subnormals, ties, zeros of both signs, huge magnitudes.
fn nasty(rng: &mut Rng) -> u16 {
    const UNUSUAL: [u16; 16] = [
        0x7FC1, 0xFFC1, 0x7F81, 0xFF81, 0x7F80, 0xFF80, 0x0001, 0x8001, 0x007F, 0x0000, 0x8000,
        0x7F7F, 0xFF7F, 0x7F00, 0x3F40, 0xBFC0,
    ];
    match rng.below(4) {
        0 => UNUSUAL[rng.below(UNUSUAL.len())],
        1 => rng.next_u64() as u16,
        _ => 0x3C00 | (rng.below(0x600) as u16) ^ ((rng.below(2) as u16) << 15),
    }
}

/// One call's outputs: its status and every buffer's bytes.
fn run(ep: &EntryPoint, args: &Args, inputs: &[Vec<u8>]) -> (i32, Vec<Vec<u8>>) {
    // SAFETY: every buffer holds its count.
    run_on(ep, args, inputs, |p| Some(unsafe { (ep.call)(p, args) })).unwrap()
}

/// The same through the Rust API ([`EntryPoint::rust`]), where it can
/// express the call.
fn run_rust(ep: &EntryPoint, args: &Args, inputs: &[Vec<u8>]) -> Option<(i32, Vec<Vec<u8>>)> {
    let rust = ep.rust?;
    run_on(ep, args, inputs, |p| {
        let slices: Vec<(usize, usize)> = p
            .iter()
            .zip(inputs)
            .zip(ep.buffers)
            .map(|((&p, bytes), b)| (p, bytes.len() / b.elem.size()))
            .collect();
        // SAFETY: distinct buffers, aligned and holding their counts.
        unsafe { rust(&slices, args) }
    })
}

/// A call on copies of `inputs` at the addresses it is given: its status
/// and every buffer's bytes.
fn run_on(
    ep: &EntryPoint,
    args: &Args,
    inputs: &[Vec<u8>],
    call: impl FnOnce(&[usize]) -> Option<i32>,
) -> Option<(i32, Vec<Vec<u8>>)> {
    // Each buffer followed by at least 8 canary bytes, which a call that
    // writes past a buffer's count overwrites.
    const CANARY: u8 = 0xA5;
    let mut buffers: Vec<Vec<u64>> = inputs
        .iter()
        .map(|b| vec![u64::from_ne_bytes([CANARY; 8]); b.len().div_ceil(8) + 1])
        .collect();
    for (dst, src) in buffers.iter_mut().zip(inputs) {
        // SAFETY: the vector holds at least `src.len()` bytes.
        unsafe { std::ptr::copy_nonoverlapping(src.as_ptr(), dst.as_mut_ptr().cast(), src.len()) };
    }
    let pointers: Vec<usize> = buffers.iter().map(|b| b.as_ptr() as usize).collect();
    let status = call(&pointers)?;
    for ((b, src), buf) in buffers.iter().zip(inputs).zip(ep.buffers) {
        // SAFETY: the vector's own bytes.
        let bytes = unsafe { std::slice::from_raw_parts(b.as_ptr().cast::<u8>(), b.len() * 8) };
        assert!(
            bytes[src.len()..].iter().all(|&x| x == CANARY),
            "{}: written past the end of {}, {args:?}",
            ep.name,
            buf.name
        );
    }
    let out = buffers
        .iter()
        .zip(inputs)
        .map(|(b, src)| {
            // SAFETY: as above.
            unsafe { std::slice::from_raw_parts(b.as_ptr().cast::<u8>(), src.len()) }.to_vec()
        })
        .collect();
    Some((status, out))
}

fn entry(name: &str) -> &'static EntryPoint {
    ENTRY_POINTS.iter().find(|e| e.name == name).unwrap()
}

/// The entry point `name` that `ep` names as a partner: a dtype form's of
/// the same dtype.
fn partner(ep: &EntryPoint, name: &str) -> &'static EntryPoint {
    ENTRY_POINTS
        .iter()
        .find(|e| e.name == name && e.dtype == ep.dtype)
        .unwrap()
}

/// An entry point as the counts below name it: a dtype form's with its dtype.
fn label(ep: &EntryPoint) -> String {
    match ep.dtype {
        Some(dtype) => format!("{}[{dtype:?}]", ep.name),
        None => ep.name.to_string(),
    }
}

/// The entry point `ep` is held to, bit for bit, and how its sizes map to
/// that one's: the registry's reference, or for a `_dtype` form with bf16
/// data the entry point it is the form of (derived here, so none can be
/// left out).
fn reference_of(ep: &EntryPoint) -> Option<(&'static EntryPoint, fn(&Args) -> Args)> {
    if let Some(r) = ep.reference {
        return Some((entry(r.name), r.args));
    }
    if ep.dtype == Some(qat_kernels::Dtype::Bf16) {
        let plain = ep.name.strip_suffix("_dtype").unwrap();
        return Some((entry(plain), |a| *a));
    }
    None
}

/// Whether every value of a data buffer is finite.
fn all_finite(elem: Elem, bytes: &[u8]) -> bool {
    match elem {
        Elem::Bf16 => halves(bytes).iter().all(|v| v & 0x7FFF < 0x7F80),
        Elem::F16 => halves(bytes).iter().all(|v| v & 0x7FFF < 0x7C00),
        Elem::F32 => bytes
            .chunks_exact(4)
            .all(|c| f32::from_le_bytes(c.try_into().unwrap()).is_finite()),
        e => panic!("no data of {e:?}"),
    }
}

fn bf16_bytes(v: &[u16]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn halves(bytes: &[u8]) -> Vec<u16> {
    bytes
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect()
}

#[test]
fn every_isa_agrees_and_the_invariants_hold_on_nasty_values() {
    let _isa = isa_lock();
    let isas = isas();
    let cases = 300 * scale();
    let mut rng = Rng(0xBAD);
    let mut calls = 0;
    let mut invariants = std::collections::HashMap::new();
    let mut references = std::collections::HashMap::new();
    let mut rust_calls = std::collections::HashMap::new();
    for case in 0..cases {
        let ep = &ENTRY_POINTS[case % ENTRY_POINTS.len()];
        let (a, b) = match ep.shape {
            Shape::Group => {
                let g = [1, 3, 8, 17, 64, 4097][rng.below(6)];
                (g * (rng.below(4) + 1), g)
            }
            Shape::Matrix => (rng.below(4) + 1, [1, 5, 16, 33, 4097][rng.below(5)]),
            Shape::Tensor => ([0, 1, 9, 40, 4200][rng.below(5)], 0),
            Shape::Pack => (rng.below(70), [1, 2, 4, 8][rng.below(4)]),
        };
        let mut args = random_args(ep, &mut rng);
        args.sizes = [a, b];
        let counts = ep.counts(&args).unwrap();
        let inputs: Vec<Vec<u8>> = counts
            .iter()
            .zip(ep.buffers)
            .map(|(&n, buf)| {
                let n = n as usize;
                match buf.elem {
                    Elem::Bf16 => bf16_bytes(&(0..n).map(|_| nasty(&mut rng)).collect::<Vec<_>>()),
                    // binary16 data: specials, and random patterns.
                    Elem::F16 => (0..n)
                        .flat_map(|_| {
                            let special = [
                                0x7C00u16, 0xFC00, 0x7E01, 0xFD00, 0x0001, 0x8000, 0x7BFF, 0x3C00,
                            ];
                            let v = match rng.below(3) {
                                0 => special[rng.below(special.len())],
                                _ => (rng.next_u64() as u16 & 0xBFFF) >> rng.below(3),
                            };
                            v.to_le_bytes()
                        })
                        .collect(),
                    Elem::U8 | Elem::I8
                        if ep.shape == Shape::Pack && !buf.output && buf.count == Count::Codes =>
                    {
                        // Codes that fit the width, and rarely one that does not.
                        let shift: u8 = if buf.elem == Elem::I8 {
                            1 << (b - 1)
                        } else {
                            0
                        };
                        (0..n)
                            .map(|_| {
                                (rng.below(1 << b) as u8)
                                    .wrapping_sub(shift)
                                    .wrapping_add(u8::from(rng.below(200) == 0) << 7)
                            })
                            .collect()
                    }
                    Elem::U8 | Elem::I8 => (0..n)
                        .map(|_| rng.next_u64() as u8 >> rng.below(8))
                        .collect(),
                    Elem::F32 => (0..n)
                        .flat_map(|_| {
                            let v = match rng.below(6) {
                                0 => f32::from_bits(0xFFC0_1000),
                                1 => f32::INFINITY,
                                2 => 0.0,
                                _ => (rng.unit() * 0.1) as f32,
                            };
                            v.to_le_bytes()
                        })
                        .collect(),
                    Elem::I32 => (0..n)
                        .flat_map(|_| {
                            let v = match rng.below(6) {
                                0 => i32::MIN,
                                1 => i32::MAX,
                                _ => rng.below(300) as i32 - 150,
                            };
                            v.to_le_bytes()
                        })
                        .collect(),
                    Elem::F64 => (0..n)
                        .flat_map(|_| {
                            let v = match rng.below(6) {
                                0 => f64::from_bits(0xFFF8_2000_0000_0000),
                                1 => f64::INFINITY,
                                _ => rng.unit() - 0.5,
                            };
                            v.to_le_bytes()
                        })
                        .collect(),
                }
            })
            .collect();
        let reference = reference_of(ep).map(|(reference, map)| {
            let args = map(&args);
            assert_eq!(
                reference.counts(&args),
                Some(counts.clone()),
                "{}: {}'s buffers",
                ep.name,
                reference.name
            );
            (reference, args)
        });
        let mut first: Option<(i32, Vec<Vec<u8>>)> = None;
        for &isa in &isas {
            assert_eq!(qat_set_isa(isa), OK);
            let result = run(ep, &args, &inputs);
            calls += 1;
            // The same status and bytes as its reference's, on this backend.
            if let Some((reference, reference_args)) = &reference {
                assert!(
                    run(reference, reference_args, &inputs) == result,
                    "{}: differs from {} on ISA {isa}, {args:?}",
                    ep.name,
                    reference.name
                );
                *references.entry(label(ep)).or_insert(0) += 1;
            }
            // The same through the Rust API, on this backend.
            if let Some(rust) = run_rust(ep, &args, &inputs) {
                assert!(
                    rust == result,
                    "{}: the Rust API differs on ISA {isa}, {args:?}",
                    ep.name
                );
                *rust_calls.entry(label(ep)).or_insert(0) += 1;
            }
            match &first {
                None => first = Some(result),
                Some(f) => assert!(
                    *f == result,
                    "{}: ISA {isa} differs from scalar, {args:?}",
                    ep.name
                ),
            }
        }
        let (status, outputs) = first.unwrap();
        if status != OK {
            assert_eq!(outputs, inputs, "{}: written on error", ep.name);
        }
        // The invariant of its role, on the same inputs.
        if invariant(ep, &args, &inputs, status, &outputs) {
            *invariants.entry(label(ep)).or_insert(0) += 1;
        }
    }
    assert_eq!(qat_set_isa(0), OK);
    // Every entry point whose role relates it to others had its invariant
    // checked: none is skipped, none left out.
    for ep in ENTRY_POINTS.iter() {
        if matches!(
            ep.role,
            Role::Quantize { .. } | Role::Blocks { .. } | Role::Pack { .. }
        ) {
            assert!(
                invariants.get(&label(ep)).is_some_and(|&n| n > 0),
                "{}: invariant never checked",
                label(ep)
            );
        }
    }
    for ep in ENTRY_POINTS.iter().filter(|ep| reference_of(ep).is_some()) {
        assert!(
            references.contains_key(&label(ep)),
            "{}: never held to its reference",
            label(ep)
        );
    }
    for ep in ENTRY_POINTS.iter().filter(|ep| ep.rust.is_some()) {
        assert!(
            rust_calls.contains_key(&label(ep)),
            "{}: its Rust API never called",
            label(ep)
        );
    }
    println!(
        "{calls} cross-ISA calls; invariants checked {invariants:?}; references {references:?}"
    );
}

/// The buffers of `partner` for a call with `args`: each named in `given`
/// holds those bytes, the others zeros of their counts (the registry's, so
/// every unit count comes from the buffers, never from the parameters).
fn buffers_of(partner: &EntryPoint, args: &Args, given: &[(&str, &[u8])]) -> Vec<Vec<u8>> {
    let counts = partner
        .counts(args)
        .expect("the shape of a call that passed");
    partner
        .buffers
        .iter()
        .zip(counts)
        .map(
            |(b, n)| match given.iter().find(|(name, _)| *name == b.name) {
                Some((_, bytes)) => bytes.to_vec(),
                None => vec![0; n as usize * b.elem.size()],
            },
        )
        .collect()
}

/// The bytes of `ep`'s buffer `name` among `buffers` (one per buffer, in
/// order).
fn named<'a>(ep: &EntryPoint, buffers: &'a [Vec<u8>], name: &str) -> &'a [u8] {
    let i = ep.buffers.iter().position(|b| b.name == name);
    &buffers[i.unwrap_or_else(|| panic!("{}: no buffer {name}", ep.name))]
}

/// `ep`'s buffers named as their names, for [`buffers_of`].
fn all_named<'a>(ep: &EntryPoint, buffers: &'a [Vec<u8>]) -> Vec<(&'static str, &'a [u8])> {
    ep.buffers
        .iter()
        .map(|b| b.name)
        .zip(buffers.iter().map(|v| v.as_slice()))
        .collect()
}

/// The invariant of `ep`'s role, on a call that returned `status` with
/// `outputs` from `inputs`; whether it was checked (a relation's call must
/// succeed for its partners to be compared). Every role with partners has
/// its check here: the match has no other arm for them.
fn invariant(
    ep: &EntryPoint,
    args: &Args,
    inputs: &[Vec<u8>],
    status: i32,
    outputs: &[Vec<u8>],
) -> bool {
    match ep.role {
        Role::Quantize {
            forward,
            dequantize,
        } => quantize_round_trip(
            ep,
            partner(ep, forward),
            partner(ep, dequantize),
            args,
            inputs,
            status,
            outputs,
        ),
        Role::Blocks { backward, finish } => blocks_finish_to_backward(
            ep,
            partner(ep, backward),
            partner(ep, finish),
            args,
            inputs,
            status,
            outputs,
        ),
        Role::Pack { unpack } => unpack_of_pack(ep, partner(ep, unpack), args, status, outputs),
        Role::Train | Role::Dequantize | Role::Finish | Role::Calibrate | Role::Unpack => false,
    }
}

/// Quantize succeeds exactly when every forward value is finite, and then
/// dequantize gives the forward pass's bits.
fn quantize_round_trip(
    ep: &EntryPoint,
    forward: &EntryPoint,
    dequantize: &EntryPoint,
    args: &Args,
    inputs: &[Vec<u8>],
    status: i32,
    outputs: &[Vec<u8>],
) -> bool {
    let (f_status, f_out) = run(
        forward,
        args,
        &buffers_of(forward, args, &all_named(ep, inputs)),
    );
    if f_status != OK || !(status == OK || status == NON_FINITE) {
        return false;
    }
    let values = named(forward, &f_out, "out");
    let out = forward.buffers.iter().find(|b| b.name == "out").unwrap();
    let finite = all_finite(out.elem, values);
    assert_eq!(
        status == OK,
        finite,
        "{}: OK exactly when every forward value is finite, {args:?}",
        ep.name
    );
    if status != OK {
        return true;
    }
    let mut given = all_named(ep, inputs);
    given.retain(|(name, _)| *name != "codes");
    given.push(("codes", named(ep, outputs, "codes")));
    let (d_status, d_out) = run(dequantize, args, &buffers_of(dequantize, args, &given));
    assert_eq!(d_status, OK);
    assert_eq!(
        named(dequantize, &d_out, "out"),
        values,
        "{}: dequantize(quantize) != forward",
        ep.name
    );
    true
}

/// The backward's weight gradient is the shard form's, and the finish of
/// the shard form's block values gives the backward's other gradients.
fn blocks_finish_to_backward(
    ep: &EntryPoint,
    backward: &EntryPoint,
    finish: &EntryPoint,
    args: &Args,
    inputs: &[Vec<u8>],
    status: i32,
    outputs: &[Vec<u8>],
) -> bool {
    if status != OK {
        return false;
    }
    let (b_status, b_out) = run(
        backward,
        args,
        &buffers_of(backward, args, &all_named(ep, inputs)),
    );
    assert_eq!(b_status, OK);
    // Block values: every NaN the one canonical NaN.
    let blocks = named(ep, outputs, "block_sums");
    for v in blocks.chunks_exact(8) {
        let v = f64::from_le_bytes(v.try_into().unwrap());
        assert!(
            !v.is_nan() || v.to_bits() == 0x7FF8_0000_0000_0000,
            "{}: NaN {:x}",
            ep.name,
            v.to_bits()
        );
    }
    assert_eq!(
        named(ep, outputs, "grad_weight"),
        named(backward, &b_out, "grad_weight"),
        "{}: weight gradients",
        ep.name
    );
    let given = [
        ("block_sums", blocks),
        ("scale", named(ep, inputs, "scale")),
    ];
    let (f_status, f_out) = run(finish, args, &buffers_of(finish, args, &given));
    assert_eq!(f_status, OK);
    let mut compared = 0;
    for (b, out) in finish.buffers.iter().zip(&f_out) {
        if b.output {
            assert!(
                !out.is_empty() || args.sizes[0] == 0,
                "{}: {} is empty",
                finish.name,
                b.name
            );
            assert_eq!(
                out.as_slice(),
                named(backward, &b_out, b.name),
                "{}: finish(blocks) != backward, {}",
                ep.name,
                b.name
            );
            compared += 1;
        }
    }
    assert!(compared > 0, "{}: no gradient compared", finish.name);
    true
}

/// Unpacking packed codes gives the codes back.
fn unpack_of_pack(
    ep: &EntryPoint,
    unpack: &EntryPoint,
    args: &Args,
    status: i32,
    outputs: &[Vec<u8>],
) -> bool {
    if status != OK {
        return false;
    }
    let given = [("packed", named(ep, outputs, "packed"))];
    let (u_status, u_out) = run(unpack, args, &buffers_of(unpack, args, &given));
    assert_eq!(u_status, OK);
    assert_eq!(
        named(unpack, &u_out, "codes"),
        named(ep, outputs, "codes"),
        "{}: unpack(pack) != codes",
        ep.name
    );
    true
}

// ---- The defects of the earlier adversarial pass, one test each. ----

/// 1: the finish functions' block counts were multiplied into bytes without
/// a check, and wrote out of bounds.
#[test]
fn finish_with_wrapping_block_counts_is_a_shape_error() {
    let blocks = [0.0f64; 4];
    let mut scale = [0x3F80u16; 64];
    let before = scale;
    let p = scale.as_mut_ptr();
    for rows in [1usize << 60, 1 << 59, (1 << 61) + 3] {
        // SAFETY: refused before any buffer is touched.
        let status = unsafe {
            qat_symmetric_per_channel_finish(blocks.as_ptr(), p, p, rows, 1, 1e-4, -8.0, 7.0)
        };
        assert_eq!(status, SHAPE, "rows {rows}");
    }
    // Per group: the f64 count `2 * numel / group_size` is past PTRDIFF_MAX
    // bytes for group sizes 1 to 3 here (larger ones fit, and would then be
    // refused as overlapping, the buffers being all one here).
    let finish = entry("qat_asymmetric_per_group_finish");
    let mut shape_errors = 0;
    for numel in [1usize << 59, 1 << 60, 1 << 61, (1 << 62) - 1] {
        for group_size in 1..=7 {
            let pointers = [
                blocks.as_ptr() as usize,
                p as usize,
                p as usize,
                p as usize + 64,
            ];
            let args = Args {
                sizes: [numel, group_size],
                ..Args::DEFAULT
            };
            let want = finish.expected(&args, &pointers);
            assert_ne!(want, OK);
            // SAFETY: as above.
            let status = unsafe { (finish.call)(&pointers, &args) };
            assert_eq!(status, want, "numel {numel}, group_size {group_size}");
            shape_errors += usize::from(status == SHAPE);
        }
    }
    assert!(shape_errors >= 10, "{shape_errors}");
    assert_eq!(scale, before);
}

/// 2: bit 1 with `clip_val = 1 - 2^-24` put weights on the level -2; such a
/// clip_val is now refused, on every backend, and every accepted one keeps
/// the levels on the grid.
#[test]
fn clip_values_that_leave_the_grid_are_refused() {
    let top = 1.0 - f32::EPSILON / 2.0; // 1 - 2^-24
    let x = [bf16::from_f32(-1.0); 64];
    let (s, o) = ([bf16::from_f32(0.25)], [bf16::ZERO]);
    for (name, b) in common::backends() {
        let p = AsymmetricPerGroup {
            group_size: 64,
            bit: 1,
            eps: 1e-4,
            clip_val: top,
        };
        let mut out = [bf16::ZERO; 64];
        assert_eq!(
            b.asymmetric_per_group(&x, &s, &o, &mut out, &p),
            Err(Error::new(Argument::ClipVal, Rule::ClipGrid)),
            "{name}"
        );
        let mut codes = [0u8; 64];
        assert_eq!(
            b.asymmetric_per_group_quantize(&x, &s, &o, &mut codes, &p),
            Err(Error::new(Argument::ClipVal, Rule::ClipGrid)),
            "{name}"
        );
        assert_eq!(out, [bf16::ZERO; 64]);
    }
    // SAFETY: valid buffers of 64 values.
    let status = unsafe {
        let mut out = [0u16; 64];
        let w = [0xBF80u16; 64];
        qat_asymmetric_per_group(
            w.as_ptr(),
            [0x3E80].as_ptr(),
            [0].as_ptr(),
            out.as_mut_ptr(),
            64,
            64,
            1,
            1e-4,
            top,
        )
    };
    assert_eq!(status, CLIP);
    // The library refuses exactly what the independent model does, for the
    // largest clip values (where the rounding can leave the grid) at
    // every bit width; the model's arithmetic is checked exhaustively in
    // the long test below.
    for bit in 1..=16 {
        let mut clip = top;
        for _ in 0..(4096 * scale()) {
            let p = AsymmetricPerGroup {
                group_size: 1,
                bit,
                eps: 1e-4,
                clip_val: clip,
            };
            let mut out = [bf16::ZERO];
            let got =
                qat_kernels::asymmetric_per_group(&[bf16::from_f32(-1.0)], &s, &o, &mut out, &p);
            assert_eq!(
                got.is_ok(),
                clip_keeps_the_grid(clip, bit),
                "bit {bit}, clip {clip:e}"
            );
            clip = f32::from_bits(clip.to_bits() - 1);
        }
    }
}

/// Exhaustive over every f32 clip_val in [0.5, 1) and bits 1 to 16: the
/// model's extreme levels are on the grid except at bit 1, 1 - 2^-24 (below
/// 0.5, `|clip_val * n - 0.5| < n - 0.5` leaves no room). Run by CI's long
/// stage (`--ignored`).
#[test]
#[ignore = "long: 134 M clip values"]
fn only_one_clip_value_leaves_the_grid() {
    let mut off_grid = vec![];
    for bit in 1..=16 {
        for bits in 0.5f32.to_bits()..1.0f32.to_bits() {
            let clip = f32::from_bits(bits);
            if !clip_keeps_the_grid(clip, bit) {
                off_grid.push((bit, clip));
            }
        }
    }
    assert_eq!(off_grid, vec![(1, 1.0 - f32::EPSILON / 2.0)]);
}

/// 3: a NaN's sign and payload in the block values depended on the ISA.
#[test]
fn block_values_carry_one_canonical_nan() {
    for (name, b) in common::backends() {
        let mut blocks = [0.0f64; 2];
        let mut gw = [bf16::ZERO];
        b.symmetric_per_tensor_backward_blocks(
            &[bf16::ONE],
            &[bf16::from_bits(0xFFC1)],
            bf16::from_f32(0.1),
            &mut gw,
            &mut blocks,
            &Symmetric::default(),
        )
        .unwrap();
        for v in blocks {
            assert_eq!(v.to_bits(), 0x7FF8_0000_0000_0000, "{name}");
        }
    }
    let _isa = isa_lock();
    for isa in isas() {
        assert_eq!(qat_set_isa(isa), OK);
        let mut blocks = [0.0f64; 2];
        let mut gw = [0u16];
        // SAFETY: buffers of the documented counts.
        let status = unsafe {
            qat_symmetric_per_tensor_backward_blocks(
                [0x3F80].as_ptr(),
                [0xFFC1].as_ptr(),
                [0x3DCD].as_ptr(),
                gw.as_mut_ptr(),
                blocks.as_mut_ptr(),
                1,
                1e-4,
                -128.0,
                127.0,
            )
        };
        assert_eq!(status, OK);
        assert_eq!(
            blocks.map(f64::to_bits),
            [0x7FF8_0000_0000_0000; 2],
            "ISA {isa}"
        );
    }
    assert_eq!(qat_set_isa(0), OK);
}

/// 4: quantize returned OK for weights whose forward value is not finite.
#[test]
fn quantize_refuses_every_non_finite_forward_value() {
    let _isa = isa_lock();
    for isa in isas() {
        assert_eq!(qat_set_isa(isa), OK);
        let mut codes = [0xAAu8; 2];
        // SAFETY: buffers of the documented counts.
        let status = unsafe {
            // w = 2^127, s = 2^127, o = -2^127, bit 2: x - o overflows.
            qat_asymmetric_per_group_quantize(
                [0x7F00, 0x3F80].as_ptr(),
                [0x7F00].as_ptr(),
                [0xFF00].as_ptr(),
                codes.as_mut_ptr(),
                2,
                2,
                2,
                1e-4,
                0.99,
            )
        };
        assert_eq!(status, NON_FINITE, "ISA {isa}");
        assert_eq!(codes, [0xAA; 2]);
        let mut codes = [0x55i8; 3];
        // SAFETY: as above. An infinite scale: the value of code 0 is NaN.
        let status = unsafe {
            qat_symmetric_per_tensor_quantize(
                [0x3F80, 0, 0x4000].as_ptr(),
                [0x7F80].as_ptr(),
                codes.as_mut_ptr(),
                3,
                1e-4,
                -8.0,
                7.0,
            )
        };
        assert_eq!(status, NON_FINITE, "ISA {isa}");
        assert_eq!(codes, [0x55; 3]);
        // A finite scale, 2^125, and a weight on level 8: 2^128 overflows.
        let status = unsafe {
            qat_symmetric_per_tensor_quantize(
                [0x7F7F, 0, 0].as_ptr(),
                [0x7E00].as_ptr(),
                codes.as_mut_ptr(),
                3,
                1e-4,
                -128.0,
                127.0,
            )
        };
        assert_eq!(status, NON_FINITE, "ISA {isa}");
        // No weights, a NaN scale: no forward value, so OK, as dequantize.
        let status = unsafe {
            qat_symmetric_per_tensor_quantize(
                std::ptr::null(),
                [0x7FC0].as_ptr(),
                std::ptr::null_mut(),
                0,
                1e-4,
                -8.0,
                7.0,
            )
        };
        assert_eq!(status, OK);
        let status = unsafe {
            qat_symmetric_per_tensor_dequantize(
                std::ptr::null(),
                [0x7FC0].as_ptr(),
                std::ptr::null_mut(),
                0,
                1e-4,
                -8.0,
                7.0,
            )
        };
        assert_eq!(status, OK);
    }
    assert_eq!(qat_set_isa(0), OK);
    for (name, b) in common::backends() {
        let p = AsymmetricPerGroup {
            group_size: 2,
            bit: 2,
            ..Default::default()
        };
        let x = [bf16::from_bits(0x7F00), bf16::ONE];
        let mut codes = [0xAAu8; 2];
        let got = b.asymmetric_per_group_quantize(
            &x,
            &[bf16::from_bits(0x7F00)],
            &[bf16::from_bits(0xFF00)],
            &mut codes,
            &p,
        );
        assert_eq!(
            got,
            Err(Error::new(Argument::Weight, Rule::NoCode)),
            "{name}"
        );
        assert_eq!(codes, [0xAA; 2]);
    }
}

/// 5: calibration gave an infinite scale from finite weights.
#[test]
fn calibration_of_finite_weights_gives_finite_parameters() {
    let big = [bf16::from_bits(0x7F7F), bf16::from_bits(0xFF7F)];
    let same = [bf16::from_bits(0x7F7F); 2];
    for (name, b) in common::backends() {
        for mode in [Calibration::Search, Calibration::Lsq] {
            for bit in [1, 2, 4, 8] {
                let p = AsymmetricPerGroup {
                    group_size: 2,
                    bit,
                    ..Default::default()
                };
                for w in [big, same] {
                    let (mut s, mut o) = ([bf16::ZERO], [bf16::ZERO]);
                    b.asymmetric_per_group_calibrate(&w, &mut s, &mut o, &p, mode)
                        .unwrap();
                    assert!(
                        s[0].is_finite() && o[0].is_finite(),
                        "{name} {mode:?} bit {bit}: {s:?} {o:?}"
                    );
                }
            }
            for q in [
                Symmetric {
                    min_v: -1.0,
                    max_v: 1.0,
                    ..Default::default()
                },
                Symmetric::default(),
            ] {
                for w in [big, same] {
                    let mut s = bf16::ZERO;
                    b.symmetric_per_tensor_calibrate(&w, &mut s, &q, mode)
                        .unwrap();
                    assert!(s.is_finite(), "{name} {mode:?}: {s:?}");
                    let mut s = [bf16::ZERO; 2];
                    b.symmetric_per_channel_calibrate(&[w[0], w[1], w[1], w[0]], &mut s, &q, mode)
                        .unwrap();
                    assert!(s.iter().all(|s| s.is_finite()), "{name} {mode:?}: {s:?}");
                }
            }
        }
        // eps past the largest bf16: the scale saturates.
        let q = Symmetric {
            eps: f32::MAX,
            ..Default::default()
        };
        let mut s = bf16::ZERO;
        b.symmetric_per_tensor_calibrate(&[bf16::ZERO], &mut s, &q, Calibration::Search)
            .unwrap();
        assert_eq!(s.to_bits(), 0x7F7F, "{name}");
    }
    // A random scan of finite weights, every magnitude.
    let mut rng = Rng(5);
    for _ in 0..2000 * scale() {
        let w: Vec<bf16> = (0..4)
            .map(|_| loop {
                let v = bf16::from_bits(rng.next_u64() as u16);
                if v.is_finite() {
                    break v;
                }
            })
            .collect();
        let bit = rng.below(8) as u32 + 1;
        let mode = if rng.below(2) == 0 {
            Calibration::Search
        } else {
            Calibration::Lsq
        };
        let p = AsymmetricPerGroup {
            group_size: 2,
            bit,
            ..Default::default()
        };
        let (mut s, mut o) = ([bf16::ZERO; 2], [bf16::ZERO; 2]);
        qat_kernels::asymmetric_per_group_calibrate(&w, &mut s, &mut o, &p, mode).unwrap();
        assert!(
            s.iter().chain(&o).all(|v| v.is_finite()),
            "{w:?}: {s:?} {o:?}"
        );
        let mut s = [bf16::ZERO; 2];
        qat_kernels::symmetric_per_channel_calibrate(&w, &mut s, &Symmetric::signed(bit), mode)
            .unwrap();
        assert!(s.iter().all(|v| v.is_finite()), "{w:?}: {s:?}");
    }
}

/// The checks' documented order where it was unclear: export's bit width
/// before eps; calibration's mode before the shape; block values 8-byte
/// aligned; 8-bit packing in place.
#[test]
fn documented_order_of_width_mode_and_alignment() {
    let mut codes = [0u8; 2];
    // SAFETY: valid buffers of 2 values.
    unsafe {
        let status = qat_asymmetric_per_group_quantize(
            [0u16; 2].as_ptr(),
            [0x3F80].as_ptr(),
            [0].as_ptr(),
            codes.as_mut_ptr(),
            2,
            2,
            9,
            f32::NAN,
            0.99,
        );
        assert_eq!(status, BIT_WIDTH);
        let mut s = [0u16; 1];
        let status = qat_symmetric_per_tensor_calibrate(
            std::ptr::null(),
            s.as_mut_ptr(),
            5,
            1e-4,
            -8.0,
            7.0,
            7,
        );
        assert_eq!(status, MODE);
        let mut blocks = [0u32; 8];
        // 4 past an 8-aligned address inside `blocks`, 16 bytes to spare.
        let misaligned = ((blocks.as_mut_ptr() as usize).div_ceil(8) * 8 + 4) as *mut f64;
        let mut gw = [0u16; 1];
        let status = qat_symmetric_per_tensor_backward_blocks(
            [0x3F80].as_ptr(),
            [0x3F80].as_ptr(),
            [0x3F80].as_ptr(),
            gw.as_mut_ptr(),
            misaligned,
            1,
            1e-4,
            -8.0,
            7.0,
        );
        assert_eq!(status, POINTER);
        // 8-bit packing is a copy, and may run in place.
        let mut bytes = [3u8, 200, 7];
        let p = bytes.as_mut_ptr();
        assert_eq!(qat_pack_codes(p, 3, 8, p), OK);
        assert_eq!(qat_unpack_codes(p, 3, 8, p), OK);
        assert_eq!(bytes, [3, 200, 7]);
    }
}
