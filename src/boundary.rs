//! Where a call comes from, the checks its buffers need, and how a refusal
//! reaches the caller (the status, and the refusal handler's detail): from
//! slices ([`Slices`], the safe API), only their lengths against the call's
//! shape; from C ([`Raw`]), every buffer's extent, pointer and overlap. The
//! one home of the boundary's checks; `call` runs them in their place in
//! the documented order.

use core::sync::atomic::{AtomicPtr, Ordering};

use crate::error::QAT_OK;
use crate::{Argument, Error, Rule};

/// The length a buffer comes with: none from C (`()`, taking no room in
/// the call's frame), where the shape gives every length; a slice's length
/// from the safe API, which the call checks against the shape.
pub(crate) trait Len: Copy + Default {
    /// The length, if one was given.
    fn given(self) -> Option<usize>;
}

impl Len for () {
    #[inline(always)]
    fn given(self) -> Option<usize> {
        None
    }
}

impl Len for usize {
    #[inline(always)]
    fn given(self) -> Option<usize> {
        Some(self)
    }
}

/// A buffer a call reads: its address, with the length it came with.
#[derive(Clone, Copy)]
pub(crate) struct In<T, L> {
    pub ptr: *const T,
    pub len: L,
}

/// A buffer a call writes, as [`In`].
#[derive(Clone, Copy)]
pub(crate) struct Out<T, L> {
    pub ptr: *mut T,
    pub len: L,
}

impl<T, L: Len> In<T, L> {
    /// No buffer: the offsets of a quantizer without them.
    pub fn none() -> Self {
        In {
            ptr: core::ptr::null(),
            len: L::default(),
        }
    }
}

impl<T, L: Len> Out<T, L> {
    /// No buffer, as [`In::none`].
    pub fn none() -> Self {
        Out {
            ptr: core::ptr::null_mut(),
            len: L::default(),
        }
    }

    /// The same buffer read, for the in-place forms.
    pub fn reading(self) -> In<T, L> {
        In {
            ptr: self.ptr,
            len: self.len,
        }
    }
}

impl<T> From<*const T> for In<T, ()> {
    fn from(ptr: *const T) -> Self {
        In { ptr, len: () }
    }
}

impl<T> From<*mut T> for Out<T, ()> {
    fn from(ptr: *mut T) -> Self {
        Out { ptr, len: () }
    }
}

/// Slices of the element types the calls take as they are (bf16 slices
/// are the calls' `u16` bits: `quantizers`). One impl per type, not one for
/// every `T`, so that a bf16 slice has one conversion and a call's data
/// type is inferred from its slices.
macro_rules! slices {
    ($($t:ty),*) => {$(
        impl From<&[$t]> for In<$t, usize> {
            fn from(s: &[$t]) -> Self {
                In {
                    ptr: s.as_ptr(),
                    len: s.len(),
                }
            }
        }

        impl From<&mut [$t]> for Out<$t, usize> {
            fn from(s: &mut [$t]) -> Self {
                Out {
                    ptr: s.as_mut_ptr(),
                    len: s.len(),
                }
            }
        }
    )*};
}
slices!(f32, f64, u8, i8, i32);

/// A buffer as the checks see it: address, element count and size,
/// direction, and the slice's length where one was given.
#[derive(Clone, Copy)]
pub(crate) struct Buffer {
    pub start: usize,
    pub len: usize,
    /// Bytes per element: 2 for bf16, 1 for codes, 8 for block values
    /// (also the alignment).
    pub size: usize,
    pub output: bool,
    pub given: Option<usize>,
    /// Its parameter, which a refusal names.
    pub name: Argument,
}

impl Buffer {
    /// The buffer's size in bytes, if it fits in the largest object Rust
    /// and C allow (`isize::MAX`, `PTRDIFF_MAX`, bytes). The one place a
    /// buffer's extent is computed: every count, however it was formed,
    /// passes through this checked product before any pointer is looked at.
    pub fn bytes(self) -> Option<usize> {
        self.len
            .checked_mul(self.size)
            .filter(|&bytes| bytes <= isize::MAX as usize)
    }
}

/// The buffer `name` a call reads, of `len` elements.
pub(crate) fn input<T, L: Len>(name: Argument, b: In<T, L>, len: usize) -> Buffer {
    Buffer {
        start: b.ptr as usize,
        len,
        size: size_of::<T>(),
        output: false,
        given: b.len.given(),
        name,
    }
}

/// The buffer `name` a call writes, of `len` elements.
pub(crate) fn output<T, L: Len>(name: Argument, b: Out<T, L>, len: usize) -> Buffer {
    Buffer {
        output: true,
        ..input(name, b.reading(), len)
    }
}

/// [`Rule::Length`] for the first slice without the length the shape
/// gives it.
fn check_lengths(buffers: &[Buffer]) -> Result<(), Error> {
    match buffers.iter().find(|b| b.given.is_some_and(|n| n != b.len)) {
        None => Ok(()),
        Some(b) => Err(Error::new(b.name, Rule::Length)),
    }
}

/// Where a call comes from, and so which checks its buffers need and how
/// it reports its result.
pub(crate) trait Boundary {
    /// The length its buffers come with.
    type Len: Len;
    /// A call's result as this boundary reports it.
    type Status;
    /// Reports `result`.
    fn status(result: Result<(), Error>) -> Self::Status;
    /// Runs `validate` (the parameters) between the boundary's checks of
    /// `buffers`: pointers before, overlaps after.
    fn check<Q, const N: usize>(
        buffers: impl FnOnce() -> [Buffer; N],
        validate: impl FnOnce() -> Result<Q, Error>,
    ) -> Result<Q, Error>;
}

/// Buffers from slices: non-null, aligned, in bounds, and overlapping only
/// where an in-place form passes one slice as input and output; only their
/// lengths need checking.
pub(crate) enum Slices {}

impl Boundary for Slices {
    type Len = usize;
    type Status = Result<(), Error>;
    #[inline(always)]
    fn status(result: Result<(), Error>) -> Self::Status {
        result
    }
    #[inline(always)]
    fn check<Q, const N: usize>(
        buffers: impl FnOnce() -> [Buffer; N],
        validate: impl FnOnce() -> Result<Q, Error>,
    ) -> Result<Q, Error> {
        check_lengths(&buffers())?;
        validate()
    }
}

/// A call's result as C sees it: `QAT_OK`, or the error's code after the
/// refusal handler (if one is set) has been given the error. Out of line:
/// one copy of the rule-to-status table for every entry point.
#[inline(never)]
pub(crate) fn status(result: Result<(), Error>) -> i32 {
    match result {
        Ok(()) => QAT_OK,
        Err(error) => {
            refuse(error);
            error.code()
        }
    }
}

/// Buffers from C: any pointer, length and overlap may come in.
pub(crate) enum Raw {}

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

/// [`Rule::TooLarge`] for a buffer larger than any object can be
/// (`PTRDIFF_MAX` bytes), its count however large or wrapped: the shape's
/// last check, before any pointer is looked at. (Each of these loops is one
/// function for every entry point, not inlined into each: a firmware's code
/// is small.)
#[inline(never)]
fn check_extents(buffers: &[Buffer]) -> Result<(), Error> {
    match buffers.iter().find(|b| b.bytes().is_none()) {
        None => Ok(()),
        Some(b) => Err(Error::new(b.name, Rule::TooLarge)),
    }
}

/// `Pointer` for a buffer that is null with a nonzero count, misaligned, or
/// wrapping around the address space, checked in that order.
#[inline(never)]
fn check_pointers(buffers: &[Buffer]) -> Result<(), Error> {
    for &b in buffers {
        let rule = if b.start == 0 && b.len != 0 {
            Rule::Null
        } else if !aligned(b) {
            Rule::Misaligned
        } else if b.end().is_none() {
            Rule::Wraps
        } else {
            continue;
        };
        return Err(Error::new(b.name, rule));
    }
    Ok(())
}

/// Whether the buffer starts on a multiple of its element size (a power of
/// two: a mask, not a division, which a Cortex-M0 does in software).
fn aligned(b: Buffer) -> bool {
    b.size.is_power_of_two() && b.start & (b.size - 1) == 0
}

/// `Overlap` for an output that overlaps another buffer other than as
/// exactly the same buffer as an input (in place), naming the output (the
/// first, if both are). The ends exist: checked by [`check_pointers`].
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
                let output = if a.output { a } else { b };
                return Err(Error::new(output.name, Rule::Overlaps));
            }
        }
    }
    Ok(())
}

/// Why a call was refused, as a refusal handler receives it: the status the
/// call returns, and which argument broke which rule, which
/// qat_refusal_message puts in words ("bit is outside 2..=8"). The
/// argument and rule codes are for qat_refusal_message; their values may
/// change between releases.
#[repr(C)]
#[derive(Clone, Copy)]
#[allow(non_camel_case_types)]
pub struct qat_refusal {
    /// The QAT_ERR_* code the call returns.
    pub status: i32,
    /// The argument, as a code.
    pub argument: i32,
    /// The rule it broke, as a code.
    pub rule: i32,
}

/// A function a refused call calls, on the calling thread, before it
/// returns its status. It must return (not unwind or longjmp).
#[allow(non_camel_case_types)]
pub type qat_refusal_handler = Option<unsafe extern "C" fn(refusal: *const qat_refusal)>;

/// The handler, as a pointer (null: none): an atomic store and load, which
/// every target has, the Cortex-M0+ too.
pub(crate) static HANDLER: AtomicPtr<()> = AtomicPtr::new(core::ptr::null_mut());

/// Gives a refused call's error to the handler (`qat_set_refusal_handler`,
/// in `ffi`), if one is set. Out of line: one copy for every entry point.
#[inline(never)]
pub(crate) fn refuse(error: Error) {
    let handler = HANDLER.load(Ordering::Acquire);
    if handler.is_null() {
        return;
    }
    // SAFETY: only `qat_set_refusal_handler` stores here, and only a
    // function pointer of this type; fn pointers and data pointers have the
    // same size on every target Rust supports.
    let handler: unsafe extern "C" fn(*const qat_refusal) =
        unsafe { core::mem::transmute(handler) };
    let (argument, rule) = error.codes();
    let refusal = qat_refusal {
        status: error.code(),
        argument,
        rule,
    };
    // SAFETY: the handler's contract (qat_set_refusal_handler): it takes a
    // valid refusal, which lives until it returns, and returns.
    unsafe { handler(&refusal) };
}
