//! The safe API and the validation every call goes through.

use core::fmt;

use half::bf16;

use crate::arch::KernelTable;
use crate::dispatch::{active_isa, Isa};
use crate::kernels::{
    AsymmetricPerGroupArgs, AsymmetricPerGroupBackwardArgs, SymmetricArgs, SymmetricBackwardArgs,
};
use crate::params::{check_numel, matrix_numel, AsymmetricPerGroup, Symmetric};
use crate::Error;

/// One backend (the portable path or a SIMD path), with the six kernels as
/// methods. [`Backend::new`] returns one only if this CPU supports its ISA, so
/// holding a `Backend` proves its kernels can run.
///
/// The free functions of this crate use [`Backend::active`]; a `Backend` of
/// your own pins a path, for tests and benchmarks.
///
/// ```
/// use half::bf16;
/// use qat_kernels::{Backend, Isa, Symmetric};
///
/// let scalar = Backend::new(Isa::Scalar).unwrap();
/// let best = Backend::new(Isa::Auto).unwrap();
/// let weight: Vec<bf16> = (0..100).map(|i| bf16::from_f32(i as f32 * 0.01 - 0.5)).collect();
/// let (mut a, mut b) = (vec![bf16::ZERO; 100], vec![bf16::ZERO; 100]);
/// let params = Symmetric::signed(4);
/// scalar.symmetric_per_tensor(&weight, bf16::from_f32(0.05), &mut a, &params).unwrap();
/// best.symmetric_per_tensor(&weight, bf16::from_f32(0.05), &mut b, &params).unwrap();
/// assert_eq!(a, b); // every path gives the same bits
/// ```
#[derive(Clone, Copy)]
pub struct Backend {
    isa: Isa,
    kernels: &'static KernelTable,
}

impl fmt::Debug for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Backend").field("isa", &self.isa).finish()
    }
}

/// A buffer as the checks see it: address, element count, direction.
#[derive(Clone, Copy)]
struct Buffer {
    start: usize,
    len: usize,
    output: bool,
}

fn input(p: *const u16, len: usize) -> Buffer {
    Buffer {
        start: p as usize,
        len,
        output: false,
    }
}

fn output(p: *mut u16, len: usize) -> Buffer {
    Buffer {
        start: p as usize,
        len,
        output: true,
    }
}

impl Buffer {
    /// One past the last byte (lengths are already at most `isize::MAX / 2`).
    fn end(self) -> Option<usize> {
        self.start.checked_add(self.len * 2)
    }
}

/// Pointers, then the parameters (`validate`), then overlaps: the order in
/// which errors are reported, after the shape.
///
/// Never inlined, and the list of buffers made here: it then lives in this
/// frame, gone before the kernel's begins (a microcontroller's stack is small).
#[inline(never)]
fn check<Q, const N: usize>(
    buffers: impl FnOnce() -> [Buffer; N],
    validate: impl FnOnce() -> Result<Q, Error>,
) -> Result<Q, Error> {
    let buffers = buffers();
    for &b in &buffers {
        if (b.start == 0 && b.len != 0) || b.start % 2 != 0 || b.end().is_none() {
            return Err(Error::Pointer);
        }
    }
    let quant = validate()?;
    for (i, a) in buffers.iter().enumerate() {
        for b in buffers.iter().skip(i + 1) {
            if !(a.output || b.output) || a.len == 0 || b.len == 0 {
                continue;
            }
            // Ends exist: checked in the first loop.
            let disjoint = a.end() <= Some(b.start) || b.end() <= Some(a.start);
            let in_place = a.start == b.start && a.len == b.len && a.output != b.output;
            if !disjoint && !in_place {
                return Err(Error::Overlap);
            }
        }
    }
    Ok(quant)
}

/// `Shape` unless every `(actual, expected)` length pair matches.
fn lengths(pairs: &[(usize, usize)]) -> Result<(), Error> {
    if pairs.iter().all(|(actual, expected)| actual == expected) {
        Ok(())
    } else {
        Err(Error::Shape)
    }
}

/// Rows and columns of a per-channel call: one row per scale.
fn channels(numel: usize, rows: usize) -> Result<usize, Error> {
    match (numel.checked_rem(rows), numel.checked_div(rows)) {
        (Some(0), Some(cols)) => Ok(cols),
        (None, _) if numel == 0 => Ok(0),
        _ => Err(Error::Shape),
    }
}

fn bits(s: &[bf16]) -> *const u16 {
    s.as_ptr().cast()
}

fn bits_mut(s: &mut [bf16]) -> *mut u16 {
    s.as_mut_ptr().cast()
}

impl Backend {
    /// The backend of `isa` (`Auto`: the best one), if this CPU supports it.
    pub fn new(isa: Isa) -> Option<Backend> {
        let isa = if isa == Isa::Auto { Isa::best() } else { isa };
        Some(Backend {
            isa,
            kernels: isa.kernels()?,
        })
    }

    /// The backend of [`active_isa`].
    pub fn active() -> Backend {
        let isa = active_isa();
        match isa.kernels() {
            Some(kernels) => Backend { isa, kernels },
            None => Backend {
                isa: Isa::Scalar,
                kernels: &crate::arch::portable::KERNELS,
            },
        }
    }

    /// Every backend this CPU supports: the portable one first.
    pub fn available() -> impl Iterator<Item = Backend> {
        [Isa::Scalar, Isa::Avx2, Isa::Avx512, Isa::Neon]
            .into_iter()
            .filter_map(Backend::new)
    }

    /// Every build of every path this CPU supports, named, for tests and
    /// benchmarks: [`Backend::available`] and, on a CPU with AVX-512 BF16,
    /// also the AVX-512 build without it (`"avx512_no_bf16"`), which AUTO
    /// skips there but other CPUs run.
    #[doc(hidden)]
    pub fn builds() -> impl Iterator<Item = (&'static str, Backend)> {
        let name = |b: Backend| match b.isa {
            Isa::Avx2 => "avx2",
            Isa::Avx512 => "avx512",
            Isa::Neon => "neon",
            _ => "scalar",
        };
        #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
        let without_bf16 = match Backend::new(Isa::Avx512) {
            Some(_) if crate::arch::x86::avx512_bf16() => Some((
                "avx512_no_bf16",
                Backend {
                    isa: Isa::Avx512,
                    kernels: &crate::arch::x86::avx512::KERNELS,
                },
            )),
            _ => None,
        };
        #[cfg(not(any(target_arch = "x86", target_arch = "x86_64")))]
        let without_bf16 = None;
        Backend::available()
            .map(move |b| (name(b), b))
            .chain(without_bf16)
    }

    /// Its instruction set (never `Auto`).
    pub fn isa(self) -> Isa {
        self.isa
    }

    /// Validates and runs the asymmetric per-group forward kernel.
    ///
    /// # Safety
    /// Each pointer that passes the checks (non-null when its count is
    /// nonzero) must be valid for its count of elements: `numel` for `weight`
    /// and `out`, `numel / group_size` for `scale` and `offset`.
    pub(crate) unsafe fn asymmetric_per_group_raw(
        self,
        weight: *const u16,
        scale: *const u16,
        offset: *const u16,
        out: *mut u16,
        numel: usize,
        params: &AsymmetricPerGroup,
    ) -> Result<(), Error> {
        let groups = params.groups(numel)?;
        let quant = check(
            || {
                [
                    input(weight, numel),
                    input(scale, groups),
                    input(offset, groups),
                    output(out, numel),
                ]
            },
            || params.validate(),
        )?;
        let args = AsymmetricPerGroupArgs {
            weight,
            scale,
            offset,
            out,
            groups,
            group_size: params.group_size,
            quant,
        };
        // SAFETY: pointers valid (caller) and overlapping only as exact
        // aliases (checked); this table's ISA is supported (Backend invariant).
        unsafe { (self.kernels.asymmetric_per_group)(&args) };
        Ok(())
    }

    /// Validates and runs the asymmetric per-group backward kernel.
    ///
    /// # Safety
    /// As [`Self::asymmetric_per_group_raw`]; the gradients have the lengths of
    /// what they differentiate.
    #[allow(clippy::too_many_arguments)]
    pub(crate) unsafe fn asymmetric_per_group_backward_raw(
        self,
        grad_output: *const u16,
        weight: *const u16,
        scale: *const u16,
        offset: *const u16,
        grad_weight: *mut u16,
        grad_scale: *mut u16,
        grad_offset: *mut u16,
        numel: usize,
        params: &AsymmetricPerGroup,
    ) -> Result<(), Error> {
        let groups = params.groups(numel)?;
        let quant = check(
            || {
                [
                    input(grad_output, numel),
                    input(weight, numel),
                    input(scale, groups),
                    input(offset, groups),
                    output(grad_weight, numel),
                    output(grad_scale, groups),
                    output(grad_offset, groups),
                ]
            },
            || params.validate(),
        )?;
        let args = AsymmetricPerGroupBackwardArgs {
            grad_output,
            weight,
            scale,
            offset,
            grad_weight,
            grad_scale,
            grad_offset,
            groups,
            group_size: params.group_size,
            quant,
        };
        // SAFETY: as in `asymmetric_per_group_raw`.
        unsafe { (self.kernels.asymmetric_per_group_backward)(&args) };
        Ok(())
    }

    /// Validates and runs the symmetric forward kernel, one scale per row
    /// (per tensor: one row).
    ///
    /// # Safety
    /// As [`Self::asymmetric_per_group_raw`]: `rows * cols` weights and
    /// outputs, `rows` scales.
    pub(crate) unsafe fn symmetric_raw(
        self,
        weight: *const u16,
        scale: *const u16,
        out: *mut u16,
        rows: usize,
        cols: usize,
        params: &Symmetric,
    ) -> Result<(), Error> {
        let numel = matrix_numel(rows, cols)?;
        let quant = check(
            || [input(weight, numel), input(scale, rows), output(out, numel)],
            || params.validate(),
        )?;
        let args = SymmetricArgs {
            weight,
            scale,
            out,
            rows,
            cols,
            quant,
        };
        // SAFETY: as in `asymmetric_per_group_raw`.
        unsafe { (self.kernels.symmetric)(&args) };
        Ok(())
    }

    /// Validates and runs the symmetric backward kernel.
    ///
    /// # Safety
    /// As [`Self::symmetric_raw`], with gradients of the same lengths.
    #[allow(clippy::too_many_arguments)]
    pub(crate) unsafe fn symmetric_backward_raw(
        self,
        grad_output: *const u16,
        weight: *const u16,
        scale: *const u16,
        grad_weight: *mut u16,
        grad_scale: *mut u16,
        rows: usize,
        cols: usize,
        params: &Symmetric,
    ) -> Result<(), Error> {
        let numel = matrix_numel(rows, cols)?;
        let quant = check(
            || {
                [
                    input(grad_output, numel),
                    input(weight, numel),
                    input(scale, rows),
                    output(grad_weight, numel),
                    output(grad_scale, rows),
                ]
            },
            || params.validate(),
        )?;
        let args = SymmetricBackwardArgs {
            grad_output,
            weight,
            scale,
            grad_weight,
            grad_scale,
            rows,
            cols,
            quant,
        };
        // SAFETY: as in `asymmetric_per_group_raw`.
        unsafe { (self.kernels.symmetric_backward)(&args) };
        Ok(())
    }

    /// Asymmetric per-group fake quantization: `out[i]` is `weight[i]` snapped
    /// to its group's grid of `2^bit` levels. `scale` and `offset` hold one
    /// value per group (`weight.len() / group_size`).
    pub fn asymmetric_per_group(
        self,
        weight: &[bf16],
        scale: &[bf16],
        offset: &[bf16],
        out: &mut [bf16],
        params: &AsymmetricPerGroup,
    ) -> Result<(), Error> {
        let groups = params.groups(weight.len())?;
        lengths(&[
            (scale.len(), groups),
            (offset.len(), groups),
            (out.len(), weight.len()),
        ])?;
        // SAFETY: the slices are valid for the lengths the call derives.
        unsafe {
            self.asymmetric_per_group_raw(
                bits(weight),
                bits(scale),
                bits(offset),
                bits_mut(out),
                weight.len(),
                params,
            )
        }
    }

    /// [`Self::asymmetric_per_group`] writing over `weight`.
    pub fn asymmetric_per_group_in_place(
        self,
        weight: &mut [bf16],
        scale: &[bf16],
        offset: &[bf16],
        params: &AsymmetricPerGroup,
    ) -> Result<(), Error> {
        let groups = params.groups(weight.len())?;
        lengths(&[(scale.len(), groups), (offset.len(), groups)])?;
        let w = bits_mut(weight);
        // SAFETY: as above; `w` is one buffer used as input and output.
        unsafe {
            self.asymmetric_per_group_raw(w, bits(scale), bits(offset), w, weight.len(), params)
        }
    }

    /// Gradients of [`Self::asymmetric_per_group`] given the gradient of its
    /// output: `grad_weight` (length of `weight`), `grad_scale` and
    /// `grad_offset` (one per group).
    #[allow(clippy::too_many_arguments)]
    pub fn asymmetric_per_group_backward(
        self,
        grad_output: &[bf16],
        weight: &[bf16],
        scale: &[bf16],
        offset: &[bf16],
        grad_weight: &mut [bf16],
        grad_scale: &mut [bf16],
        grad_offset: &mut [bf16],
        params: &AsymmetricPerGroup,
    ) -> Result<(), Error> {
        let numel = weight.len();
        let groups = params.groups(numel)?;
        lengths(&[
            (grad_output.len(), numel),
            (grad_weight.len(), numel),
            (scale.len(), groups),
            (offset.len(), groups),
            (grad_scale.len(), groups),
            (grad_offset.len(), groups),
        ])?;
        // SAFETY: the slices are valid for the lengths the call derives.
        unsafe {
            self.asymmetric_per_group_backward_raw(
                bits(grad_output),
                bits(weight),
                bits(scale),
                bits(offset),
                bits_mut(grad_weight),
                bits_mut(grad_scale),
                bits_mut(grad_offset),
                numel,
                params,
            )
        }
    }

    /// [`Self::asymmetric_per_group_backward`] with `grad` holding the output
    /// gradient on entry and the weight gradient on return.
    #[allow(clippy::too_many_arguments)]
    pub fn asymmetric_per_group_backward_in_place(
        self,
        grad: &mut [bf16],
        weight: &[bf16],
        scale: &[bf16],
        offset: &[bf16],
        grad_scale: &mut [bf16],
        grad_offset: &mut [bf16],
        params: &AsymmetricPerGroup,
    ) -> Result<(), Error> {
        let numel = weight.len();
        let groups = params.groups(numel)?;
        lengths(&[
            (grad.len(), numel),
            (scale.len(), groups),
            (offset.len(), groups),
            (grad_scale.len(), groups),
            (grad_offset.len(), groups),
        ])?;
        let g = bits_mut(grad);
        // SAFETY: as above; `g` is one buffer used as input and output.
        unsafe {
            self.asymmetric_per_group_backward_raw(
                g,
                bits(weight),
                bits(scale),
                bits(offset),
                g,
                bits_mut(grad_scale),
                bits_mut(grad_offset),
                numel,
                params,
            )
        }
    }

    /// Symmetric per-channel fake quantization of a row-major matrix with one
    /// row per scale (`weight.len() / scale.len()` columns).
    pub fn symmetric_per_channel(
        self,
        weight: &[bf16],
        scale: &[bf16],
        out: &mut [bf16],
        params: &Symmetric,
    ) -> Result<(), Error> {
        let cols = channels(weight.len(), scale.len())?;
        lengths(&[(out.len(), weight.len())])?;
        // SAFETY: the slices are valid for the lengths the call derives.
        unsafe {
            self.symmetric_raw(
                bits(weight),
                bits(scale),
                bits_mut(out),
                scale.len(),
                cols,
                params,
            )
        }
    }

    /// [`Self::symmetric_per_channel`] writing over `weight`.
    pub fn symmetric_per_channel_in_place(
        self,
        weight: &mut [bf16],
        scale: &[bf16],
        params: &Symmetric,
    ) -> Result<(), Error> {
        let cols = channels(weight.len(), scale.len())?;
        let w = bits_mut(weight);
        // SAFETY: as above; `w` is one buffer used as input and output.
        unsafe { self.symmetric_raw(w, bits(scale), w, scale.len(), cols, params) }
    }

    /// Gradients of [`Self::symmetric_per_channel`]: `grad_weight` (length of
    /// `weight`) and `grad_scale` (one per row).
    pub fn symmetric_per_channel_backward(
        self,
        grad_output: &[bf16],
        weight: &[bf16],
        scale: &[bf16],
        grad_weight: &mut [bf16],
        grad_scale: &mut [bf16],
        params: &Symmetric,
    ) -> Result<(), Error> {
        let rows = scale.len();
        let cols = channels(weight.len(), rows)?;
        lengths(&[
            (grad_output.len(), weight.len()),
            (grad_weight.len(), weight.len()),
            (grad_scale.len(), rows),
        ])?;
        // SAFETY: the slices are valid for the lengths the call derives.
        unsafe {
            self.symmetric_backward_raw(
                bits(grad_output),
                bits(weight),
                bits(scale),
                bits_mut(grad_weight),
                bits_mut(grad_scale),
                rows,
                cols,
                params,
            )
        }
    }

    /// [`Self::symmetric_per_channel_backward`] with `grad` holding the output
    /// gradient on entry and the weight gradient on return.
    pub fn symmetric_per_channel_backward_in_place(
        self,
        grad: &mut [bf16],
        weight: &[bf16],
        scale: &[bf16],
        grad_scale: &mut [bf16],
        params: &Symmetric,
    ) -> Result<(), Error> {
        let rows = scale.len();
        let cols = channels(weight.len(), rows)?;
        lengths(&[(grad.len(), weight.len()), (grad_scale.len(), rows)])?;
        let g = bits_mut(grad);
        // SAFETY: as above; `g` is one buffer used as input and output.
        unsafe {
            self.symmetric_backward_raw(
                g,
                bits(weight),
                bits(scale),
                g,
                bits_mut(grad_scale),
                rows,
                cols,
                params,
            )
        }
    }

    /// Symmetric per-tensor fake quantization: one scale for every weight.
    pub fn symmetric_per_tensor(
        self,
        weight: &[bf16],
        scale: bf16,
        out: &mut [bf16],
        params: &Symmetric,
    ) -> Result<(), Error> {
        let numel = check_numel(weight.len())?;
        lengths(&[(out.len(), numel)])?;
        let scale = [scale];
        // SAFETY: the slices are valid for the lengths the call derives.
        unsafe { self.symmetric_raw(bits(weight), bits(&scale), bits_mut(out), 1, numel, params) }
    }

    /// [`Self::symmetric_per_tensor`] writing over `weight`.
    pub fn symmetric_per_tensor_in_place(
        self,
        weight: &mut [bf16],
        scale: bf16,
        params: &Symmetric,
    ) -> Result<(), Error> {
        let numel = check_numel(weight.len())?;
        let scale = [scale];
        let w = bits_mut(weight);
        // SAFETY: as above; `w` is one buffer used as input and output.
        unsafe { self.symmetric_raw(w, bits(&scale), w, 1, numel, params) }
    }

    /// Gradients of [`Self::symmetric_per_tensor`]: `grad_weight` and the one
    /// `grad_scale`, summed over every element.
    pub fn symmetric_per_tensor_backward(
        self,
        grad_output: &[bf16],
        weight: &[bf16],
        scale: bf16,
        grad_weight: &mut [bf16],
        grad_scale: &mut bf16,
        params: &Symmetric,
    ) -> Result<(), Error> {
        let numel = check_numel(weight.len())?;
        lengths(&[(grad_output.len(), numel), (grad_weight.len(), numel)])?;
        let scale = [scale];
        // SAFETY: the slices are valid for the lengths the call derives.
        unsafe {
            self.symmetric_backward_raw(
                bits(grad_output),
                bits(weight),
                bits(&scale),
                bits_mut(grad_weight),
                bits_mut(core::slice::from_mut(grad_scale)),
                1,
                numel,
                params,
            )
        }
    }

    /// [`Self::symmetric_per_tensor_backward`] with `grad` holding the output
    /// gradient on entry and the weight gradient on return.
    pub fn symmetric_per_tensor_backward_in_place(
        self,
        grad: &mut [bf16],
        weight: &[bf16],
        scale: bf16,
        grad_scale: &mut bf16,
        params: &Symmetric,
    ) -> Result<(), Error> {
        let numel = check_numel(weight.len())?;
        lengths(&[(grad.len(), numel)])?;
        let scale = [scale];
        let g = bits_mut(grad);
        // SAFETY: as above; `g` is one buffer used as input and output.
        unsafe {
            self.symmetric_backward_raw(
                g,
                bits(weight),
                bits(&scale),
                g,
                bits_mut(core::slice::from_mut(grad_scale)),
                1,
                numel,
                params,
            )
        }
    }
}
