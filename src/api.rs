//! The safe Rust API: [`Backend`]'s methods on slices, and the same methods
//! as free functions on the active backend. Slices bring their own lengths
//! and cannot be null, misaligned or overlapping (an in-place form passes one
//! slice twice), so this layer checks only that the lengths agree, then
//! enters `call` without the C ABI's pointer checks.

use core::fmt;

use half::bf16;

use crate::arch::Build;
use crate::call::{self, Call, In, Out, PerUnit, Shape, Slices};
use crate::{codes, dispatch, AsymmetricPerGroup, Calibration, Error, Isa, PerToken, Symmetric};

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
    build: Build,
}

impl fmt::Debug for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Backend").field("isa", &self.isa()).finish()
    }
}

/// bf16 slices as the calls see them: their bits.
impl From<&[bf16]> for In<u16, usize> {
    fn from(s: &[bf16]) -> Self {
        In {
            ptr: s.as_ptr().cast(),
            len: s.len(),
        }
    }
}

impl From<&mut [bf16]> for Out<u16, usize> {
    fn from(s: &mut [bf16]) -> Self {
        Out {
            ptr: s.as_mut_ptr().cast(),
            len: s.len(),
        }
    }
}

/// The scales of a quantizer without offsets.
impl From<&[bf16]> for PerUnit<In<u16, usize>> {
    fn from(scale: &[bf16]) -> Self {
        PerUnit {
            scale: scale.into(),
            offset: In::none(),
        }
    }
}

/// The scale gradients (or calibrated scales) of a quantizer without
/// offsets.
impl From<&mut [bf16]> for PerUnit<Out<u16, usize>> {
    fn from(scale: &mut [bf16]) -> Self {
        PerUnit {
            scale: scale.into(),
            offset: Out::none(),
        }
    }
}

impl Backend {
    /// The backend of `isa` (`Auto`: the best one), if this CPU supports it.
    pub fn new(isa: Isa) -> Option<Backend> {
        dispatch::build(isa).map(|build| Backend { build })
    }

    /// The backend that the free functions and the C ABI take now (see
    /// [`set_isa`](crate::set_isa)).
    pub fn active() -> Backend {
        Backend {
            build: dispatch::active(),
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
        dispatch::builds().map(|(name, build)| (name, Backend { build }))
    }

    /// Its instruction set (never `Auto`).
    pub fn isa(self) -> Isa {
        self.build.isa()
    }

    /// A per-group call on `numel` weights.
    fn per_group(
        self,
        numel: usize,
        params: &AsymmetricPerGroup,
    ) -> Call<Slices, AsymmetricPerGroup> {
        Call::new(self.build, Shape::groups(numel, params.group_size), *params)
    }

    /// A per-channel call on `numel` weights, one row per scale.
    fn per_channel(self, numel: usize, rows: usize, params: &Symmetric) -> Call<Slices, Symmetric> {
        self.per_rows_of(numel, rows, *params)
    }

    /// A call on `numel` elements in `rows` rows.
    fn per_rows_of<P>(self, numel: usize, rows: usize, params: P) -> Call<Slices, P> {
        Call::new(self.build, Shape::channels(numel, rows), params)
    }

    /// A symmetric call on `rows` rows of `cols`.
    fn per_rows(self, rows: usize, cols: usize, params: &Symmetric) -> Call<Slices, Symmetric> {
        Call::new(self.build, Shape::rows(rows, cols), *params)
    }

    /// A per-tensor call on `numel` weights: one row.
    fn per_tensor(self, numel: usize, params: &Symmetric) -> Call<Slices, Symmetric> {
        self.per_rows(1, numel, params)
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
        // SAFETY: slices, valid for their lengths, which the call checks
        // against its shape.
        unsafe {
            self.per_group(weight.len(), params)
                .forward(weight, (scale, offset), out)
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
        let (n, w) = (weight.len(), Out::from(weight));
        // SAFETY: slices, valid for their lengths, which the call checks
        // against its shape; one is used as input and output.
        unsafe {
            self.per_group(n, params)
                .forward(w.reading(), (scale, offset), w)
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
        // SAFETY: slices, valid for their lengths, which the call checks
        // against its shape.
        unsafe {
            self.per_group(weight.len(), params).backward(
                grad_output,
                weight,
                (scale, offset),
                grad_weight,
                (grad_scale, grad_offset),
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
        let g = Out::from(grad);
        // SAFETY: slices, valid for their lengths, which the call checks
        // against its shape; one is used as input and output.
        unsafe {
            self.per_group(weight.len(), params).backward(
                g.reading(),
                weight,
                (scale, offset),
                g,
                (grad_scale, grad_offset),
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
        // SAFETY: slices, valid for their lengths, which the call checks
        // against its shape.
        unsafe {
            self.per_channel(weight.len(), scale.len(), params)
                .forward(weight, scale, out)
        }
    }

    /// [`Self::symmetric_per_channel`] writing over `weight`.
    pub fn symmetric_per_channel_in_place(
        self,
        weight: &mut [bf16],
        scale: &[bf16],
        params: &Symmetric,
    ) -> Result<(), Error> {
        let (n, w) = (weight.len(), Out::from(weight));
        // SAFETY: slices, valid for their lengths, which the call checks
        // against its shape; one is used as input and output.
        unsafe {
            self.per_channel(n, scale.len(), params)
                .forward(w.reading(), scale, w)
        }
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
        // SAFETY: slices, valid for their lengths, which the call checks
        // against its shape.
        unsafe {
            self.per_channel(weight.len(), scale.len(), params)
                .backward(grad_output, weight, scale, grad_weight, grad_scale)
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
        let g = Out::from(grad);
        // SAFETY: slices, valid for their lengths, which the call checks
        // against its shape; one is used as input and output.
        unsafe {
            self.per_channel(weight.len(), scale.len(), params)
                .backward(g.reading(), weight, scale, g, grad_scale)
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
        // SAFETY: slices, valid for their lengths, which the call checks
        // against its shape.
        unsafe {
            self.per_tensor(weight.len(), params).forward(
                weight,
                core::slice::from_ref(&scale),
                out,
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
        let (n, w) = (weight.len(), Out::from(weight));
        // SAFETY: slices, valid for their lengths, which the call checks
        // against its shape; one is used as input and output.
        unsafe {
            self.per_tensor(n, params)
                .forward(w.reading(), core::slice::from_ref(&scale), w)
        }
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
        // SAFETY: slices, valid for their lengths, which the call checks
        // against its shape.
        unsafe {
            self.per_tensor(weight.len(), params).backward(
                grad_output,
                weight,
                core::slice::from_ref(&scale),
                grad_weight,
                core::slice::from_mut(grad_scale),
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
        let g = Out::from(grad);
        // SAFETY: slices, valid for their lengths, which the call checks
        // against its shape; one is used as input and output.
        unsafe {
            self.per_tensor(weight.len(), params).backward(
                g.reading(),
                weight,
                core::slice::from_ref(&scale),
                g,
                core::slice::from_mut(grad_scale),
            )
        }
    }

    /// Export: the integer code of each weight, `q = r + n` in `0..2^bit`
    /// (`bit <= 8`), where `r` is the level
    /// [`Self::asymmetric_per_group`] snaps the weight to. So
    /// [`Self::asymmetric_per_group_dequantize`] gives back exactly the
    /// forward pass's bits. [`Error::NonFinite`] (nothing written) where a
    /// weight has no code: a NaN weight, scale or offset.
    pub fn asymmetric_per_group_quantize(
        self,
        weight: &[bf16],
        scale: &[bf16],
        offset: &[bf16],
        codes: &mut [u8],
        params: &AsymmetricPerGroup,
    ) -> Result<(), Error> {
        // SAFETY: slices, valid for their lengths, which the call checks
        // against its shape.
        unsafe {
            self.per_group(weight.len(), params)
                .quantize(weight, (scale, offset), codes)
        }
    }

    /// The values of codes from [`Self::asymmetric_per_group_quantize`]:
    /// bit for bit the forward pass of the weights they came from.
    /// [`Error::Code`] (nothing written) for a code of `2^bit` or more.
    pub fn asymmetric_per_group_dequantize(
        self,
        codes: &[u8],
        scale: &[bf16],
        offset: &[bf16],
        out: &mut [bf16],
        params: &AsymmetricPerGroup,
    ) -> Result<(), Error> {
        // SAFETY: slices, valid for their lengths, which the call checks
        // against its shape.
        unsafe {
            self.per_group(codes.len(), params)
                .dequantize(codes, (scale, offset), out)
        }
    }

    /// Export: the integer code of each weight, `c` in `[min_v, max_v]`
    /// (within `-128..=127`), one row per scale. See
    /// [`Self::asymmetric_per_group_quantize`].
    pub fn symmetric_per_channel_quantize(
        self,
        weight: &[bf16],
        scale: &[bf16],
        codes: &mut [i8],
        params: &Symmetric,
    ) -> Result<(), Error> {
        // SAFETY: slices, valid for their lengths, which the call checks
        // against its shape.
        unsafe {
            self.per_channel(weight.len(), scale.len(), params)
                .quantize(weight, scale, codes)
        }
    }

    /// The values of codes from [`Self::symmetric_per_channel_quantize`].
    pub fn symmetric_per_channel_dequantize(
        self,
        codes: &[i8],
        scale: &[bf16],
        out: &mut [bf16],
        params: &Symmetric,
    ) -> Result<(), Error> {
        // SAFETY: slices, valid for their lengths, which the call checks
        // against its shape.
        unsafe {
            self.per_channel(codes.len(), scale.len(), params)
                .dequantize(codes, scale, out)
        }
    }

    /// Export with one scale for every weight. See
    /// [`Self::symmetric_per_channel_quantize`].
    pub fn symmetric_per_tensor_quantize(
        self,
        weight: &[bf16],
        scale: bf16,
        codes: &mut [i8],
        params: &Symmetric,
    ) -> Result<(), Error> {
        // SAFETY: slices, valid for their lengths, which the call checks
        // against its shape.
        unsafe {
            self.per_tensor(weight.len(), params).quantize(
                weight,
                core::slice::from_ref(&scale),
                codes,
            )
        }
    }

    /// The values of codes from [`Self::symmetric_per_tensor_quantize`].
    pub fn symmetric_per_tensor_dequantize(
        self,
        codes: &[i8],
        scale: bf16,
        out: &mut [bf16],
        params: &Symmetric,
    ) -> Result<(), Error> {
        // SAFETY: slices, valid for their lengths, which the call checks
        // against its shape.
        unsafe {
            self.per_tensor(codes.len(), params).dequantize(
                codes,
                core::slice::from_ref(&scale),
                out,
            )
        }
    }

    /// [`Self::asymmetric_per_group_backward`] for a shard: writes the
    /// weight gradient, and instead of the scale and offset gradients, each
    /// group's two sums as f64 block values (the offset sum's
    /// [`block_count`]`(group_size)` values, then the scale sum's), for
    /// [`asymmetric_per_group_finish`] after the shards' values are combined
    /// (see `docs/kernels.md`, "Gradients across shards").
    #[allow(clippy::too_many_arguments)]
    pub fn asymmetric_per_group_backward_blocks(
        self,
        grad_output: &[bf16],
        weight: &[bf16],
        scale: &[bf16],
        offset: &[bf16],
        grad_weight: &mut [bf16],
        block_sums: &mut [f64],
        params: &AsymmetricPerGroup,
    ) -> Result<(), Error> {
        // SAFETY: slices, valid for their lengths, which the call checks
        // against its shape.
        unsafe {
            self.per_group(weight.len(), params).backward_blocks(
                grad_output,
                weight,
                (scale, offset),
                grad_weight,
                block_sums,
            )
        }
    }

    /// [`Self::symmetric_per_channel_backward`] for a shard: each row's two
    /// sums as block values (`2 * block_count(cols)` per row) instead of the
    /// scale gradients, for [`symmetric_per_channel_finish`].
    pub fn symmetric_per_channel_backward_blocks(
        self,
        grad_output: &[bf16],
        weight: &[bf16],
        scale: &[bf16],
        grad_weight: &mut [bf16],
        block_sums: &mut [f64],
        params: &Symmetric,
    ) -> Result<(), Error> {
        // SAFETY: slices, valid for their lengths, which the call checks
        // against its shape.
        unsafe {
            self.per_channel(weight.len(), scale.len(), params)
                .backward_blocks(grad_output, weight, scale, grad_weight, block_sums)
        }
    }

    /// [`Self::symmetric_per_tensor_backward`] for a shard: the two sums as
    /// block values (`2 * block_count(weight.len())`) instead of the scale
    /// gradient, for [`symmetric_per_tensor_finish`].
    pub fn symmetric_per_tensor_backward_blocks(
        self,
        grad_output: &[bf16],
        weight: &[bf16],
        scale: bf16,
        grad_weight: &mut [bf16],
        block_sums: &mut [f64],
        params: &Symmetric,
    ) -> Result<(), Error> {
        // SAFETY: slices, valid for their lengths, which the call checks
        // against its shape.
        unsafe {
            self.per_tensor(weight.len(), params).backward_blocks(
                grad_output,
                weight,
                core::slice::from_ref(&scale),
                grad_weight,
                block_sums,
            )
        }
    }

    /// Calibration per group: for each group the scale and offset whose
    /// forward pass is closest to its weights (`Calibration::Search`, among
    /// 64 fractions of the group's min/max scale, offset at the middle of its
    /// range), or LSQ's rule (`Calibration::Lsq`); see `docs/kernels.md`,
    /// "Calibration". Weights must be finite ([`Error::NonFinite`]).
    pub fn asymmetric_per_group_calibrate(
        self,
        weight: &[bf16],
        scale: &mut [bf16],
        offset: &mut [bf16],
        params: &AsymmetricPerGroup,
        mode: Calibration,
    ) -> Result<(), Error> {
        // SAFETY: slices, valid for their lengths, which the call checks
        // against its shape.
        unsafe {
            self.per_group(weight.len(), params)
                .calibrate(weight, (scale, offset), Some(mode))
        }
    }

    /// Calibration per channel: a scale per row, as
    /// [`Self::asymmetric_per_group_calibrate`] (candidates: 64 fractions of
    /// `max|w| / max_v`).
    pub fn symmetric_per_channel_calibrate(
        self,
        weight: &[bf16],
        scale: &mut [bf16],
        params: &Symmetric,
        mode: Calibration,
    ) -> Result<(), Error> {
        // SAFETY: slices, valid for their lengths, which the call checks
        // against its shape.
        unsafe {
            self.per_channel(weight.len(), scale.len(), params)
                .calibrate(weight, scale, Some(mode))
        }
    }

    /// Calibration per tensor: one scale.
    pub fn symmetric_per_tensor_calibrate(
        self,
        weight: &[bf16],
        scale: &mut bf16,
        params: &Symmetric,
        mode: Calibration,
    ) -> Result<(), Error> {
        // SAFETY: slices, valid for their lengths, which the call checks
        // against its shape.
        unsafe {
            self.per_tensor(weight.len(), params).calibrate(
                weight,
                core::slice::from_mut(scale),
                Some(mode),
            )
        }
    }

    /// Dynamic per-token fake quantization of activations, asymmetric: one
    /// row per token (`input.len() / scale.len()` columns), each with the
    /// scale and zero point of its own values, written to `scale` and
    /// `zero_point` (see `docs/kernels.md`, "Per-token activations").
    ///
    /// ```
    /// use half::bf16;
    /// use qat_kernels::{per_token_asymmetric, PerToken};
    ///
    /// let x = [-1.0, 0.0, 0.5, 3.0].map(bf16::from_f32);
    /// let (mut out, mut scale, mut zero_point) = ([bf16::ZERO; 4], [0.0], [0]);
    /// per_token_asymmetric(&x, &mut out, &mut scale, &mut zero_point, &PerToken::default()).unwrap();
    /// assert_eq!(scale[0], 4.0 / 255.0); // (3 - (-1)) / (127 - (-128))
    /// assert_eq!(zero_point[0], -64); // -128 - round(-1 / scale)
    /// ```
    pub fn per_token_asymmetric(
        self,
        input: &[bf16],
        out: &mut [bf16],
        scale: &mut [f32],
        zero_point: &mut [i32],
        params: &PerToken,
    ) -> Result<(), Error> {
        let call = self.per_rows_of(input.len(), scale.len(), *params);
        // SAFETY: slices, valid for their lengths, which the call checks
        // against its shape.
        unsafe { call.tokens(false, input, out, scale, zero_point) }
    }

    /// [`Self::per_token_asymmetric`], symmetric: zero points 0.
    pub fn per_token_symmetric(
        self,
        input: &[bf16],
        out: &mut [bf16],
        scale: &mut [f32],
        zero_point: &mut [i32],
        params: &PerToken,
    ) -> Result<(), Error> {
        let call = self.per_rows_of(input.len(), scale.len(), *params);
        // SAFETY: slices, valid for their lengths, which the call checks
        // against its shape.
        unsafe { call.tokens(true, input, out, scale, zero_point) }
    }

    /// The gradient of either per-token forward pass, from the scales and
    /// zero points it wrote: `grad_output` where the value was not clipped,
    /// else 0 (the straight-through estimator). Only `params.bit` is used.
    pub fn per_token_backward(
        self,
        grad_output: &[bf16],
        input: &[bf16],
        scale: &[f32],
        zero_point: &[i32],
        grad_input: &mut [bf16],
        params: &PerToken,
    ) -> Result<(), Error> {
        let call = self.per_rows_of(input.len(), scale.len(), *params);
        // SAFETY: slices, valid for their lengths, which the call checks
        // against its shape.
        unsafe { call.tokens_backward(grad_output, input, scale, zero_point, grad_input) }
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
    fn asymmetric_per_group_quantize(
        weight: &[bf16], scale: &[bf16], offset: &[bf16], codes: &mut [u8], params: &AsymmetricPerGroup,
    );
    fn asymmetric_per_group_dequantize(
        codes: &[u8], scale: &[bf16], offset: &[bf16], out: &mut [bf16], params: &AsymmetricPerGroup,
    );
    fn symmetric_per_channel_quantize(weight: &[bf16], scale: &[bf16], codes: &mut [i8], params: &Symmetric);
    fn symmetric_per_channel_dequantize(codes: &[i8], scale: &[bf16], out: &mut [bf16], params: &Symmetric);
    fn symmetric_per_tensor_quantize(weight: &[bf16], scale: bf16, codes: &mut [i8], params: &Symmetric);
    fn symmetric_per_tensor_dequantize(codes: &[i8], scale: bf16, out: &mut [bf16], params: &Symmetric);
    fn asymmetric_per_group_backward_blocks(
        grad_output: &[bf16], weight: &[bf16], scale: &[bf16], offset: &[bf16],
        grad_weight: &mut [bf16], block_sums: &mut [f64], params: &AsymmetricPerGroup,
    );
    fn symmetric_per_channel_backward_blocks(
        grad_output: &[bf16], weight: &[bf16], scale: &[bf16],
        grad_weight: &mut [bf16], block_sums: &mut [f64], params: &Symmetric,
    );
    fn symmetric_per_tensor_backward_blocks(
        grad_output: &[bf16], weight: &[bf16], scale: bf16,
        grad_weight: &mut [bf16], block_sums: &mut [f64], params: &Symmetric,
    );
    fn asymmetric_per_group_calibrate(
        weight: &[bf16], scale: &mut [bf16], offset: &mut [bf16], params: &AsymmetricPerGroup, mode: Calibration,
    );
    fn symmetric_per_channel_calibrate(weight: &[bf16], scale: &mut [bf16], params: &Symmetric, mode: Calibration);
    fn symmetric_per_tensor_calibrate(weight: &[bf16], scale: &mut bf16, params: &Symmetric, mode: Calibration);
    fn per_token_asymmetric(
        input: &[bf16], out: &mut [bf16], scale: &mut [f32], zero_point: &mut [i32], params: &PerToken,
    );
    fn per_token_symmetric(
        input: &[bf16], out: &mut [bf16], scale: &mut [f32], zero_point: &mut [i32], params: &PerToken,
    );
    fn per_token_backward(
        grad_output: &[bf16], input: &[bf16], scale: &[f32], zero_point: &[i32], grad_input: &mut [bf16],
        params: &PerToken,
    );
}

/// Bytes that `count` codes of `bits` bits take packed ([`pack_codes`]):
/// `None` unless `bits` is 1, 2, 4 or 8.
///
/// ```
/// assert_eq!(qat_kernels::packed_len(1001, 4), Some(501));
/// assert_eq!(qat_kernels::packed_len(8, 3), None);
/// ```
pub fn packed_len(count: usize, bits: u32) -> Option<usize> {
    codes::packed_len(count, bits)
}

/// Packs codes of `bits` bits (1, 2, 4 or 8) densely: the first code in the
/// lowest bits of the first byte; the last byte's unused bits are zero.
/// `packed` must hold [`packed_len`] bytes ([`Error::Shape`]); a code of
/// `2^bits` or more gives [`Error::Code`], and a width other than 1, 2, 4 or
/// 8 [`Error::BitWidth`], with nothing written.
///
/// ```
/// let mut packed = [0u8; 2];
/// qat_kernels::pack_codes(&[1, 2, 15], 4, &mut packed).unwrap();
/// assert_eq!(packed, [0x21, 0x0F]);
/// let mut codes = [0u8; 3];
/// qat_kernels::unpack_codes(&packed, 4, &mut codes).unwrap();
/// assert_eq!(codes, [1, 2, 15]);
/// ```
pub fn pack_codes(codes: &[u8], bits: u32, packed: &mut [u8]) -> Result<(), Error> {
    // SAFETY: slices, valid for their lengths, which the call checks
    // against its shape.
    unsafe { call::pack::<Slices, u8>(codes, codes.len(), bits, packed) }
}

/// The codes [`pack_codes`] packed: `codes.len()` of them from
/// [`packed_len`] bytes.
pub fn unpack_codes(packed: &[u8], bits: u32, codes: &mut [u8]) -> Result<(), Error> {
    let count = codes.len();
    // SAFETY: slices, valid for their lengths, which the call checks
    // against its shape.
    unsafe { call::unpack::<Slices, u8>(packed, bits, Out::from(codes), count) }
}

/// [`pack_codes`] for signed codes (the symmetric quantizers'), each stored
/// as its two's complement in `bits` bits: codes must lie in
/// `-2^(bits-1)..2^(bits-1)`.
///
/// ```
/// let mut packed = [0u8; 1];
/// qat_kernels::pack_signed_codes(&[-8, 7], 4, &mut packed).unwrap();
/// assert_eq!(packed, [0x78]);
/// let mut codes = [0i8; 2];
/// qat_kernels::unpack_signed_codes(&packed, 4, &mut codes).unwrap();
/// assert_eq!(codes, [-8, 7]);
/// ```
pub fn pack_signed_codes(codes: &[i8], bits: u32, packed: &mut [u8]) -> Result<(), Error> {
    // SAFETY: slices, valid for their lengths, which the call checks
    // against its shape.
    unsafe { call::pack::<Slices, i8>(codes, codes.len(), bits, packed) }
}

/// The codes [`pack_signed_codes`] packed, sign-extended.
pub fn unpack_signed_codes(packed: &[u8], bits: u32, codes: &mut [i8]) -> Result<(), Error> {
    let count = codes.len();
    // SAFETY: slices, valid for their lengths, which the call checks
    // against its shape.
    unsafe { call::unpack::<Slices, i8>(packed, bits, Out::from(codes), count) }
}

/// Blocks in the reduction of `len` terms: `len / 4096` rounded up. A
/// backward call's block values for a group, row or tensor of `len` elements
/// number `2 * block_count(len)`.
pub fn block_count(len: usize) -> usize {
    crate::kernels::reduction::block_count(len)
}

/// The scale and offset gradients, as one call gives them, from every
/// group's block values: those of
/// [`Backend::asymmetric_per_group_backward_blocks`], or their combination
/// across shards. `grad_scale` may be `scale`'s buffer only through the C
/// ABI; here the three are separate slices.
pub fn asymmetric_per_group_finish(
    block_sums: &[f64],
    scale: &[bf16],
    grad_scale: &mut [bf16],
    grad_offset: &mut [bf16],
    params: &AsymmetricPerGroup,
) -> Result<(), Error> {
    let numel = scale
        .len()
        .checked_mul(params.group_size)
        .ok_or(Error::Shape)?;
    // SAFETY: slices, valid for their lengths, which the call checks
    // against its shape.
    unsafe {
        Backend::active().per_group(numel, params).finish(
            block_sums,
            scale,
            (grad_scale, grad_offset),
        )
    }
}

/// The per-channel scale gradients, as one call gives them, from every
/// row's block values (rows of `cols` elements).
pub fn symmetric_per_channel_finish(
    block_sums: &[f64],
    scale: &[bf16],
    grad_scale: &mut [bf16],
    cols: usize,
    params: &Symmetric,
) -> Result<(), Error> {
    // SAFETY: slices, valid for their lengths, which the call checks
    // against its shape.
    unsafe {
        Backend::active()
            .per_rows(scale.len(), cols, params)
            .finish(block_sums, scale, grad_scale)
    }
}

/// The per-tensor scale gradient, as one call over `numel` weights gives
/// it, from the tensor's block values.
pub fn symmetric_per_tensor_finish(
    block_sums: &[f64],
    scale: bf16,
    grad_scale: &mut bf16,
    numel: usize,
    params: &Symmetric,
) -> Result<(), Error> {
    // SAFETY: slices, valid for their lengths, which the call checks
    // against its shape.
    unsafe {
        Backend::active().per_rows(1, numel, params).finish(
            block_sums,
            core::slice::from_ref(&scale),
            core::slice::from_mut(grad_scale),
        )
    }
}
