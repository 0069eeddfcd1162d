//! The safe Rust API: [`Backend`]'s methods on slices, and the same methods
//! as free functions on the active backend. Slices bring their own lengths
//! and cannot be null, misaligned or overlapping (an in-place form passes one
//! slice twice), so this layer checks only that the lengths agree, then
//! enters `call` without the C ABI's pointer checks.

use core::fmt;

use half::bf16;

use crate::arch::KernelTable;
use crate::call::{self, Slices};
use crate::{dispatch, AsymmetricPerGroup, Error, Isa, Symmetric};

/// One backend (the scalar path or a SIMD path), with the six kernels as
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
    kernels: &'static KernelTable,
}

impl fmt::Debug for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Backend").field("isa", &self.isa()).finish()
    }
}

/// `Shape` unless every `(actual, expected)` length pair matches.
fn lengths(pairs: &[(usize, usize)]) -> Result<(), Error> {
    if pairs.iter().all(|(actual, expected)| actual == expected) {
        Ok(())
    } else {
        Err(Error::Shape)
    }
}

/// Columns of a per-channel call: one row per scale.
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
        dispatch::table(isa).map(|kernels| Backend { kernels })
    }

    /// The backend that the free functions and the C ABI take now (see
    /// [`set_isa`](crate::set_isa)).
    pub fn active() -> Backend {
        Backend {
            kernels: dispatch::active(),
        }
    }

    /// Every backend this CPU supports: the scalar one first.
    pub fn available() -> impl Iterator<Item = Backend> {
        [Isa::Scalar, Isa::Avx2, Isa::Avx512, Isa::Neon]
            .into_iter()
            .filter_map(Backend::new)
    }

    /// Every build of every path this CPU supports, named: those of
    /// [`Backend::available`] and, on a CPU with AVX-512 BF16, also the
    /// AVX-512 build without it (`"avx512_no_bf16"`), which `Auto` skips
    /// there but older AVX-512 CPUs run. For tests and benchmarks (feature
    /// `test-hooks`; not part of the stable API).
    #[cfg(feature = "test-hooks")]
    pub fn builds() -> impl Iterator<Item = (&'static str, Backend)> {
        dispatch::builds().map(|(name, kernels)| (name, Backend { kernels }))
    }

    /// Its instruction set (never `Auto`).
    pub fn isa(self) -> Isa {
        self.kernels.isa
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
        let (w, s, o) = (bits(weight), bits(scale), bits(offset));
        // SAFETY: slices of the lengths the call derives.
        unsafe {
            call::asymmetric_per_group::<Slices>(
                self.kernels,
                w,
                s,
                o,
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
        let (w, s, o) = (bits_mut(weight), bits(scale), bits(offset));
        // SAFETY: as above; `w` is one buffer used as input and output.
        unsafe {
            call::asymmetric_per_group::<Slices>(self.kernels, w, s, o, w, weight.len(), params)
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
        // SAFETY: slices of the lengths the call derives.
        unsafe {
            call::asymmetric_per_group_backward::<Slices>(
                self.kernels,
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
            call::asymmetric_per_group_backward::<Slices>(
                self.kernels,
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
        let (w, s, rows) = (bits(weight), bits(scale), scale.len());
        // SAFETY: slices of the lengths the call derives.
        unsafe { call::symmetric::<Slices>(self.kernels, w, s, bits_mut(out), rows, cols, params) }
    }

    /// [`Self::symmetric_per_channel`] writing over `weight`.
    pub fn symmetric_per_channel_in_place(
        self,
        weight: &mut [bf16],
        scale: &[bf16],
        params: &Symmetric,
    ) -> Result<(), Error> {
        let cols = channels(weight.len(), scale.len())?;
        let (w, s, rows) = (bits_mut(weight), bits(scale), scale.len());
        // SAFETY: as above; `w` is one buffer used as input and output.
        unsafe { call::symmetric::<Slices>(self.kernels, w, s, w, rows, cols, params) }
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
        // SAFETY: slices of the lengths the call derives.
        unsafe {
            call::symmetric_backward::<Slices>(
                self.kernels,
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
        let (g, w, s) = (bits_mut(grad), bits(weight), bits(scale));
        // SAFETY: as above; `g` is one buffer used as input and output.
        unsafe {
            call::symmetric_backward::<Slices>(
                self.kernels,
                g,
                w,
                s,
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
        lengths(&[(out.len(), weight.len())])?;
        let s = bits(core::slice::from_ref(&scale));
        // SAFETY: slices of the lengths the call derives.
        unsafe {
            call::symmetric::<Slices>(
                self.kernels,
                bits(weight),
                s,
                bits_mut(out),
                1,
                weight.len(),
                params,
            )
        }
    }

    /// [`Self::symmetric_per_tensor`] writing over `weight`.
    pub fn symmetric_per_tensor_in_place(
        self,
        weight: &mut [bf16],
        scale: bf16,
        params: &Symmetric,
    ) -> Result<(), Error> {
        let (w, s) = (bits_mut(weight), bits(core::slice::from_ref(&scale)));
        // SAFETY: as above; `w` is one buffer used as input and output.
        unsafe { call::symmetric::<Slices>(self.kernels, w, s, w, 1, weight.len(), params) }
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
        let numel = weight.len();
        lengths(&[(grad_output.len(), numel), (grad_weight.len(), numel)])?;
        // SAFETY: slices of the lengths the call derives.
        unsafe {
            call::symmetric_backward::<Slices>(
                self.kernels,
                bits(grad_output),
                bits(weight),
                bits(core::slice::from_ref(&scale)),
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
        let numel = weight.len();
        lengths(&[(grad.len(), numel)])?;
        let (g, s) = (bits_mut(grad), bits(core::slice::from_ref(&scale)));
        let gs = bits_mut(core::slice::from_mut(grad_scale));
        // SAFETY: as above; `g` is one buffer used as input and output.
        unsafe {
            call::symmetric_backward::<Slices>(
                self.kernels,
                g,
                bits(weight),
                s,
                g,
                gs,
                1,
                numel,
                params,
            )
        }
    }
}

/// The free functions: each a [`Backend`] method on [`Backend::active`].
macro_rules! on_the_active_backend {
    ($(fn $name:ident($($arg:ident: $type:ty),* $(,)?);)*) => {$(
        #[doc = concat!("[`Backend::", stringify!($name), "`] on the active backend.")]
        #[allow(clippy::too_many_arguments)]
        pub fn $name($($arg: $type),*) -> Result<(), Error> {
            Backend::active().$name($($arg),*)
        }
    )*};
}

on_the_active_backend! {
    fn asymmetric_per_group(weight: &[bf16], scale: &[bf16], offset: &[bf16], out: &mut [bf16], params: &AsymmetricPerGroup);
    fn asymmetric_per_group_in_place(weight: &mut [bf16], scale: &[bf16], offset: &[bf16], params: &AsymmetricPerGroup);
    fn asymmetric_per_group_backward(
        grad_output: &[bf16], weight: &[bf16], scale: &[bf16], offset: &[bf16],
        grad_weight: &mut [bf16], grad_scale: &mut [bf16], grad_offset: &mut [bf16], params: &AsymmetricPerGroup,
    );
    fn asymmetric_per_group_backward_in_place(
        grad: &mut [bf16], weight: &[bf16], scale: &[bf16], offset: &[bf16],
        grad_scale: &mut [bf16], grad_offset: &mut [bf16], params: &AsymmetricPerGroup,
    );
    fn symmetric_per_channel(weight: &[bf16], scale: &[bf16], out: &mut [bf16], params: &Symmetric);
    fn symmetric_per_channel_in_place(weight: &mut [bf16], scale: &[bf16], params: &Symmetric);
    fn symmetric_per_channel_backward(
        grad_output: &[bf16], weight: &[bf16], scale: &[bf16],
        grad_weight: &mut [bf16], grad_scale: &mut [bf16], params: &Symmetric,
    );
    fn symmetric_per_channel_backward_in_place(
        grad: &mut [bf16], weight: &[bf16], scale: &[bf16], grad_scale: &mut [bf16], params: &Symmetric,
    );
    fn symmetric_per_tensor(weight: &[bf16], scale: bf16, out: &mut [bf16], params: &Symmetric);
    fn symmetric_per_tensor_in_place(weight: &mut [bf16], scale: bf16, params: &Symmetric);
    fn symmetric_per_tensor_backward(
        grad_output: &[bf16], weight: &[bf16], scale: bf16,
        grad_weight: &mut [bf16], grad_scale: &mut bf16, params: &Symmetric,
    );
    fn symmetric_per_tensor_backward_in_place(
        grad: &mut [bf16], weight: &[bf16], scale: bf16, grad_scale: &mut bf16, params: &Symmetric,
    );
}
