//! Quantization-aware-training (QAT) kernels on bf16 buffers: fake
//! quantization and its gradients, for trainers that learn quantization
//! scales (LSQ) and offsets (LSQ+).
//!
//! The kernels, each on caller-provided buffers with no allocation:
//!
//! | kernel | granularity | learnable | typical use |
//! | --- | --- | --- | --- |
//! | [`asymmetric_per_group`] (+ backward) | one scale and offset per `group_size` weights | scale, offset | linear layers, 2-4 bit |
//! | [`asymmetric_per_channel`] (+ backward) | one scale and offset per row | scale, offset | per-channel affine, 8 bit |
//! | [`symmetric_per_channel`] (+ backward) | one scale per row (per group: rows of `group_size`) | scale | output heads, 4-8 bit; int4 groups |
//! | [`symmetric_per_tensor`] (+ backward) | one scale | scale | embeddings, 8 bit |
//! | [`per_token_asymmetric`], [`per_token_symmetric`] (+ backward) | each row from its own values | nothing | activations, 8 bit |
//!
//! Beside them: export to integer codes and back
//! ([`asymmetric_per_group_quantize`], [`pack_codes`], ...), whose values
//! are the forward pass's bits; the backward passes for weights split
//! across processes ([`symmetric_per_tensor_backward_blocks`] and the
//! `*_finish` functions); and calibration of the parameters
//! ([`asymmetric_per_group_calibrate`], ...). The repository's `docs/`
//! folder has the whole contract.
//!
//! Each computes in f32 and writes bf16. A portable backend and SIMD backends (AVX2
//! and AVX-512 on x86/x86-64, NEON on aarch64, chosen at run time) give **bit-identical**
//! results, reductions included (see Semantics below).
//!
//! ```
//! use half::bf16;
//! use qat_kernels::{asymmetric_per_group, AsymmetricPerGroup};
//!
//! let params = AsymmetricPerGroup { group_size: 4, ..Default::default() }; // 4 bits
//! let weight = [1.0, -0.15, 0.07, 0.27].map(bf16::from_f32);
//! let (scale, offset) = ([bf16::from_f32(0.0625)], [bf16::ZERO]);
//! let mut out = [bf16::ZERO; 4];
//! asymmetric_per_group(&weight, &scale, &offset, &mut out, &params).unwrap();
//! // alpha = scale * 2^(bit-1) = 0.5; the 16 levels are (k + 0.5) / 16 for
//! // k in -8..8, and 1.0 is clipped to the top one.
//! assert_eq!(out.map(f32::from), [15.0 / 32.0, -5.0 / 32.0, 3.0 / 32.0, 9.0 / 32.0]);
//! ```
//!
//! # Semantics
//!
//! - **Rounding**: levels are chosen with round-half-to-even; results are
//!   narrowed to bf16 with round-to-nearest-even; every NaN is written as
//!   `0x7FC0`.
//! - **NaN**: clamps propagate NaN (`max(x, lo)` is `x < lo ? lo : x`), so a NaN
//!   weight, gradient or scale reaches every output it feeds.
//! - **Determinism**: the bits of the documented operations one at a time (a
//!   multiplication is fused with an addition only where the product is exact,
//!   which changes nothing); sums follow one fixed order on every backend
//!   (`docs/numerics.md` in the repository), so results are the same bits on
//!   every CPU and for every buffer alignment.
//! - **In place**: an output may be exactly an input of the same length (the
//!   `_in_place` functions, or equal pointers through the C ABI); any other
//!   overlap is rejected with [`Status::Overlap`].
//! - **Errors**: a rejected call writes nothing.
//! - **Floating-point environment**: every call sets the default one (round
//!   to nearest, no flushing of subnormals, exceptions masked) for its own
//!   work and restores the caller's, sticky flags included, so the bits do
//!   not depend on what the caller left.
//!
//! The crate is `no_std` and never allocates. The `std` feature (on by
//! default) only links the standard library; a `no_std` program turns it
//! off, and the C libraries (`make -C c_tests`, and a firmware's static
//! library) use `panic-handler` instead. No input can make a kernel panic.
//! The full contract (formulas, numerics, validation, C ABI) is in the
//! repository's `docs/` folder.
#![no_std]
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs, clippy::undocumented_unsafe_blocks)]

#[cfg(feature = "std")]
extern crate std;

/// The C libraries' panic handler (feature `panic-handler`, without `std`:
/// how the firmware and the host C libraries are built). No input can make a
/// kernel panic: the shape checks use checked arithmetic and the loops
/// neither index nor divide unchecked, and the Cortex-M build confirms no
/// panic path is linked. Should one ever run, it executes a permanently
/// undefined instruction (a HardFault on a microcontroller, `SIGILL` in a
/// process) rather than return into a corrupted caller.
#[cfg(all(feature = "panic-handler", not(feature = "std"), not(test)))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    loop {
        #[cfg(any(target_arch = "arm", target_arch = "aarch64"))]
        // SAFETY: `udf` only raises the undefined-instruction fault.
        unsafe {
            core::arch::asm!("udf #0")
        };
        #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
        // SAFETY: `ud2` only raises the invalid-opcode fault.
        unsafe {
            core::arch::asm!("ud2")
        };
    }
}

/// On hosts, the prebuilt `core` is compiled for unwinding, and its unwind
/// tables name this personality routine even though nothing unwinds here
/// (the panic handler above never returns). The C libraries' build makes the
/// symbol local (`c_tests/Makefile`), so it cannot meet a second Rust
/// library's.
#[cfg(all(
    feature = "panic-handler",
    not(feature = "std"),
    not(test),
    not(target_os = "none")
))]
#[no_mangle]
extern "C" fn rust_eh_personality() {}

mod arch;
mod bf16_bits;
mod boundary;
mod call;
mod codes;
mod dispatch;
mod division;
mod error;
pub mod ffi;
mod float;
mod fpenv;
mod isa;
mod kernels;
mod params;
mod pool;
mod quantizers;
/// The tests' registry: not part of the C ABI.
/// cbindgen:ignore
#[cfg(feature = "test-hooks")]
#[doc(hidden)]
pub mod registry;
mod vector;

pub use division::{active_division, set_division, Division};
pub use error::{Argument, Error, Rule, Status};
pub use float::{Dtype, Float};
pub use isa::{active_isa, set_isa, Isa};
pub use quantizers::*;

/// The README's Rust examples run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
