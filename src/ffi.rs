//! The C ABI: pointer checks on top of the path every call takes (`call`).
//!
//! Every function checks its pointers, sizes and parameters before touching
//! memory, writes nothing unless it returns `QAT_OK`, and cannot panic. The
//! status codes and ISA values are the discriminants of [`Error`] and
//! [`Isa`], which cbindgen writes into the header as `QAT_ERR_*` and
//! `QAT_ISA_*`.
#![allow(non_camel_case_types)]
// The functions' docs are the header's, written for C readers: each states
// its pointer contract in a "Safety:" paragraph.
#![allow(clippy::missing_safety_doc)]

use core::ffi::c_char;

use crate::call::{self, Boundary, Buffer, Call, Shape};
use crate::{dispatch, set_isa, AsymmetricPerGroup, Calibration, Error, Isa, PerToken, Symmetric};

/// A bfloat16 value as its 16-bit pattern (the top half of an IEEE f32).
pub type qat_bf16 = u16;

/// Success.
pub const QAT_OK: i32 = 0;

fn status(result: Result<(), Error>) -> i32 {
    match result {
        Ok(()) => QAT_OK,
        Err(error) => error.code(),
    }
}

/// Buffers from C: any pointer, length and overlap may come in.
enum Raw {}

impl Buffer {
    /// One past the last byte; `None` if the extent is too large
    /// ([`Buffer::bytes`]) or the buffer wraps around the address space.
    fn end(self) -> Option<usize> {
        self.start.checked_add(self.bytes()?)
    }
}

impl Boundary for Raw {
    type Len = ();
    type Status = i32;
    #[inline(always)]
    fn status(result: Result<(), Error>) -> i32 {
        status(result)
    }
    /// Never inlined, and the list of buffers made here: it then lives in this
    /// frame, gone before the kernel's begins (a microcontroller's stack is
    /// small). The loops themselves are written once, outside the generics.
    #[inline(never)]
    fn check<Q, const N: usize>(
        buffers: impl FnOnce() -> [Buffer; N],
        validate: impl FnOnce() -> Result<Q, Error>,
    ) -> Result<Q, Error> {
        let buffers = buffers();
        check_extents(&buffers)?;
        check_pointers(&buffers)?;
        let quant = validate()?;
        check_overlaps(&buffers)?;
        Ok(quant)
    }
}

/// A per-group call from C, on the active path.
fn per_group(
    numel: usize,
    group_size: usize,
    bit: u32,
    eps: f32,
    clip_val: f32,
) -> Call<Raw, AsymmetricPerGroup> {
    let params = AsymmetricPerGroup {
        group_size,
        bit,
        eps,
        clip_val,
    };
    Call::new(dispatch::active(), Shape::groups(numel, group_size), params)
}

/// A symmetric call from C on `rows` rows of `cols` (per tensor: one row),
/// on the active path.
fn per_channel(rows: usize, cols: usize, eps: f32, min_v: f32, max_v: f32) -> Call<Raw, Symmetric> {
    let params = Symmetric { eps, min_v, max_v };
    Call::new(dispatch::active(), Shape::rows(rows, cols), params)
}

/// A per-token call from C on `rows` tokens of `cols`, on the active path.
fn per_token(rows: usize, cols: usize, bit: u32, eps: f32) -> Call<Raw, PerToken> {
    Call::new(
        dispatch::active(),
        Shape::rows(rows, cols),
        PerToken { bit, eps },
    )
}

/// `Shape` for a buffer larger than any object can be (`PTRDIFF_MAX`
/// bytes), its count however large or wrapped: the shape's last check,
/// before any pointer is looked at. (Each of these loops is one function for
/// every entry point, not inlined into each: a firmware's code is small.)
#[inline(never)]
fn check_extents(buffers: &[Buffer]) -> Result<(), Error> {
    if buffers.iter().all(|b| b.bytes().is_some()) {
        Ok(())
    } else {
        Err(Error::Shape)
    }
}

/// `Pointer` for a buffer that is null with a nonzero count, misaligned, or
/// wrapping around the address space.
#[inline(never)]
fn check_pointers(buffers: &[Buffer]) -> Result<(), Error> {
    for &b in buffers {
        if (b.start == 0 && b.len != 0) || !aligned(b) || b.end().is_none() {
            return Err(Error::Pointer);
        }
    }
    Ok(())
}

/// Whether the buffer starts on a multiple of its element size (a power of
/// two: a mask, not a division, which a Cortex-M0 does in software).
fn aligned(b: Buffer) -> bool {
    b.size.is_power_of_two() && b.start & (b.size - 1) == 0
}

/// `Overlap` for an output that overlaps another buffer other than as
/// exactly the same buffer as an input (in place). The ends exist: checked
/// by [`check_pointers`].
#[inline(never)]
fn check_overlaps(buffers: &[Buffer]) -> Result<(), Error> {
    for (i, a) in buffers.iter().enumerate() {
        for b in buffers.iter().skip(i + 1) {
            if !(a.output || b.output) || a.len == 0 || b.len == 0 {
                continue;
            }
            let disjoint = a.end() <= Some(b.start) || b.end() <= Some(a.start);
            let in_place =
                a.start == b.start && a.len == b.len && a.size == b.size && a.output != b.output;
            if !disjoint && !in_place {
                return Err(Error::Overlap);
            }
        }
    }
    Ok(())
}

/// Asymmetric per-group fake quantization (LSQ+ forward).
///
/// weight and out hold numel values, scale and offset one per group of
/// group_size consecutive weights. out may be weight (in place).
/// Typical values: group_size 128, bit 4, eps 1e-4, clip_val 0.99.
///
/// Safety: each non-null pointer must be valid for its count of elements.
#[no_mangle]
pub unsafe extern "C" fn qat_asymmetric_per_group(
    weight: *const qat_bf16,
    scale: *const qat_bf16,
    offset: *const qat_bf16,
    out: *mut qat_bf16,
    numel: usize,
    group_size: usize,
    bit: u32,
    eps: f32,
    clip_val: f32,
) -> i32 {
    // SAFETY: the caller's pointers are valid for their counts (this
    // function's contract); the call checks everything else.
    unsafe {
        per_group(numel, group_size, bit, eps, clip_val).forward(weight, (scale, offset), out)
    }
}

/// Backward of qat_asymmetric_per_group: writes grad_weight (numel values),
/// grad_scale and grad_offset (one per group).
///
/// An output may be exactly an input of the same length (grad_weight =
/// grad_output, say); no other overlap is allowed.
///
/// Safety: each non-null pointer must be valid for its count of elements.
#[no_mangle]
pub unsafe extern "C" fn qat_asymmetric_per_group_backward(
    grad_output: *const qat_bf16,
    weight: *const qat_bf16,
    scale: *const qat_bf16,
    offset: *const qat_bf16,
    grad_weight: *mut qat_bf16,
    grad_scale: *mut qat_bf16,
    grad_offset: *mut qat_bf16,
    numel: usize,
    group_size: usize,
    bit: u32,
    eps: f32,
    clip_val: f32,
) -> i32 {
    // SAFETY: the caller's pointers are valid for their counts (this
    // function's contract); the call checks everything else.
    unsafe {
        per_group(numel, group_size, bit, eps, clip_val).backward(
            grad_output,
            weight,
            (scale, offset),
            grad_weight,
            (grad_scale, grad_offset),
        )
    }
}

/// Symmetric per-channel fake quantization (LSQ forward) of a row-major
/// rows x cols matrix, one scale per row. out may be weight.
///
/// Safety: each non-null pointer must be valid for its count of elements.
#[no_mangle]
pub unsafe extern "C" fn qat_symmetric_per_channel(
    weight: *const qat_bf16,
    scale: *const qat_bf16,
    out: *mut qat_bf16,
    rows: usize,
    cols: usize,
    eps: f32,
    min_v: f32,
    max_v: f32,
) -> i32 {
    // SAFETY: the caller's pointers are valid for their counts (this
    // function's contract); the call checks everything else.
    unsafe { per_channel(rows, cols, eps, min_v, max_v).forward(weight, scale, out) }
}

/// Backward of qat_symmetric_per_channel: writes grad_weight (rows x cols) and
/// grad_scale (one per row).
///
/// Safety: each non-null pointer must be valid for its count of elements.
#[no_mangle]
pub unsafe extern "C" fn qat_symmetric_per_channel_backward(
    grad_output: *const qat_bf16,
    weight: *const qat_bf16,
    scale: *const qat_bf16,
    grad_weight: *mut qat_bf16,
    grad_scale: *mut qat_bf16,
    rows: usize,
    cols: usize,
    eps: f32,
    min_v: f32,
    max_v: f32,
) -> i32 {
    // SAFETY: the caller's pointers are valid for their counts (this
    // function's contract); the call checks everything else.
    unsafe {
        per_channel(rows, cols, eps, min_v, max_v).backward(
            grad_output,
            weight,
            scale,
            grad_weight,
            grad_scale,
        )
    }
}

/// Symmetric per-tensor fake quantization: one scale (scale[0]) for all
/// numel weights. out may be weight. scale[0] must be valid even when numel
/// is 0.
///
/// Safety: each non-null pointer must be valid for its count of elements.
#[no_mangle]
pub unsafe extern "C" fn qat_symmetric_per_tensor(
    weight: *const qat_bf16,
    scale: *const qat_bf16,
    out: *mut qat_bf16,
    numel: usize,
    eps: f32,
    min_v: f32,
    max_v: f32,
) -> i32 {
    // SAFETY: the caller's pointers are valid for their counts (this
    // function's contract); the call checks everything else.
    unsafe { per_channel(1, numel, eps, min_v, max_v).forward(weight, scale, out) }
}

/// Backward of qat_symmetric_per_tensor: writes grad_weight (numel values) and
/// grad_scale[0], the gradient summed over every element (+0.0 when numel is 0).
/// scale[0] is read and grad_scale[0] written even when numel is 0, so both
/// pointers must be valid.
///
/// Safety: each non-null pointer must be valid for its count of elements.
#[no_mangle]
pub unsafe extern "C" fn qat_symmetric_per_tensor_backward(
    grad_output: *const qat_bf16,
    weight: *const qat_bf16,
    scale: *const qat_bf16,
    grad_weight: *mut qat_bf16,
    grad_scale: *mut qat_bf16,
    numel: usize,
    eps: f32,
    min_v: f32,
    max_v: f32,
) -> i32 {
    // SAFETY: the caller's pointers are valid for their counts (this
    // function's contract); the call checks everything else.
    unsafe {
        per_channel(1, numel, eps, min_v, max_v).backward(
            grad_output,
            weight,
            scale,
            grad_weight,
            grad_scale,
        )
    }
}

/// Export: the integer code of each weight, q = r + n in 0..2^bit (bit at
/// most 8), where r is the level qat_asymmetric_per_group snaps the weight
/// to, so that qat_asymmetric_per_group_dequantize gives back its output bit
/// for bit. codes holds numel bytes. Succeeds exactly when every value
/// qat_asymmetric_per_group gives is finite; otherwise (a NaN weight, scale
/// or offset, infinities meeting, a level past bf16's range) returns
/// QAT_ERR_NON_FINITE and writes nothing. Infinite weights whose value is
/// finite clip like large ones.
///
/// Safety: each non-null pointer must be valid for its count of elements.
#[no_mangle]
pub unsafe extern "C" fn qat_asymmetric_per_group_quantize(
    weight: *const qat_bf16,
    scale: *const qat_bf16,
    offset: *const qat_bf16,
    codes: *mut u8,
    numel: usize,
    group_size: usize,
    bit: u32,
    eps: f32,
    clip_val: f32,
) -> i32 {
    // SAFETY: the caller's pointers are valid for their counts (this
    // function's contract); the call checks everything else.
    unsafe {
        per_group(numel, group_size, bit, eps, clip_val).quantize(weight, (scale, offset), codes)
    }
}

/// The values of codes (numel bytes) from qat_asymmetric_per_group_quantize:
/// out[i] = ((codes[i] - n) + 0.5) * max(scale, eps) + offset, in f32, one
/// operation at a time, narrowed to bf16. Returns QAT_ERR_CODE, writing
/// nothing, for a code of 2^bit or more.
///
/// Safety: each non-null pointer must be valid for its count of elements.
#[no_mangle]
pub unsafe extern "C" fn qat_asymmetric_per_group_dequantize(
    codes: *const u8,
    scale: *const qat_bf16,
    offset: *const qat_bf16,
    out: *mut qat_bf16,
    numel: usize,
    group_size: usize,
    bit: u32,
    eps: f32,
    clip_val: f32,
) -> i32 {
    // SAFETY: the caller's pointers are valid for their counts (this
    // function's contract); the call checks everything else.
    unsafe {
        per_group(numel, group_size, bit, eps, clip_val).dequantize(codes, (scale, offset), out)
    }
}

/// Export: the integer code c = clip(round(x / ps), min_v, max_v) of each
/// weight of a rows x cols matrix, one scale per row; min_v and max_v must
/// lie in -128..=127 (else QAT_ERR_RANGE). Succeeds exactly when every
/// value qat_symmetric_per_channel gives is finite; otherwise (a NaN weight
/// or scale, an infinite scale, c * ps past bf16's range) returns
/// QAT_ERR_NON_FINITE and writes nothing.
///
/// Safety: each non-null pointer must be valid for its count of elements.
#[no_mangle]
pub unsafe extern "C" fn qat_symmetric_per_channel_quantize(
    weight: *const qat_bf16,
    scale: *const qat_bf16,
    codes: *mut i8,
    rows: usize,
    cols: usize,
    eps: f32,
    min_v: f32,
    max_v: f32,
) -> i32 {
    // SAFETY: the caller's pointers are valid for their counts (this
    // function's contract); the call checks everything else.
    unsafe { per_channel(rows, cols, eps, min_v, max_v).quantize(weight, scale, codes) }
}

/// The values of codes from qat_symmetric_per_channel_quantize: out[i] =
/// codes[i] * max(scale, eps), narrowed to bf16. QAT_ERR_CODE, writing
/// nothing, for a code outside [min_v, max_v].
///
/// Safety: each non-null pointer must be valid for its count of elements.
#[no_mangle]
pub unsafe extern "C" fn qat_symmetric_per_channel_dequantize(
    codes: *const i8,
    scale: *const qat_bf16,
    out: *mut qat_bf16,
    rows: usize,
    cols: usize,
    eps: f32,
    min_v: f32,
    max_v: f32,
) -> i32 {
    // SAFETY: the caller's pointers are valid for their counts (this
    // function's contract); the call checks everything else.
    unsafe { per_channel(rows, cols, eps, min_v, max_v).dequantize(codes, scale, out) }
}

/// qat_symmetric_per_channel_quantize with one scale (scale[0], read even
/// when numel is 0) for all numel weights.
///
/// Safety: each non-null pointer must be valid for its count of elements.
#[no_mangle]
pub unsafe extern "C" fn qat_symmetric_per_tensor_quantize(
    weight: *const qat_bf16,
    scale: *const qat_bf16,
    codes: *mut i8,
    numel: usize,
    eps: f32,
    min_v: f32,
    max_v: f32,
) -> i32 {
    // SAFETY: the caller's pointers are valid for their counts (this
    // function's contract); the call checks everything else.
    unsafe { per_channel(1, numel, eps, min_v, max_v).quantize(weight, scale, codes) }
}

/// qat_symmetric_per_channel_dequantize with one scale (scale[0], read even
/// when numel is 0).
///
/// Safety: each non-null pointer must be valid for its count of elements.
#[no_mangle]
pub unsafe extern "C" fn qat_symmetric_per_tensor_dequantize(
    codes: *const i8,
    scale: *const qat_bf16,
    out: *mut qat_bf16,
    numel: usize,
    eps: f32,
    min_v: f32,
    max_v: f32,
) -> i32 {
    // SAFETY: the caller's pointers are valid for their counts (this
    // function's contract); the call checks everything else.
    unsafe { per_channel(1, numel, eps, min_v, max_v).dequantize(codes, scale, out) }
}

/// Blocks in the reduction of len terms: len / 4096 rounded up. The block
/// values of a group, row or tensor of len elements number
/// 2 * qat_block_count(len).
#[no_mangle]
pub extern "C" fn qat_block_count(len: usize) -> usize {
    crate::block_count(len)
}

/// qat_asymmetric_per_group_backward for one shard of a sharded weight:
/// writes grad_weight, and instead of the scale and offset gradients each
/// group's two sums as f64 block values (2 * qat_block_count(group_size)
/// per group: the offset sum's, then the scale sum's), for
/// qat_asymmetric_per_group_finish once the shards' values are combined.
///
/// Safety: each non-null pointer must be valid for its count of elements.
#[no_mangle]
pub unsafe extern "C" fn qat_asymmetric_per_group_backward_blocks(
    grad_output: *const qat_bf16,
    weight: *const qat_bf16,
    scale: *const qat_bf16,
    offset: *const qat_bf16,
    grad_weight: *mut qat_bf16,
    block_sums: *mut f64,
    numel: usize,
    group_size: usize,
    bit: u32,
    eps: f32,
    clip_val: f32,
) -> i32 {
    // SAFETY: the caller's pointers are valid for their counts (this
    // function's contract); the call checks everything else.
    unsafe {
        per_group(numel, group_size, bit, eps, clip_val).backward_blocks(
            grad_output,
            weight,
            (scale, offset),
            grad_weight,
            block_sums,
        )
    }
}

/// qat_symmetric_per_channel_backward for one shard: each row's two sums
/// as block values (2 * qat_block_count(cols) per row) instead of the scale
/// gradients, for qat_symmetric_per_channel_finish.
///
/// Safety: each non-null pointer must be valid for its count of elements.
#[no_mangle]
pub unsafe extern "C" fn qat_symmetric_per_channel_backward_blocks(
    grad_output: *const qat_bf16,
    weight: *const qat_bf16,
    scale: *const qat_bf16,
    grad_weight: *mut qat_bf16,
    block_sums: *mut f64,
    rows: usize,
    cols: usize,
    eps: f32,
    min_v: f32,
    max_v: f32,
) -> i32 {
    // SAFETY: the caller's pointers are valid for their counts (this
    // function's contract); the call checks everything else.
    unsafe {
        per_channel(rows, cols, eps, min_v, max_v).backward_blocks(
            grad_output,
            weight,
            scale,
            grad_weight,
            block_sums,
        )
    }
}

/// qat_symmetric_per_tensor_backward for one shard: the two sums as block
/// values (2 * qat_block_count(numel)) instead of the scale gradient, for
/// qat_symmetric_per_tensor_finish.
///
/// Safety: each non-null pointer must be valid for its count of elements.
#[no_mangle]
pub unsafe extern "C" fn qat_symmetric_per_tensor_backward_blocks(
    grad_output: *const qat_bf16,
    weight: *const qat_bf16,
    scale: *const qat_bf16,
    grad_weight: *mut qat_bf16,
    block_sums: *mut f64,
    numel: usize,
    eps: f32,
    min_v: f32,
    max_v: f32,
) -> i32 {
    // SAFETY: the caller's pointers are valid for their counts (this
    // function's contract); the call checks everything else.
    unsafe {
        per_channel(1, numel, eps, min_v, max_v).backward_blocks(
            grad_output,
            weight,
            scale,
            grad_weight,
            block_sums,
        )
    }
}

/// The scale and offset gradients that one qat_asymmetric_per_group_backward
/// call over numel weights gives, from the groups' block values (those of
/// qat_asymmetric_per_group_backward_blocks, combined across shards).
/// grad_scale may be scale (in place).
///
/// Safety: each non-null pointer must be valid for its count of elements.
#[no_mangle]
pub unsafe extern "C" fn qat_asymmetric_per_group_finish(
    block_sums: *const f64,
    scale: *const qat_bf16,
    grad_scale: *mut qat_bf16,
    grad_offset: *mut qat_bf16,
    numel: usize,
    group_size: usize,
    bit: u32,
    eps: f32,
    clip_val: f32,
) -> i32 {
    // SAFETY: the caller's pointers are valid for their counts (this
    // function's contract); the call checks everything else.
    unsafe {
        per_group(numel, group_size, bit, eps, clip_val).finish(
            block_sums,
            scale,
            (grad_scale, grad_offset),
        )
    }
}

/// The scale gradients that one qat_symmetric_per_channel_backward call
/// gives, from the rows' block values. grad_scale may be scale (in place).
///
/// Safety: each non-null pointer must be valid for its count of elements.
#[no_mangle]
pub unsafe extern "C" fn qat_symmetric_per_channel_finish(
    block_sums: *const f64,
    scale: *const qat_bf16,
    grad_scale: *mut qat_bf16,
    rows: usize,
    cols: usize,
    eps: f32,
    min_v: f32,
    max_v: f32,
) -> i32 {
    // SAFETY: the caller's pointers are valid for their counts (this
    // function's contract); the call checks everything else.
    unsafe { per_channel(rows, cols, eps, min_v, max_v).finish(block_sums, scale, grad_scale) }
}

/// The scale gradient that one qat_symmetric_per_tensor_backward call over
/// numel weights gives, from the tensor's block values.
///
/// Safety: each non-null pointer must be valid for its count of elements.
#[no_mangle]
pub unsafe extern "C" fn qat_symmetric_per_tensor_finish(
    block_sums: *const f64,
    scale: *const qat_bf16,
    grad_scale: *mut qat_bf16,
    numel: usize,
    eps: f32,
    min_v: f32,
    max_v: f32,
) -> i32 {
    // SAFETY: the caller's pointers are valid for their counts (this
    // function's contract); the call checks everything else.
    unsafe { per_channel(1, numel, eps, min_v, max_v).finish(block_sums, scale, grad_scale) }
}

/// Calibration per group: writes each group's scale and offset, those whose
/// forward pass is closest to the group's weights (mode QAT_CALIBRATE_SEARCH:
/// 64 fractions of the min/max scale, the offset at the middle of the
/// range, ties to the smaller scale) or LSQ's rule (QAT_CALIBRATE_LSQ).
/// QAT_ERR_NON_FINITE, writing nothing, for a NaN or infinite weight;
/// QAT_ERR_MODE for an unknown mode.
///
/// Safety: each non-null pointer must be valid for its count of elements.
#[no_mangle]
pub unsafe extern "C" fn qat_asymmetric_per_group_calibrate(
    weight: *const qat_bf16,
    scale: *mut qat_bf16,
    offset: *mut qat_bf16,
    numel: usize,
    group_size: usize,
    bit: u32,
    eps: f32,
    clip_val: f32,
    mode: i32,
) -> i32 {
    // SAFETY: the caller's pointers are valid for their counts (this
    // function's contract); the call checks everything else.
    unsafe {
        per_group(numel, group_size, bit, eps, clip_val).calibrate(
            weight,
            (scale, offset),
            Calibration::from_code(mode),
        )
    }
}

/// Calibration per channel: writes each row's scale, as
/// qat_asymmetric_per_group_calibrate (candidates: fractions of
/// max|w| / max_v).
///
/// Safety: each non-null pointer must be valid for its count of elements.
#[no_mangle]
pub unsafe extern "C" fn qat_symmetric_per_channel_calibrate(
    weight: *const qat_bf16,
    scale: *mut qat_bf16,
    rows: usize,
    cols: usize,
    eps: f32,
    min_v: f32,
    max_v: f32,
    mode: i32,
) -> i32 {
    // SAFETY: the caller's pointers are valid for their counts (this
    // function's contract); the call checks everything else.
    unsafe {
        per_channel(rows, cols, eps, min_v, max_v).calibrate(
            weight,
            scale,
            Calibration::from_code(mode),
        )
    }
}

/// Calibration per tensor: writes scale[0].
///
/// Safety: each non-null pointer must be valid for its count of elements.
#[no_mangle]
pub unsafe extern "C" fn qat_symmetric_per_tensor_calibrate(
    weight: *const qat_bf16,
    scale: *mut qat_bf16,
    numel: usize,
    eps: f32,
    min_v: f32,
    max_v: f32,
    mode: i32,
) -> i32 {
    // SAFETY: the caller's pointers are valid for their counts (this
    // function's contract); the call checks everything else.
    unsafe {
        per_channel(1, numel, eps, min_v, max_v).calibrate(
            weight,
            scale,
            Calibration::from_code(mode),
        )
    }
}

/// Dynamic per-token fake quantization of a row-major rows x cols
/// activation (one row per token), asymmetric: on the grid qmin..qmax =
/// -2^(bit-1)..2^(bit-1)-1 (bit 2..8), each row's
/// scale = max((max(max(x), 0) - min(min(x), 0)) / (qmax - qmin), eps) and
/// zero point zp = clip(qmin - round(min(min(x), 0) / scale), qmin, qmax),
/// written to scale and zero_point (one per row); then
/// out = (clip(round(x / scale) + zp, qmin, qmax) - zp) * scale, in f32, one
/// operation at a time, narrowed to bf16. A row with a NaN gets a NaN scale,
/// zero point 0 and NaN values. out may be input.
///
/// Safety: each non-null pointer must be valid for its count of elements.
#[no_mangle]
pub unsafe extern "C" fn qat_per_token_asymmetric(
    input: *const qat_bf16,
    out: *mut qat_bf16,
    scale: *mut f32,
    zero_point: *mut i32,
    rows: usize,
    cols: usize,
    bit: u32,
    eps: f32,
) -> i32 {
    // SAFETY: the caller's pointers are valid for their counts (this
    // function's contract); the call checks everything else.
    unsafe { per_token(rows, cols, bit, eps).tokens(false, input, out, scale, zero_point) }
}

/// qat_per_token_asymmetric, symmetric: each row's
/// scale = max(max(-min(min(x), 0), max(max(x), 0)) / ((qmax - qmin) / 2), eps)
/// and zero point 0 (written).
///
/// Safety: each non-null pointer must be valid for its count of elements.
#[no_mangle]
pub unsafe extern "C" fn qat_per_token_symmetric(
    input: *const qat_bf16,
    out: *mut qat_bf16,
    scale: *mut f32,
    zero_point: *mut i32,
    rows: usize,
    cols: usize,
    bit: u32,
    eps: f32,
) -> i32 {
    // SAFETY: the caller's pointers are valid for their counts (this
    // function's contract); the call checks everything else.
    unsafe { per_token(rows, cols, bit, eps).tokens(true, input, out, scale, zero_point) }
}

/// Backward of qat_per_token_asymmetric and qat_per_token_symmetric, from
/// the scales and zero points they wrote: the straight-through estimator,
/// grad_input = grad_output where qmin <= round(x / scale) + zp <= qmax,
/// else 0 (NaN where x is NaN). grad_input may be grad_output or input.
///
/// Safety: each non-null pointer must be valid for its count of elements.
#[no_mangle]
pub unsafe extern "C" fn qat_per_token_backward(
    grad_output: *const qat_bf16,
    input: *const qat_bf16,
    scale: *const f32,
    zero_point: *const i32,
    grad_input: *mut qat_bf16,
    rows: usize,
    cols: usize,
    bit: u32,
) -> i32 {
    // SAFETY: the caller's pointers are valid for their counts (this
    // function's contract); the call checks everything else.
    unsafe {
        per_token(rows, cols, bit, 1.0).tokens_backward(
            grad_output,
            input,
            scale,
            zero_point,
            grad_input,
        )
    }
}

/// Bytes that count codes of bits bits take packed: (count * bits + 7) / 8
/// without overflow; 0 unless bits is 1, 2, 4 or 8.
#[no_mangle]
pub extern "C" fn qat_packed_size(count: usize, bits: u32) -> usize {
    crate::packed_len(count, bits).unwrap_or(0)
}

/// Packs count codes of bits bits (1, 2, 4 or 8, else QAT_ERR_BIT_WIDTH)
/// densely into qat_packed_size(count, bits) bytes: the first code in the
/// lowest bits of the first byte, the last byte's unused bits zero. A code
/// of 2^bits or more gives QAT_ERR_CODE, writing nothing.
///
/// Safety: each non-null pointer must be valid for its count of elements.
#[no_mangle]
pub unsafe extern "C" fn qat_pack_codes(
    codes: *const u8,
    count: usize,
    bits: u32,
    packed: *mut u8,
) -> i32 {
    // SAFETY: the caller's pointers are valid for their counts (this
    // function's contract); the call checks everything else.
    unsafe { call::pack::<Raw, u8>(codes, count, bits, packed) }
}

/// Unpacks count codes of bits bits from qat_packed_size(count, bits) bytes,
/// as qat_pack_codes wrote them.
///
/// Safety: each non-null pointer must be valid for its count of elements.
#[no_mangle]
pub unsafe extern "C" fn qat_unpack_codes(
    packed: *const u8,
    count: usize,
    bits: u32,
    codes: *mut u8,
) -> i32 {
    // SAFETY: the caller's pointers are valid for their counts (this
    // function's contract); the call checks everything else.
    unsafe { call::unpack::<Raw, u8>(packed, bits, codes, count) }
}

/// qat_pack_codes for signed codes (the symmetric quantizers'), each stored
/// as its two's complement in bits bits: codes must lie in
/// -2^(bits-1)..2^(bits-1)-1, else QAT_ERR_CODE.
///
/// Safety: each non-null pointer must be valid for its count of elements.
#[no_mangle]
pub unsafe extern "C" fn qat_pack_signed_codes(
    codes: *const i8,
    count: usize,
    bits: u32,
    packed: *mut u8,
) -> i32 {
    // SAFETY: the caller's pointers are valid for their counts (this
    // function's contract); the call checks everything else.
    unsafe { call::pack::<Raw, i8>(codes, count, bits, packed) }
}

/// Unpacks signed codes packed by qat_pack_signed_codes, sign-extended.
///
/// Safety: each non-null pointer must be valid for its count of elements.
#[no_mangle]
pub unsafe extern "C" fn qat_unpack_signed_codes(
    packed: *const u8,
    count: usize,
    bits: u32,
    codes: *mut i8,
) -> i32 {
    // SAFETY: the caller's pointers are valid for their counts (this
    // function's contract); the call checks everything else.
    unsafe { call::unpack::<Raw, i8>(packed, bits, codes, count) }
}

/// Selects the instruction set every later call takes, process-wide and
/// thread-safe (QAT_ISA_AUTO: the best available). Returns
/// QAT_ERR_UNSUPPORTED_ISA, changing nothing, if this CPU or build lacks it or
/// the code is unknown.
#[no_mangle]
pub extern "C" fn qat_set_isa(isa: i32) -> i32 {
    status(
        Isa::from_code(isa)
            .ok_or(Error::UnsupportedIsa)
            .and_then(set_isa),
    )
}

/// The instruction set calls take now (never QAT_ISA_AUTO).
#[no_mangle]
pub extern "C" fn qat_active_isa() -> i32 {
    crate::active_isa() as i32
}

/// A static, NUL-terminated description of a status code (never NULL; unknown
/// codes get "unknown status code").
#[no_mangle]
pub extern "C" fn qat_status_message(status: i32) -> *const c_char {
    let message = match Error::from_code(status) {
        Some(error) => error.c_message(),
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
