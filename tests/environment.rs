//! The same bits whatever floating-point environment the caller left: each
//! kernel, on every backend, under flush-to-zero, denormals-are-zero, each
//! rounding mode and every exception unmasked, against its own results in
//! the default environment; and after every call, ok or rejected, the
//! caller's control and status register is exactly what it was.
//!
//! The inputs hold subnormals, exact ties, NaN and infinities.
#![cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]

mod common;
mod registry;

use common::backends;
use half::bf16;
use qat_kernels::{AsymmetricPerGroup, Backend, Symmetric};

/// Reading and writing this architecture's environment register.
#[cfg(target_arch = "x86_64")]
mod env {
    use std::arch::asm;

    pub const DEFAULT: u64 = 0x1F80;
    const FTZ: u64 = 1 << 15;
    const DAZ: u64 = 1 << 6;
    const ROUND_DOWN: u64 = 1 << 13;
    const ROUND_UP: u64 = 2 << 13;
    const ROUND_TO_ZERO: u64 = 3 << 13;
    const ALL_MASKS: u64 = 0x3F << 7;
    /// Every flag set: a caller's sticky flags must come back as they were.
    const FLAGS: u64 = 0x3F;

    /// The environments to test, named.
    pub fn cases() -> Vec<(&'static str, u64)> {
        vec![
            ("FTZ", DEFAULT | FTZ),
            ("DAZ", DEFAULT | DAZ),
            ("FTZ+DAZ", DEFAULT | FTZ | DAZ),
            ("round down", DEFAULT | ROUND_DOWN),
            ("round up", DEFAULT | ROUND_UP),
            ("round to zero", DEFAULT | ROUND_TO_ZERO),
            ("exceptions unmasked", DEFAULT & !ALL_MASKS),
            ("sticky flags set", DEFAULT | FLAGS),
            ("fast-math", DEFAULT | FTZ | DAZ | ROUND_TO_ZERO | FLAGS),
        ]
    }

    /// Runs `f` with MXCSR set to `value`; returns its result and MXCSR as
    /// `f` left it. The default is back on return.
    #[inline(never)]
    pub fn under<R>(value: u64, f: impl FnOnce() -> R) -> (R, u64) {
        let set = value as u32;
        let mut after = 0u32;
        // SAFETY: loads a valid MXCSR value (no reserved bit set).
        unsafe { asm!("ldmxcsr [{}]", in(reg) &set, options(nostack)) };
        let result = std::hint::black_box(f());
        // SAFETY: stores four bytes to a local, then restores the default.
        unsafe {
            asm!("stmxcsr [{}]", in(reg) &mut after, options(nostack));
            asm!("ldmxcsr [{}]", in(reg) &(DEFAULT as u32), options(nostack));
        }
        (result, u64::from(after))
    }
}

#[cfg(target_arch = "aarch64")]
mod env {
    use std::arch::asm;

    pub const DEFAULT: u64 = 0;
    const FZ: u64 = 1 << 24;
    const ROUND_UP: u64 = 1 << 22;
    const ROUND_DOWN: u64 = 2 << 22;
    const ROUND_TO_ZERO: u64 = 3 << 22;
    const DEFAULT_NAN: u64 = 1 << 25;

    pub fn cases() -> Vec<(&'static str, u64)> {
        vec![
            ("FZ", FZ),
            ("round up", ROUND_UP),
            ("round down", ROUND_DOWN),
            ("round to zero", ROUND_TO_ZERO),
            ("default NaN", DEFAULT_NAN),
            ("FZ+round to zero", FZ | ROUND_TO_ZERO | DEFAULT_NAN),
        ]
    }

    /// Runs `f` with FPCR set to `value`; returns its result and FPCR as `f`
    /// left it. The default is back on return.
    #[inline(never)]
    pub fn under<R>(value: u64, f: impl FnOnce() -> R) -> (R, u64) {
        let after: u64;
        // SAFETY: writes a valid FPCR value.
        unsafe { asm!("msr fpcr, {}", in(reg) value, options(nostack)) };
        let result = std::hint::black_box(f());
        // SAFETY: reads FPCR, then restores the default.
        unsafe {
            asm!("mrs {}, fpcr", out(reg) after, options(nostack));
            asm!("msr fpcr, xzr", options(nostack));
        }
        (result, after)
    }
}

/// Weights: every class a kernel must keep exact under another environment.
fn weights(n: usize) -> Vec<bf16> {
    let specials = [
        0x0001, 0x8011, 0x007F, 0x8080, // subnormals and the smallest normals
        0x7F80, 0xFF80, 0x7FC0, 0xFFC1, // infinities, NaNs
        0x0000, 0x8000,
    ];
    (0..n)
        .map(|i| match i % 7 {
            0 => bf16::from_bits(specials[(i / 7) % specials.len()]),
            // Ties: multiples of half a level for the scales below.
            1 => bf16::from_f32(((i % 41) as f32 - 20.0) * 0.03125),
            2 => bf16::from_f32(0.30078125 * if i % 2 == 0 { 1.0 } else { -1.0 }),
            // Subnormal-heavy: tiny weights.
            3 => bf16::from_bits((0x8000 * (i as u16 % 2)) | (i as u16 % 0x7F)),
            _ => bf16::from_f32(((i * 37 % 101) as f32 - 50.0) * 0.011),
        })
        .collect()
}

fn gradients(n: usize) -> Vec<bf16> {
    (0..n)
        .map(|i| match i % 11 {
            0 => bf16::from_bits(0x0003),
            1 => bf16::from_bits(0x8040),
            _ => bf16::from_f32(((i * 13 % 29) as f32 - 14.0) * 0.0625),
        })
        .collect()
}

/// Runs one kernel call under `value` and checks that it left the register
/// as it found it.
fn call<R>(value: u64, what: &str, f: impl FnOnce() -> R) -> R {
    let (result, after) = env::under(value, f);
    assert_eq!(after, value, "{what}: environment {value:#x} not restored");
    result
}

/// Every output of every kernel (forward and backward, three quantizers,
/// subnormal and ordinary scales) as bit patterns, each call made under the
/// environment `value`.
fn all_outputs(backend: Backend, value: u64) -> Vec<u16> {
    let name = format!("{:?}", backend.isa());
    let (rows, cols) = (8, 72);
    let n = rows * cols;
    let (x, g) = (weights(n), gradients(n));
    let mut bits = Vec::new();
    let mut push = |v: &[bf16]| bits.extend(v.iter().map(|b| b.to_bits()));
    for (scale, offset, group_size) in [
        (bf16::from_bits(0x00C4), bf16::from_bits(0x00CA), 36), // subnormal parameters
        (bf16::from_f32(0.0625), bf16::from_f32(0.03125), 72),
        (bf16::from_f32(1.0), bf16::ZERO, 8),
    ] {
        let groups = n / group_size;
        let params = AsymmetricPerGroup {
            group_size,
            bit: 4,
            eps: 1e-45,
            clip_val: 0.99,
        };
        let (s, o) = (vec![scale; groups], vec![offset; groups]);
        let mut out = vec![bf16::ZERO; n];
        call(value, &name, || {
            backend.asymmetric_per_group(&x, &s, &o, &mut out, &params)
        })
        .unwrap();
        push(&out);
        let (mut gs, mut go) = (vec![bf16::ZERO; groups], vec![bf16::ZERO; groups]);
        call(value, &name, || {
            backend
                .asymmetric_per_group_backward(&g, &x, &s, &o, &mut out, &mut gs, &mut go, &params)
        })
        .unwrap();
        push(&out);
        push(&gs);
        push(&go);

        let sym = Symmetric {
            eps: 1e-45,
            ..Symmetric::signed(4)
        };
        let s = vec![scale; rows];
        call(value, &name, || {
            backend.symmetric_per_channel(&x, &s, &mut out, &sym)
        })
        .unwrap();
        push(&out);
        let mut gs = vec![bf16::ZERO; rows];
        call(value, &name, || {
            backend.symmetric_per_channel_backward(&g, &x, &s, &mut out, &mut gs, &sym)
        })
        .unwrap();
        push(&out);
        push(&gs);
        call(value, &name, || {
            backend.symmetric_per_tensor(&x, scale, &mut out, &sym)
        })
        .unwrap();
        push(&out);
        let mut gs = bf16::ZERO;
        call(value, &name, || {
            backend.symmetric_per_tensor_backward(&g, &x, scale, &mut out, &mut gs, &sym)
        })
        .unwrap();
        push(&out);
        push(&[gs]);
    }
    bits
}

#[test]
fn every_environment_gives_the_default_bits_and_is_restored() {
    for (name, backend) in backends() {
        let want = all_outputs(backend, env::DEFAULT);
        for (case, value) in env::cases() {
            let got = all_outputs(backend, value);
            let differ = got.iter().zip(&want).filter(|(g, w)| g != w).count();
            assert_eq!(differ, 0, "{name} under {case}: {differ} outputs differ");
            // A call rejected after its parameters were read as floats.
            let (x, mut out) = ([bf16::ONE; 4], [bf16::ZERO; 4]);
            let nan_eps = Symmetric {
                eps: f32::from_bits(0x7FA0_0000), // signaling
                ..Symmetric::default()
            };
            let rejected = call(value, name, || {
                backend.symmetric_per_tensor(&x, bf16::ONE, &mut out, &nan_eps)
            });
            assert!(
                rejected.is_err() && out == [bf16::ZERO; 4],
                "{name} under {case}"
            );
        }
    }
}

#[test]
fn the_c_abi_restores_the_environment_too() {
    let x = [bf16::from_f32(0.30078125).to_bits(); 16];
    let mut out = [0u16; 16];
    let scale = [bf16::ONE.to_bits()];
    for (case, value) in env::cases() {
        let (status, after) = env::under(value, || {
            // SAFETY: every pointer is valid for the counts given.
            unsafe {
                qat_kernels::ffi::qat_symmetric_per_tensor(
                    x.as_ptr(),
                    scale.as_ptr(),
                    out.as_mut_ptr(),
                    16,
                    1e-4,
                    -8.0,
                    7.0,
                )
            }
        });
        assert_eq!(status, qat_kernels::ffi::QAT_OK, "{case}");
        // round(0.30078125) is 0 in round-to-nearest, whatever the caller's mode.
        assert!(out.iter().all(|&b| b == 0), "{case}: {out:?}");
        assert_eq!(after, value, "{case}: environment not restored");
        // A rejected call (null weight) restores it as well.
        // SAFETY: the null pointer is rejected before any access.
        let (status, after) = env::under(value, || unsafe {
            qat_kernels::ffi::qat_symmetric_per_tensor(
                std::ptr::null(),
                scale.as_ptr(),
                out.as_mut_ptr(),
                16,
                1e-4,
                -8.0,
                7.0,
            )
        });
        assert_ne!(status, qat_kernels::ffi::QAT_OK, "{case}");
        assert_eq!(
            after, value,
            "{case}: environment not restored after an error"
        );
    }
}

/// Every C entry point of the registry (`tests/registry`: export, shard
/// forms, calibration and packing too), under every environment: the bytes
/// of the default environment's call, and the caller's register restored.
#[test]
fn every_c_entry_point_gives_the_default_bits_and_restores_the_environment() {
    for ep in registry::ENTRY_POINTS.iter() {
        let args = registry::typical_args(ep);
        let run = |value: u64| {
            let mut buffers = registry::valid_buffers(ep, &args, 7);
            let pointers = registry::addresses(&mut buffers);
            // SAFETY: every buffer holds its count.
            let status = call(value, ep.name, || unsafe { (ep.call)(&pointers, &args) });
            assert_eq!(status, registry::OK, "{}", ep.name);
            buffers
        };
        let want = run(env::DEFAULT);
        for (case, value) in env::cases() {
            assert!(run(value) == want, "{} under {case}: other bits", ep.name);
        }
    }
}
