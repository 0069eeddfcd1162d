//! The C ABI: each quantizer's entry points (in its module of
//! `quantizers`, re-exported here), and the library's own: the ISA, the way
//! of dividing, status messages and the refusal handler, the version, the
//! reduction's block count.
//!
//! Every function checks its pointers, sizes and parameters before touching
//! memory, writes nothing unless it returns `QAT_OK`, and cannot panic. The
//! status codes and ISA values are the discriminants of [`Status`] and
//! [`Isa`], which cbindgen writes into the header as `QAT_ERR_*` and
//! `QAT_ISA_*`; a refusal's argument and rule are those of [`Argument`]
//! and [`Rule`].
#![allow(non_camel_case_types)]
// The functions' docs are the header's, written for C readers: each states
// its pointer contract in a "Safety:" paragraph.
#![allow(clippy::missing_safety_doc)]

use core::ffi::c_char;
use core::sync::atomic::Ordering;

use core::sync::atomic::AtomicPtr;

pub use crate::boundary::{qat_refusal, qat_refusal_handler};
use crate::boundary::{status, HANDLER};
use crate::pool::POOL;
pub use crate::pool::{qat_task, qat_thread_pool, QAT_GRAIN};
use crate::{set_division, set_isa, Argument, Division, Error, Isa, Rule, Status};

pub use crate::quantizers::c::*;

/// A bfloat16 value as its 16-bit pattern (the top half of an IEEE f32).
pub type qat_bf16 = u16;

pub use crate::error::QAT_OK;

/// Blocks in the reduction of len terms: len / 4096 rounded up. The block
/// values of a group, row or tensor of len elements number
/// 2 * qat_block_count(len).
#[no_mangle]
pub extern "C" fn qat_block_count(len: usize) -> usize {
    crate::block_count(len)
}

/// Selects the instruction set every later call takes, process-wide and
/// thread-safe (QAT_ISA_AUTO: the best available). Returns
/// QAT_ERR_UNSUPPORTED_ISA, changing nothing, if this CPU or build lacks it or
/// the code is unknown.
#[no_mangle]
pub extern "C" fn qat_set_isa(isa: i32) -> i32 {
    status(
        Isa::from_code(isa)
            .ok_or(Error::new(Argument::Isa, Rule::UnknownIsa))
            .and_then(set_isa),
    )
}

/// The instruction set calls take now (never QAT_ISA_AUTO).
#[no_mangle]
pub extern "C" fn qat_active_isa() -> i32 {
    crate::active_isa() as i32
}

/// Selects how every later call divides by a scale, process-wide and
/// thread-safe: QAT_DIVISION_AUTO (the default: by reciprocal on Intel CPUs,
/// by instruction elsewhere), QAT_DIVISION_INSTRUCTION or
/// QAT_DIVISION_RECIPROCAL. Every choice gives the same bits. Returns
/// QAT_ERR_MODE, changing nothing, for an unknown value.
#[no_mangle]
pub extern "C" fn qat_set_division(division: i32) -> i32 {
    status(
        Division::from_code(division)
            .ok_or(Error::new(Argument::Division, Rule::UnknownDivision))
            .map(set_division),
    )
}

/// How calls divide now, on the active backend: QAT_DIVISION_INSTRUCTION or
/// QAT_DIVISION_RECIPROCAL (the portable backend always divides by
/// instruction), never QAT_DIVISION_AUTO.
#[no_mangle]
pub extern "C" fn qat_active_division() -> i32 {
    crate::active_division() as i32
}

/// A static, NUL-terminated description of a status code (never NULL; unknown
/// codes get "unknown status code").
#[no_mangle]
pub extern "C" fn qat_status_message(status: i32) -> *const c_char {
    let message = match Status::from_code(status) {
        Some(status) => status.c_message(),
        None if status == QAT_OK => c"ok",
        None => c"unknown status code",
    };
    message.as_ptr()
}

/// The library version, e.g. "0.1.0" (static, NUL-terminated).
#[no_mangle]
pub extern "C" fn qat_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// The status of a call whose dtype is none of [`crate::Dtype`]'s (the
/// `_dtype` forms' `with_dtype!` else branch).
pub(crate) fn unknown_dtype() -> i32 {
    status(Err(Error::new(Argument::Dtype, Rule::UnknownDtype)))
}

/// Sets the function every refused call (any entry point that returns a
/// QAT_ERR_* code, from any thread) calls, on its own thread, with the
/// refusal's detail, before returning; NULL sets none. Process-wide; returns
/// the handler it replaces, so that handlers can chain. The refusal lives
/// only during the call: a handler that keeps it copies it (to a
/// thread_local, for a detailed message after the call returns). The
/// handler must not unwind or longjmp out. Where the CPU has no
/// compare-and-swap (a Cortex-M0+), two calls that set handlers at once may
/// both return the same one: set it at start-up.
#[no_mangle]
pub extern "C" fn qat_set_refusal_handler(handler: qat_refusal_handler) -> qat_refusal_handler {
    let old = replace(
        &HANDLER,
        handler.map_or(core::ptr::null_mut(), |f| f as *mut ()),
    );
    if old.is_null() {
        None
    } else {
        // SAFETY: as in `refuse`.
        Some(unsafe {
            core::mem::transmute::<*mut (), unsafe extern "C" fn(*const qat_refusal)>(old)
        })
    }
}

/// Stores `new`, returning what it replaces.
fn replace<T>(setting: &AtomicPtr<T>, new: *mut T) -> *mut T {
    #[cfg(target_has_atomic = "ptr")]
    return setting.swap(new, Ordering::AcqRel);
    // Without compare-and-swap (a Cortex-M0+): a load, then a store.
    #[cfg(not(target_has_atomic = "ptr"))]
    {
        let old = setting.load(Ordering::Acquire);
        setting.store(new, Ordering::Release);
        old
    }
}

/// Runs every later call of at least 2 * QAT_GRAIN elements, from any thread,
/// across pool (NULL: on the calling thread, the default): forward,
/// backward, their shard forms, export, calibration (per tensor: on the
/// calling thread) and per token; finishing and packing stay on the calling
/// thread, their work being small. Process-wide;
/// returns the pool it replaces. The library keeps the pointer, not a copy:
/// pool must stay valid until it is replaced, and calls that may still be
/// using it have returned.
///
/// A call checks everything on the calling thread first: a refused call
/// never reaches the pool, and writes nothing. Then it splits into tasks
/// of whole groups, rows or tokens of about QAT_GRAIN elements (per tensor,
/// QAT_GRAIN elements each) and calls pool->parallel_for once (a per-tensor
/// backward: once per 16 tasks, adding the block sums on the calling
/// thread between them). The split depends on the call's shape alone, and
/// the bits of every output are those of a call without a pool, whatever
/// the pool's thread count or order.
///
/// parallel_for may be called from several threads at once, and from a
/// thread of the pool itself (a call made inside a task of the caller's
/// own): a pool that cannot nest should then run the tasks on the calling
/// thread. Each task sets the default floating-point environment on its
/// thread and restores that thread's own.
///
/// Safety: pool is NULL, or valid as above, with parallel_for as
/// qat_thread_pool states.
#[no_mangle]
pub unsafe extern "C" fn qat_set_thread_pool(
    pool: *const qat_thread_pool,
) -> *const qat_thread_pool {
    replace(&POOL, pool.cast_mut())
}

/// Writes refusal's detail as one line, "bit is outside 2..=8": the argument
/// as this header names it and the rule it broke, with the valid range.
/// Writes at most size bytes to buffer, NUL-terminated and truncated as
/// snprintf does (nothing when size is 0; buffer may then be NULL), and
/// returns the whole line's length without the NUL: a result of size or more
/// means it was cut. A NULL refusal or one with an unknown argument or rule
/// gives "unknown refusal".
///
/// Safety: refusal is NULL or valid; buffer is valid for size bytes.
#[no_mangle]
pub unsafe extern "C" fn qat_refusal_message(
    refusal: *const qat_refusal,
    buffer: *mut c_char,
    size: usize,
) -> usize {
    // SAFETY: null or valid (the caller's).
    let refusal = unsafe { refusal.as_ref() };
    let detail = refusal.and_then(|r| {
        Some(Error::new(
            Argument::from_code(r.argument)?,
            Rule::from_code(r.rule)?,
        ))
    });
    let parts: [&[u8]; 3] = match detail {
        Some(error) => [
            error.argument().name().as_bytes(),
            b" ",
            error.rule().text().as_bytes(),
        ],
        None => [b"unknown refusal", b"", b""],
    };
    let len = parts.iter().map(|p| p.len()).sum();
    if !buffer.is_null() && size > 0 {
        let mut written = 0;
        for byte in parts.iter().flat_map(|p| p.iter()).take(size - 1) {
            // SAFETY: written < size - 1, and buffer is valid for size bytes.
            unsafe { buffer.add(written).write(*byte as c_char) };
            written += 1;
        }
        // SAFETY: written <= size - 1.
        unsafe { buffer.add(written).write(0) };
    }
    len
}
