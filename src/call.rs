//! The one path every call takes from a boundary to a kernel: the shape,
//! the boundary's pointer checks, the parameters, the boundary's overlap
//! checks, then the kernel, in that order (the order in which errors are
//! reported), all in the default floating-point environment (`fpenv`).
//!
//! Every quantizer has one shape, `units` units of `len` elements: groups
//! of `group_size`, rows of `cols`, or per tensor one row. A [`Call`] holds
//! the shape, the parameters and the backend, and its methods are the
//! quantizer's operations, written once over [`Params`] and
//! [`Quantizer`]. The safe API (`quantizers`) makes calls from slices, whose
//! lengths are checked against the shape and which need no pointer or
//! overlap checks ([`Slices`]); the C ABI (`ffi`) from raw pointers, which
//! do.

use core::marker::PhantomData;

use crate::arch::{Backend, Kernel};
use crate::bf16_bits::widen;
use crate::boundary::{input, output, Boundary, Buffer, In, Len, Out};
use crate::kernels::calibrate::{CalibrateArgs, Calibration};
use crate::kernels::reduction::block_count;
use crate::kernels::rows::{BlockSums, BlockValues, Totals};
use crate::kernels::scan;
use crate::kernels::{BackwardArgs, MapArgs, Quantizer};
use crate::params::Params;
use crate::vector::Data;
use crate::{fpenv, pool};
use crate::{Argument, Error, Rule};

/// The largest element count whose bf16 buffer fits in `isize::MAX` bytes.
const MAX_ELEMENTS: usize = isize::MAX as usize / 2;

/// [`Rule::TooLarge`] for `name` unless `count` bf16 values fit in
/// `isize::MAX` bytes (`None`: the count overflowed).
fn check_count(name: Argument, count: Option<usize>) -> Result<usize, Error> {
    match count {
        Some(count) if count <= MAX_ELEMENTS => Ok(count),
        _ => Err(Error::new(name, Rule::TooLarge)),
    }
}

/// A call's shape: `units` units (groups, rows, or one tensor) of `len`
/// elements, whose `units * len` bf16 values fit in the largest object.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Shape {
    pub units: usize,
    pub len: usize,
}

impl Shape {
    /// `rows` rows of `cols`; [`Rule::TooLarge`] if `rows * cols` (for
    /// `cols`) overflows or passes `isize::MAX` bytes, or `rows` does (the
    /// scales' count).
    pub fn rows(rows: usize, cols: usize) -> Result<Shape, Error> {
        check_count(Argument::Rows, Some(rows))?;
        check_count(Argument::Cols, rows.checked_mul(cols))?;
        Ok(Shape {
            units: rows,
            len: cols,
        })
    }

    /// One row of `numel`.
    pub fn tensor(numel: usize) -> Result<Shape, Error> {
        check_count(Argument::Numel, Some(numel))?;
        Ok(Shape {
            units: 1,
            len: numel,
        })
    }

    /// `numel` elements in groups of `len`, which must divide it (a `len`
    /// of 0 never does).
    pub fn groups(numel: usize, len: usize) -> Result<Shape, Error> {
        check_count(Argument::Numel, Some(numel))?;
        match (numel.checked_rem(len), numel.checked_div(len)) {
            (Some(0), Some(units)) => Ok(Shape { units, len }),
            _ => Err(Error::new(Argument::GroupSize, Rule::NotDividing)),
        }
    }

    /// `numel` elements in as many rows as `scale` has values (`units`),
    /// which must divide it (no rows only for no elements): a per-channel
    /// call from slices.
    pub fn channels(numel: usize, units: usize) -> Result<Shape, Error> {
        match (numel.checked_rem(units), numel.checked_div(units)) {
            (Some(0), Some(len)) => Shape::rows(units, len),
            (None, _) if numel == 0 => Shape::rows(0, 0),
            _ => Err(Error::new(Argument::Scale, Rule::ChannelCount)),
        }
    }

    /// Every element: `units * len`, which the constructors checked.
    pub fn numel(self) -> usize {
        self.units * self.len
    }

    /// The block values of its units, `2 * block_count(len)` each;
    /// `usize::MAX` where that overflows, which no buffer's extent admits
    /// ([`Buffer::bytes`]).
    fn block_values(self) -> usize {
        self.units.saturating_mul(2 * block_count(self.len))
    }
}

/// A unit's parameter buffers: its scale, and its offset where the
/// quantizer has offsets (else [`In::none`], never looked at). Made from
/// one buffer (the scales) or a pair (scales, offsets).
#[derive(Clone, Copy)]
pub(crate) struct PerUnit<B> {
    pub scale: B,
    pub offset: B,
}

impl<L: Len, X: Into<In<u16, L>>> From<(X, X)> for PerUnit<In<u16, L>> {
    fn from((scale, offset): (X, X)) -> Self {
        PerUnit {
            scale: scale.into(),
            offset: offset.into(),
        }
    }
}

impl<G, L: Len, X: Into<Out<G, L>>> From<(X, X)> for PerUnit<Out<G, L>> {
    fn from((scale, offset): (X, X)) -> Self {
        PerUnit {
            scale: scale.into(),
            offset: offset.into(),
        }
    }
}

impl From<*const u16> for PerUnit<In<u16, ()>> {
    fn from(scale: *const u16) -> Self {
        PerUnit {
            scale: scale.into(),
            offset: In::none(),
        }
    }
}

/// The gradients of a quantizer without offsets.
impl<G, L: Len> From<Out<G, L>> for PerUnit<Out<G, L>> {
    fn from(scale: Out<G, L>) -> Self {
        PerUnit {
            scale,
            offset: Out::none(),
        }
    }
}

impl<G> From<*mut G> for PerUnit<Out<G, ()>> {
    fn from(scale: *mut G) -> Self {
        PerUnit {
            scale: scale.into(),
            offset: Out::none(),
        }
    }
}

/// Which of a quantizer's elementwise kernels a call runs: [`Forward`],
/// [`Quantize`] or [`Dequantize`], with what each checks beyond the rest.
pub(crate) trait Map<Q: Quantizer, T: Data> {
    /// What the kernel reads: weights `T`, or codes.
    type In: Copy;
    /// What it writes: values `T`, or codes.
    type Out: Copy;
    /// What the C header calls the buffer it reads.
    const INPUT: Argument;
    /// What the C header calls the buffer it writes.
    const OUTPUT: Argument;
    /// The kernel.
    type Kernel: Kernel<Args = MapArgs<Q, Self::In, Self::Out>, Output = ()>;
    /// The parameters' validation.
    fn validate<P: Params<Quant = Q>>(params: &P) -> Result<Q, Error>;
    /// The last check, of the buffers' contents, before anything is
    /// written; its scans run on `backend`'s ISA.
    ///
    /// # Safety
    /// The buffers are valid for their lengths, and the CPU runs `backend`'s
    /// ISA.
    unsafe fn check(
        _backend: Backend,
        _args: &MapArgs<Q, Self::In, Self::Out>,
    ) -> Result<(), Error> {
        Ok(())
    }
}

/// The forward pass: weights to fake-quantized values.
pub(crate) enum Forward {}

impl<Q: Quantizer, T: Data> Map<Q, T> for Forward {
    type In = T;
    type Out = T;
    const INPUT: Argument = Argument::Weight;
    const OUTPUT: Argument = Argument::Out;
    type Kernel = Q::Forward<T>;
    fn validate<P: Params<Quant = Q>>(params: &P) -> Result<Q, Error> {
        params.validate()
    }
}

/// Export: weights to integer codes, refused where a weight has none.
pub(crate) enum Quantize {}

impl<Q: Quantizer, T: Data> Map<Q, T> for Quantize {
    type In = T;
    type Out = Q::Code;
    const INPUT: Argument = Argument::Weight;
    const OUTPUT: Argument = Argument::Codes;
    type Kernel = Q::Quantize<T>;
    fn validate<P: Params<Quant = Q>>(params: &P) -> Result<Q, Error> {
        params.validate_for_codes()
    }
    unsafe fn check(backend: Backend, args: &MapArgs<Q, T, Q::Code>) -> Result<(), Error> {
        // SAFETY: the caller's.
        unsafe { Q::codes_exist(backend, args) }
    }
}

/// Codes back to values, refused where a code is off the grid.
pub(crate) enum Dequantize {}

impl<Q: Quantizer, T: Data> Map<Q, T> for Dequantize {
    type In = Q::Code;
    type Out = T;
    const INPUT: Argument = Argument::Codes;
    const OUTPUT: Argument = Argument::Out;
    type Kernel = Q::Dequantize<T>;
    fn validate<P: Params<Quant = Q>>(params: &P) -> Result<Q, Error> {
        params.validate_for_codes()
    }
    unsafe fn check(backend: Backend, args: &MapArgs<Q, Q::Code, T>) -> Result<(), Error> {
        // SAFETY: the caller's.
        unsafe { Q::codes_on_grid(backend, args) }
    }
}

/// Where a backward call on data `T` puts its sums: finished into
/// gradients ([`PerUnit`] of outputs `G`), or left as f64 block values for
/// shards to combine (`Out<f64, _>`, `2 * block_count(len)` per unit). The
/// choice is a type, and picks the kernel: an entry point links only the
/// one it runs.
trait BackwardSums<Q: Quantizer, T: Data>: Copy {
    /// The type of the finished gradients.
    type Grad: Data;
    /// The backward kernel that fills these sums.
    type Kernel: Kernel<Args = BackwardArgs<Q, T, Self::Grad>, Output = ()>;
    /// The buffers as the checks see them. Made inside the checks, so that
    /// they take no room in the frame the kernel runs under.
    fn buffers(self, shape: Shape) -> [Buffer; 2];
    /// Sets the kernel's arguments for these sums.
    fn place(self, args: &mut BackwardArgs<Q, T, Self::Grad>);
    /// A one-unit call (`args`, placed) across the caller's thread pool
    /// (`pool::blocks`), its sums finished as the kernel would; `false`,
    /// nothing done, where it does not split.
    ///
    /// # Safety
    /// As [`Backend::run`], for `args`.
    unsafe fn split(self, backend: Backend, args: &BackwardArgs<Q, T, Self::Grad>) -> bool;
}

impl<Q: Quantizer, T: Data, G: Data, L: Len> BackwardSums<Q, T> for PerUnit<Out<G, L>> {
    type Grad = G;
    type Kernel = Q::Backward<T, G>;
    fn buffers(self, shape: Shape) -> [Buffer; 2] {
        [
            output(Argument::GradScale, self.scale, shape.units),
            output(
                Argument::GradOffset,
                self.offset,
                if Q::OFFSETS { shape.units } else { 0 },
            ),
        ]
    }
    fn place(self, args: &mut BackwardArgs<Q, T, G>) {
        (args.grad_scale, args.grad_offset) = (self.scale.ptr, self.offset.ptr);
    }
    unsafe fn split(self, backend: Backend, args: &BackwardArgs<Q, T, G>) -> bool {
        let mut totals = Totals::ZERO;
        // SAFETY: the caller's; the scale is read after every task is done.
        unsafe {
            if !pool::blocks(backend, args, &mut totals) {
                return false;
            }
            gradients(
                args.quant,
                args.scale,
                totals.values(),
                self.scale.ptr,
                self.offset.ptr,
            );
        }
        true
    }
}

impl<Q: Quantizer, T: Data, L: Len> BackwardSums<Q, T> for Out<f64, L> {
    type Grad = T;
    type Kernel = Q::BackwardBlocks<T>;
    fn buffers(self, shape: Shape) -> [Buffer; 2] {
        [
            output(Argument::BlockSums, self, shape.block_values()),
            output(Argument::GradOffset, Out::<u16, L>::none(), 0),
        ]
    }
    fn place(self, args: &mut BackwardArgs<Q, T, T>) {
        args.block_sums = Some(self.ptr);
    }
    unsafe fn split(self, backend: Backend, args: &BackwardArgs<Q, T, T>) -> bool {
        let mut values = BlockValues {
            out: self.ptr,
            blocks: block_count(args.len),
        };
        // SAFETY: the caller's.
        unsafe { pool::blocks(backend, args, &mut values) }
    }
}

/// One call: where it comes from (`B`), the backend it runs on, its shape
/// (an error the call reports in its place among the checks), and its
/// parameters.
pub(crate) struct Call<B, P> {
    pub backend: Backend,
    pub shape: Result<Shape, Error>,
    pub params: P,
    pub boundary: PhantomData<B>,
}

impl<B: Boundary, P> Call<B, P> {
    /// A call on `backend` with this shape and these parameters.
    pub fn new(backend: Backend, shape: Result<Shape, Error>, params: P) -> Self {
        Call {
            backend,
            shape,
            params,
            boundary: PhantomData,
        }
    }
}

impl<B: Boundary, P: Params> Call<B, P> {
    /// The count of offsets: one per unit where the quantizer has them.
    fn offsets(shape: Shape) -> usize {
        if P::Quant::OFFSETS {
            shape.units
        } else {
            0
        }
    }

    /// The forward pass.
    ///
    /// # Safety
    /// Each buffer that passes `B`'s checks is valid for its count of
    /// elements (the shape's); with [`Slices`], it also satisfies what
    /// those checks skip. So for every method.
    pub unsafe fn forward<T: Data>(
        self,
        weight: impl Into<In<T, B::Len>>,
        scales: impl Into<PerUnit<In<u16, B::Len>>>,
        out: impl Into<Out<T, B::Len>>,
    ) -> B::Status {
        // SAFETY: the caller's.
        B::status(unsafe { self.map::<T, Forward>(weight.into(), scales.into(), out.into()) })
    }

    /// Export to integer codes.
    ///
    /// # Safety
    /// As [`Call::forward`].
    pub unsafe fn quantize<T: Data>(
        self,
        weight: impl Into<In<T, B::Len>>,
        scales: impl Into<PerUnit<In<u16, B::Len>>>,
        codes: impl Into<Out<<P::Quant as Quantizer>::Code, B::Len>>,
    ) -> B::Status {
        // SAFETY: the caller's.
        B::status(unsafe { self.map::<T, Quantize>(weight.into(), scales.into(), codes.into()) })
    }

    /// The values of codes.
    ///
    /// # Safety
    /// As [`Call::forward`].
    pub unsafe fn dequantize<T: Data>(
        self,
        codes: impl Into<In<<P::Quant as Quantizer>::Code, B::Len>>,
        scales: impl Into<PerUnit<In<u16, B::Len>>>,
        out: impl Into<Out<T, B::Len>>,
    ) -> B::Status {
        // SAFETY: the caller's.
        B::status(unsafe { self.map::<T, Dequantize>(codes.into(), scales.into(), out.into()) })
    }

    /// # Safety
    /// As [`Call::forward`].
    unsafe fn map<T: Data, M: Map<P::Quant, T>>(
        self,
        input_: In<M::In, B::Len>,
        scales: PerUnit<In<u16, B::Len>>,
        output_: Out<M::Out, B::Len>,
    ) -> Result<(), Error> {
        fpenv::with_default(move || {
            let shape = self.shape?;
            let quant = B::check(
                || {
                    [
                        input(M::INPUT, input_, shape.numel()),
                        input(Argument::Scale, scales.scale, shape.units),
                        input(Argument::Offset, scales.offset, Self::offsets(shape)),
                        output(M::OUTPUT, output_, shape.numel()),
                    ]
                },
                || M::validate(&self.params),
            )?;
            let args = MapArgs {
                input: input_.ptr,
                scale: scales.scale.ptr,
                offset: scales.offset.ptr,
                output: output_.ptr,
                units: shape.units,
                len: shape.len,
                quant,
            };
            // SAFETY: pointers valid (caller) and overlapping only as exact
            // aliases (checked, or slices); the backend's ISA runs here (its
            // contract), and the contents' check it needs comes first.
            unsafe {
                M::check(self.backend, &args)?;
                pool::run::<M::Kernel>(self.backend, &args)
            };
            Ok(())
        })
    }

    /// The backward pass: the weight gradient, and each unit's scale
    /// gradient (and offset gradient).
    ///
    /// # Safety
    /// As [`Call::forward`].
    pub unsafe fn backward<T: Data, G: Data>(
        self,
        grad_output: impl Into<In<T, B::Len>>,
        weight: impl Into<In<T, B::Len>>,
        scales: impl Into<PerUnit<In<u16, B::Len>>>,
        grad_weight: impl Into<Out<T, B::Len>>,
        grad_scales: impl Into<PerUnit<Out<G, B::Len>>>,
    ) -> B::Status {
        let (g, w, s, gw) = (
            grad_output.into(),
            weight.into(),
            scales.into(),
            grad_weight.into(),
        );
        // SAFETY: the caller's.
        B::status(unsafe { self.backward_into(g, w, s, gw, grad_scales.into()) })
    }

    /// The backward pass for a shard: the weight gradient, and each unit's
    /// two sums as block values.
    ///
    /// # Safety
    /// As [`Call::forward`].
    pub unsafe fn backward_blocks<T: Data>(
        self,
        grad_output: impl Into<In<T, B::Len>>,
        weight: impl Into<In<T, B::Len>>,
        scales: impl Into<PerUnit<In<u16, B::Len>>>,
        grad_weight: impl Into<Out<T, B::Len>>,
        block_sums: impl Into<Out<f64, B::Len>>,
    ) -> B::Status {
        let (g, w, s, gw) = (
            grad_output.into(),
            weight.into(),
            scales.into(),
            grad_weight.into(),
        );
        // SAFETY: the caller's.
        B::status(unsafe { self.backward_into(g, w, s, gw, block_sums.into()) })
    }

    /// # Safety
    /// As [`Call::forward`].
    unsafe fn backward_into<T: Data, S: BackwardSums<P::Quant, T>>(
        self,
        grad_output: In<T, B::Len>,
        weight: In<T, B::Len>,
        scales: PerUnit<In<u16, B::Len>>,
        grad_weight: Out<T, B::Len>,
        sums: S,
    ) -> Result<(), Error> {
        fpenv::with_default(move || {
            let shape = self.shape?;
            let quant = B::check(
                || {
                    let [sums_a, sums_b] = sums.buffers(shape);
                    [
                        input(Argument::GradOutput, grad_output, shape.numel()),
                        input(Argument::Weight, weight, shape.numel()),
                        input(Argument::Scale, scales.scale, shape.units),
                        input(Argument::Offset, scales.offset, Self::offsets(shape)),
                        output(Argument::GradWeight, grad_weight, shape.numel()),
                        sums_a,
                        sums_b,
                    ]
                },
                || self.params.validate(),
            )?;
            let mut args = BackwardArgs {
                grad_output: grad_output.ptr,
                weight: weight.ptr,
                scale: scales.scale.ptr,
                offset: scales.offset.ptr,
                grad_weight: grad_weight.ptr,
                grad_scale: core::ptr::null_mut(),
                grad_offset: core::ptr::null_mut(),
                block_sums: None,
                units: shape.units,
                len: shape.len,
                quant,
            };
            sums.place(&mut args);
            // SAFETY: as in `map`.
            unsafe {
                if shape.units == 1 && sums.split(self.backend, &args) {
                    return Ok(());
                }
                pool::run::<S::Kernel>(self.backend, &args)
            };
            Ok(())
        })
    }

    /// The scale (and offset) gradients that one backward call gives, from
    /// the units' block values (the shards' values combined).
    ///
    /// # Safety
    /// As [`Call::forward`].
    pub unsafe fn finish<G: Data>(
        self,
        block_sums: impl Into<In<f64, B::Len>>,
        scale: impl Into<In<u16, B::Len>>,
        grad_scales: impl Into<PerUnit<Out<G, B::Len>>>,
    ) -> B::Status {
        let (block_sums, scale, grads) = (block_sums.into(), scale.into(), grad_scales.into());
        B::status(fpenv::with_default(move || {
            let shape = self.shape?;
            let quant = B::check(
                || {
                    [
                        input(Argument::BlockSums, block_sums, shape.block_values()),
                        input(Argument::Scale, scale, shape.units),
                        output(Argument::GradScale, grads.scale, shape.units),
                        output(Argument::GradOffset, grads.offset, Self::offsets(shape)),
                    ]
                },
                || self.params.validate(),
            )?;
            let blocks = block_count(shape.len);
            for unit in 0..shape.units {
                // SAFETY: valid for their counts (caller), overlapping only
                // in place; unit < units, and scale[unit] is read before
                // grad_scale[unit], which may be the same buffer, is written.
                unsafe {
                    let sums = totals(block_sums.ptr.add(unit * 2 * blocks), blocks);
                    gradients(
                        quant,
                        scale.ptr.add(unit),
                        sums,
                        grads.scale.ptr.add(unit),
                        // Null (never written) without offsets.
                        grads.offset.ptr.wrapping_add(unit),
                    );
                }
            }
            Ok(())
        }))
    }

    /// Calibration: each unit's scale (and offset). `mode` is checked
    /// first (`Mode` for none), the weights' finiteness last
    /// ([`Status::NonFinite`](crate::Status::NonFinite), nothing written).
    ///
    /// # Safety
    /// As [`Call::forward`].
    pub unsafe fn calibrate<T: Data>(
        self,
        weight: impl Into<In<T, B::Len>>,
        scales: impl Into<PerUnit<Out<u16, B::Len>>>,
        mode: Option<Calibration>,
    ) -> B::Status {
        let (weight, scales) = (weight.into(), scales.into());
        B::status(fpenv::with_default(move || {
            let mode = mode.ok_or(Error::new(Argument::Mode, Rule::UnknownMode))?;
            let shape = self.shape?;
            let quant = B::check(
                || {
                    [
                        input(Argument::Weight, weight, shape.numel()),
                        output(Argument::Scale, scales.scale, shape.units),
                        output(Argument::Offset, scales.offset, Self::offsets(shape)),
                    ]
                },
                || self.params.validate(),
            )?;
            let args = CalibrateArgs {
                weight: weight.ptr,
                scale: scales.scale.ptr,
                offset: scales.offset.ptr,
                units: shape.units,
                len: shape.len,
                quant,
                mode,
            };
            // SAFETY: valid and not overlapping (caller, checked); the
            // backend's ISA runs here, and the weights are finite before
            // anything is written.
            unsafe {
                let weights = scan::elements(weight.ptr, shape.numel());
                if !scan::all_finite(self.backend, weights) {
                    return Err(Error::new(Argument::Weight, Rule::NotFinite));
                }
                pool::run::<<P::Quant as Quantizer>::Calibrate<T>>(self.backend, &args);
            }
            Ok(())
        }))
    }
}

/// A unit's scale (and offset) gradients from its two sums, written
/// after its scale is read (`grad_scale` may be `scale`).
///
/// # Safety
/// The pointers are valid for one value (`grad_offset` where the
/// quantizer has offsets).
unsafe fn gradients<Q: Quantizer, G: Data>(
    quant: Q,
    scale: *const u16,
    sums: [f32; 2],
    grad_scale: *mut G,
    grad_offset: *mut G,
) {
    // SAFETY: the caller's.
    unsafe {
        let [scale_grad, offset_grad] = quant.finish(widen(scale.read()), sums);
        grad_scale.write(G::narrow(scale_grad));
        if Q::OFFSETS {
            grad_offset.write(G::narrow(offset_grad));
        }
    }
}

/// The one-call result of a unit's two sums from its block values at
/// `values`: the first sum's `blocks` values, then the second's.
///
/// # Safety
/// `values` is valid for reading `2 * blocks` values.
unsafe fn totals(values: *const f64, blocks: usize) -> [f32; 2] {
    let mut totals = Totals::ZERO;
    for i in 0..blocks {
        // SAFETY: i and blocks + i are below 2 * blocks (caller).
        unsafe { totals.block(i, values.add(i).read(), values.add(blocks + i).read()) };
    }
    totals.values()
}
