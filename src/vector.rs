//! The lane types the kernels are written against, and the proof that makes
//! them: [`Lanes`] (f32 arithmetic), [`Memory`] (loads and stores of bf16
//! values and of [`Code`]s, the [`Element`]s of buffers),
//! [`Vector`] (eight lanes and their f64 sums), [`Pair`] (sixteen lanes),
//! [`Lanewise`] (what a quantizer computes per weight), [`Token`], and
//! [`Divisor`] with the [`Fused`] lanes that divide by reciprocal.
//!
//! Every backend's vectors have eight lanes and every operation below gives
//! the bits of single IEEE f32 operations lane by lane (a multiply-add is
//! fused only where the product is exact, so fusing changes nothing; the
//! one exception, [`Divisor::quotient`], is proven to give the quotient's
//! bits). So a
//! kernel written once against these traits gives the same bits on every
//! backend, reductions included.
//!
//! A SIMD value can only be made from a [`Token`] of its ISA (or from another
//! value of it), and a token only by `unsafe` code that knows the CPU runs
//! the ISA: each backend's entry point (`arch::backend!`). So holding a value proves its
//! instructions can run, and the SIMD methods can be safe functions.

use half::f16;

/// Lanes in a [`Vector`].
pub(crate) const LANES: usize = 8;

/// A zero-sized proof that this CPU runs an ISA's instructions (`()` where
/// nothing needs proving).
pub(crate) trait Token: Copy {
    /// The proof, taken on trust.
    ///
    /// # Safety
    /// The CPU and OS support the ISA whose values the token makes.
    unsafe fn new_unchecked() -> Self;
}

impl Token for () {
    #[inline(always)]
    unsafe fn new_unchecked() -> Self {}
}

/// f32 lanes and the arithmetic the quantizers need: one IEEE operation per
/// lane each. Implemented by every [`Vector`] and [`Pair`], and by `f32`
/// itself (one lane).
pub(crate) trait Lanes: Copy {
    /// What it takes to make a value from nothing.
    type Token: Token;
    /// The proof a value carries (it exists, so its ISA runs here).
    fn token(self) -> Self::Token;
    /// Every lane `x`.
    fn splat(token: Self::Token, x: f32) -> Self;
    /// Every lane `x`, proven by `self`.
    #[inline(always)]
    fn splat_as(self, x: f32) -> Self {
        Self::splat(self.token(), x)
    }
    fn add(self, rhs: Self) -> Self;
    fn sub(self, rhs: Self) -> Self;
    fn mul(self, rhs: Self) -> Self;
    fn div(self, rhs: Self) -> Self;
    /// `x / b` for the divisor `b`, as [`Lanes::div`] gives it: by division
    /// here, by reciprocal on lanes with fused multiply-add
    /// ([`crate::division`]).
    #[inline(always)]
    fn divide<const R: bool>(self, divisor: &Divisor<R>) -> Self {
        self.div(self.splat_as(divisor.value()))
    }
    /// `x < lo ? lo : x`: keeps a NaN `x`, and `x` itself when equal to `lo`.
    fn max(self, lo: Self) -> Self;
    /// `x > hi ? hi : x`: keeps a NaN `x`, and `x` itself when equal to `hi`.
    fn min(self, hi: Self) -> Self;
    /// Round half to even (IEEE roundTiesToEven); keeps the sign of zero.
    fn round(self) -> Self;
    /// For `clipped`, a clamp of `x` to finite bounds: `1.0` where `x ==
    /// clipped`, NaN where `x` (so `clipped`) is NaN, else `+0.0`. That is
    /// `x == clipped ? 1 : clipped - clipped`, which a backend may compute
    /// another way, as from the class of `x - clipped` (`±0`, NaN, or other).
    fn one_where_equal(self, clipped: Self) -> Self;
    /// `x * factor + addend`, for callers whose product `x * factor` is exact
    /// or overflows to the same infinity either way, so that one rounding or
    /// two give the same bits: a backend may fuse the two operations.
    #[inline(always)]
    fn mul_add(self, factor: Self, addend: Self) -> Self {
        self.mul(factor).add(addend)
    }
    /// `addend - x * factor`, under [`Lanes::mul_add`]'s condition.
    #[inline(always)]
    fn neg_mul_add(self, factor: Self, addend: Self) -> Self {
        addend.sub(self.mul(factor))
    }
}

/// Lanes that load from and store to buffers: bf16 values, and integer codes
/// in the same lane order. A [`Vector`] moves eight elements, a [`Pair`]
/// sixteen.
pub(crate) trait Memory: Lanes {
    /// A stack buffer of one load's elements, for tails that must not touch
    /// memory past a buffer's end.
    type Staged<E: Element>: Default + AsRef<[E]> + AsMut<[E]>;

    /// Loads bf16 bit patterns and widens them exactly.
    ///
    /// # Safety
    /// `src` must be valid for reading one load's elements (2-byte alignment
    /// suffices).
    unsafe fn load(token: Self::Token, src: *const u16) -> Self;

    /// Narrows the lanes to bf16 (round to nearest even, NaN written as
    /// `0x7FC0`) and stores their bit patterns.
    ///
    /// # Safety
    /// `dst` must be valid for writing one load's elements.
    unsafe fn store(self, dst: *mut u16);

    /// Loads integer codes, converted exactly to f32, into the lanes that
    /// [`Memory::load`] puts the same elements in.
    ///
    /// # Safety
    /// `src` must be valid for reading one load's elements.
    unsafe fn load_codes<C: Code>(token: Self::Token, src: *const C) -> Self;

    /// Stores lanes holding integers in `C`'s range as codes, in the order of
    /// [`Memory::load_codes`].
    ///
    /// # Safety
    /// `dst` must be valid for writing one load's elements.
    unsafe fn store_codes<C: Code>(self, dst: *mut C);

    /// Loads f32 values as they are, into the lanes that [`Memory::load`]
    /// puts the same elements in.
    ///
    /// # Safety
    /// `src` must be valid for reading one load's elements (4-byte alignment
    /// suffices).
    unsafe fn load_f32(token: Self::Token, src: *const f32) -> Self;

    /// Stores the lanes as f32, in the order of [`Memory::load_f32`], every
    /// NaN as `0x7FC0_0000` (which NaN an operation gives depends on the
    /// hardware; the canonical one is the same everywhere, and narrows to
    /// bf16's).
    ///
    /// # Safety
    /// `dst` must be valid for writing one load's elements.
    unsafe fn store_f32(self, dst: *mut f32);
    /// Loads IEEE binary16 values, widened exactly, into the lanes that
    /// [`Memory::load`] puts the same elements in. By default through f32
    /// on the stack, one value at a time; a backend with conversion
    /// instructions converts the lanes at once (the same values: the
    /// widening is exact).
    ///
    /// # Safety
    /// `src` must be valid for reading one load's elements (2-byte
    /// alignment suffices).
    #[inline(always)]
    unsafe fn load_f16(token: Self::Token, src: *const f16) -> Self {
        let mut wide = Self::Staged::<f32>::default();
        // SAFETY: one load's elements are readable (caller).
        unsafe { widen_f16(src, wide.as_mut()) };
        // SAFETY: a local array of one load's elements.
        unsafe { Self::load_f32(token, wide.as_ref().as_ptr()) }
    }

    /// Narrows the lanes to binary16 (round to nearest even, overflow to
    /// infinity, subnormals kept, every NaN as `0x7E00`) and stores them,
    /// in the order of [`Memory::load_f16`]. By default one value at a
    /// time, as [`Memory::load_f16`].
    ///
    /// # Safety
    /// `dst` must be valid for writing one load's elements.
    #[inline(always)]
    unsafe fn store_f16(self, dst: *mut f16) {
        let mut wide = Self::Staged::<f32>::default();
        // SAFETY: a local array of one load's elements, and one load's
        // elements are writable (caller).
        unsafe {
            self.store_f32(wide.as_mut().as_mut_ptr());
            narrow_f16(wide.as_ref(), dst);
        }
    }
}

/// `wide.len()` binary16 values from `src`, widened (exact): the default
/// f16 loads, one value at a time.
///
/// # Safety
/// `src` is valid for reading `wide.len()` values.
#[inline(always)]
unsafe fn widen_f16(src: *const f16, wide: &mut [f32]) {
    for (i, w) in wide.iter_mut().enumerate() {
        // SAFETY: i < wide.len() (caller).
        *w = unsafe { src.add(i).read_unaligned() }.to_f32();
    }
}

/// `wide` narrowed to binary16 ([`Data::narrow`]) at `dst`: the default f16
/// stores, one value at a time.
///
/// # Safety
/// `dst` is valid for writing `wide.len()` values.
#[inline(always)]
unsafe fn narrow_f16(wide: &[f32], dst: *mut f16) {
    for (i, &w) in wide.iter().enumerate() {
        // SAFETY: i < wide.len() (caller).
        unsafe { dst.add(i).write_unaligned(<f16 as Data>::narrow(w)) };
    }
}

/// An integer code: `u8` (the per-group level index) or `i8` (the symmetric
/// level).
pub(crate) trait Code: Element {
    /// Whether the code is sign-extended (read by the SIMD backends'
    /// widening; a target with only the scalar backend never reads it).
    #[cfg_attr(
        not(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64")),
        allow(dead_code)
    )]
    const SIGNED: bool;
    /// The code of `x`, an integer in this type's range (the conversion
    /// truncates, which changes no integer).
    fn from_integer(x: f32) -> Self;
    /// The code as an f32 (exact).
    fn to_f32(self) -> f32;
}

impl Code for u8 {
    const SIGNED: bool = false;
    #[inline(always)]
    fn from_integer(x: f32) -> Self {
        x as u8
    }
    #[inline(always)]
    fn to_f32(self) -> f32 {
        f32::from(self)
    }
}

impl Code for i8 {
    const SIGNED: bool = true;
    #[inline(always)]
    fn from_integer(x: f32) -> Self {
        x as i8
    }
    #[inline(always)]
    fn to_f32(self) -> f32 {
        f32::from(self)
    }
}

/// What a buffer holds: bf16 bit patterns (`u16`) or codes. Each knows how
/// lanes load and store it.
pub(crate) trait Element: Copy + Default {
    /// Whether its values have at most 11 significant bits (bf16 and
    /// binary16 data), which a [`Divisor`] divides by reciprocal at any
    /// scale, as it does not every f32.
    const NARROW: bool = false;

    /// Loads one load's elements.
    ///
    /// # Safety
    /// `src` must be valid for reading one load's elements.
    unsafe fn load<M: Memory>(token: M::Token, src: *const Self) -> M;

    /// Stores one load's elements.
    ///
    /// # Safety
    /// `dst` must be valid for writing one load's elements.
    unsafe fn store<M: Memory>(lanes: M, dst: *mut Self);

    /// Loads thirty-two elements as two pairs.
    ///
    /// # Safety
    /// `src` must be valid for reading thirty-two elements.
    #[inline(always)]
    unsafe fn load_quad<V: Vector, P: Pair<V>>(token: P::Token, src: *const Self) -> [P; 2] {
        // SAFETY: thirty-two elements are readable (caller).
        unsafe {
            [
                Self::load(token, src),
                Self::load(token, src.add(2 * LANES)),
            ]
        }
    }

    /// Stores two pairs as thirty-two elements.
    ///
    /// # Safety
    /// `dst` must be valid for writing thirty-two elements.
    #[inline(always)]
    unsafe fn store_quad<V: Vector, P: Pair<V>>([first, second]: [P; 2], dst: *mut Self) {
        // SAFETY: thirty-two elements are writable (caller).
        unsafe {
            Self::store(first, dst);
            Self::store(second, dst.add(2 * LANES));
        }
    }
}

impl Element for u16 {
    const NARROW: bool = true;
    #[inline(always)]
    unsafe fn load<M: Memory>(token: M::Token, src: *const Self) -> M {
        // SAFETY: the caller's.
        unsafe { M::load(token, src) }
    }
    #[inline(always)]
    unsafe fn store<M: Memory>(lanes: M, dst: *mut Self) {
        // SAFETY: the caller's.
        unsafe { lanes.store(dst) }
    }
    #[inline(always)]
    unsafe fn load_quad<V: Vector, P: Pair<V>>(token: P::Token, src: *const Self) -> [P; 2] {
        // SAFETY: the caller's.
        unsafe { P::load_quad(token, src) }
    }
    #[inline(always)]
    unsafe fn store_quad<V: Vector, P: Pair<V>>(quad: [P; 2], dst: *mut Self) {
        // SAFETY: the caller's.
        unsafe { P::store_quad(quad, dst) }
    }
}

impl Element for f16 {
    const NARROW: bool = true;
    #[inline(always)]
    unsafe fn load<M: Memory>(token: M::Token, src: *const Self) -> M {
        // SAFETY: the caller's.
        unsafe { M::load_f16(token, src) }
    }
    #[inline(always)]
    unsafe fn store<M: Memory>(lanes: M, dst: *mut Self) {
        // SAFETY: the caller's.
        unsafe { lanes.store_f16(dst) }
    }
}

impl Element for f32 {
    #[inline(always)]
    unsafe fn load<M: Memory>(token: M::Token, src: *const Self) -> M {
        // SAFETY: the caller's.
        unsafe { M::load_f32(token, src) }
    }
    #[inline(always)]
    unsafe fn store<M: Memory>(lanes: M, dst: *mut Self) {
        // SAFETY: the caller's.
        unsafe { lanes.store_f32(dst) }
    }
}

/// What a data buffer holds (weights, activations, their gradients, the
/// fake-quantized values): bf16 bit patterns (`u16`), `f32` or IEEE
/// binary16 (`f16`). The kernels
/// compute in f32 either way: a bf16 input is one case of an f32 input, and
/// a bf16 output is the f32 result narrowed.
pub(crate) trait Data: Element {
    /// Its magnitude's bits of infinity: a value is finite exactly when its
    /// [`Data::magnitude`] is below this, and NaN when above.
    const INFINITY: u32;
    /// The value, widened exactly.
    fn widen(self) -> f32;
    /// `x` stored as this type: as [`Memory::store`] and
    /// [`Memory::store_f32`] store a lane.
    fn narrow(x: f32) -> Self;
    /// The bits of the value's magnitude (its sign cleared).
    fn magnitude(self) -> u32;
}

impl Data for u16 {
    const INFINITY: u32 = 0x7F80;
    #[inline(always)]
    fn widen(self) -> f32 {
        crate::bf16_bits::widen(self)
    }
    #[inline(always)]
    fn narrow(x: f32) -> Self {
        crate::bf16_bits::narrow(x)
    }
    #[inline(always)]
    fn magnitude(self) -> u32 {
        u32::from(self & 0x7FFF)
    }
}

impl Data for f32 {
    const INFINITY: u32 = 0x7F80_0000;
    #[inline(always)]
    fn widen(self) -> f32 {
        self
    }
    #[inline(always)]
    fn narrow(x: f32) -> Self {
        if x.is_nan() {
            f32::from_bits(0x7FC0_0000)
        } else {
            x
        }
    }
    #[inline(always)]
    fn magnitude(self) -> u32 {
        self.to_bits() & 0x7FFF_FFFF
    }
}

impl Data for f16 {
    const INFINITY: u32 = 0x7C00;
    #[inline(always)]
    fn widen(self) -> f32 {
        self.to_f32()
    }
    #[inline(always)]
    fn narrow(x: f32) -> Self {
        if x.is_nan() {
            f16::from_bits(0x7E00)
        } else {
            f16::from_f32(x)
        }
    }
    #[inline(always)]
    fn magnitude(self) -> u32 {
        u32::from(self.to_bits() & 0x7FFF)
    }
}

macro_rules! code_element {
    ($($code:ty),*) => {$(
        impl Element for $code {
            #[inline(always)]
            unsafe fn load<M: Memory>(token: M::Token, src: *const Self) -> M {
                // SAFETY: the caller's.
                unsafe { M::load_codes(token, src) }
            }
            #[inline(always)]
            unsafe fn store<M: Memory>(lanes: M, dst: *mut Self) {
                // SAFETY: the caller's.
                unsafe { lanes.store_codes(dst) }
            }
        }
    )*};
}
code_element!(u8, i8);

/// A map over a row's elements, lane by lane, and what it reads and writes:
/// a quantizer's forward pass (bf16 to bf16), its codes (bf16 to codes), or
/// the values of codes (codes to bf16).
pub(crate) trait Elementwise {
    /// What the map reads.
    type In: Element;
    /// What it writes.
    type Out: Element;
    /// The map, on every lane.
    fn map<L: Lanes>(&self, x: L) -> L;
}

/// What a quantizer computes for each weight of one group or row, written
/// once against [`Lanes`]: the row loops drive it over vectors.
pub(crate) trait Lanewise {
    /// The fake-quantized weights.
    fn forward<L: Lanes>(&self, x: L) -> L;
    /// The integer code of each weight, as an f32 lane (NaN where the weight
    /// has none).
    fn code<L: Lanes>(&self, x: L) -> L;
    /// The value of each code: `value(code(x))` is `forward(x)`, bit for
    /// bit, wherever `code(x)` is not NaN.
    fn value<L: Lanes>(&self, code: L) -> L;
    /// The first step of [`Lanewise::backward`]: the weight divided by the
    /// scale (offset first, where there is one). The whole-vector loops run
    /// it a quad ahead, so that a division's long latency overlaps the
    /// previous quad's other work instead of holding back its own.
    fn normalize<L: Lanes>(&self, x: L) -> L;
    /// The rest of [`Lanewise::backward`], from `xn = normalize(x)`.
    fn backward_normalized<L: Lanes>(&self, g: L, xn: L) -> [L; 3];
    /// `[grad_weight, a, b]` for output gradient `g` and weight `x`, where `a`
    /// and `b` are the terms of the quantizer's two sums, each already
    /// multiplied by the reduction order's `TERM_SCALE` (in f32, after the
    /// term's own operations; see `kernels::reduction`).
    #[inline(always)]
    fn backward<L: Lanes>(&self, g: L, x: L) -> [L; 3] {
        self.backward_normalized(g, self.normalize(x))
    }
}

/// A quantizer by reference is the quantizer.
impl<Q: Lanewise> Lanewise for &Q {
    #[inline(always)]
    fn forward<L: Lanes>(&self, x: L) -> L {
        (**self).forward(x)
    }
    #[inline(always)]
    fn code<L: Lanes>(&self, x: L) -> L {
        (**self).code(x)
    }
    #[inline(always)]
    fn value<L: Lanes>(&self, code: L) -> L {
        (**self).value(code)
    }
    #[inline(always)]
    fn normalize<L: Lanes>(&self, x: L) -> L {
        (**self).normalize(x)
    }
    #[inline(always)]
    fn backward_normalized<L: Lanes>(&self, g: L, xn: L) -> [L; 3] {
        (**self).backward_normalized(g, xn)
    }
}

/// Eight f32 lanes: sums on top of [`Lanes`] and [`Memory`].
///
/// Implementations are `#[inline(always)]` and carry no `#[target_feature]`:
/// they inline into the kernel entry points of their ISA, which do (the memchr
/// pattern).
pub(crate) trait Vector: Memory {
    /// Eight f64 lane accumulators for reductions.
    type Sum: Copy;

    /// Whether the row loops get extra loops over whole vectors (octets and a
    /// last quad in backward, quads and a last pair in forward), free of tail
    /// checks and able to use a wide [`Pair`]: faster, but more code. (The
    /// scalar backend on 32-bit Arm says no: code size counts more on a
    /// Cortex-M.)
    const WHOLE_VECTOR_LOOPS: bool = true;

    /// Whether the whole-vector backward loops normalize each quad a quad
    /// ahead (see [`Lanewise::normalize`]): a win where a division's latency
    /// can hide behind other vector work. The scalar backend, whose lanes
    /// are loops of scalar code, says no: there it only adds stack traffic.
    const NORMALIZE_AHEAD: bool = true;

    /// The first `n` lanes (`n < LANES`) kept, the others set to `+0.0`.
    fn first(self, n: usize) -> Self;

    /// A vector of these lanes.
    fn from_array(token: Self::Token, lanes: [f32; LANES]) -> Self;

    /// The lanes as an array.
    fn to_array(self) -> [f32; LANES];

    /// Loads sixteen elements into two vectors, for [`Two`]: by default the
    /// first eight, then the next eight. A backend may spread them over the
    /// lanes in another order, which its [`Vector::store_pair`] and
    /// [`Vector::octet_sum`] then undo.
    ///
    /// # Safety
    /// `src` must be valid for reading sixteen `u16`.
    #[inline(always)]
    unsafe fn load_pair(token: Self::Token, src: *const u16) -> [Self; 2] {
        // SAFETY: sixteen elements are readable (caller).
        unsafe { [Self::load(token, src), Self::load(token, src.add(LANES))] }
    }

    /// Narrows and stores two vectors from [`Vector::load_pair`]'s order.
    ///
    /// # Safety
    /// `dst` must be valid for writing sixteen `u16`.
    #[inline(always)]
    unsafe fn store_pair(pair: [Self; 2], dst: *mut u16) {
        // SAFETY: sixteen elements are writable (caller).
        unsafe {
            pair[0].store(dst);
            pair[1].store(dst.add(LANES));
        }
    }

    /// Loads sixteen codes into two vectors, in [`Vector::load_pair`]'s order.
    ///
    /// # Safety
    /// `src` must be valid for reading sixteen codes.
    #[inline(always)]
    unsafe fn load_codes_pair<C: Code>(token: Self::Token, src: *const C) -> [Self; 2] {
        // SAFETY: sixteen codes are readable (caller).
        unsafe {
            [
                Self::load_codes(token, src),
                Self::load_codes(token, src.add(LANES)),
            ]
        }
    }

    /// Stores two vectors in [`Vector::load_pair`]'s order as sixteen codes.
    ///
    /// # Safety
    /// `dst` must be valid for writing sixteen codes.
    #[inline(always)]
    unsafe fn store_codes_pair<C: Code>(pair: [Self; 2], dst: *mut C) {
        // SAFETY: sixteen codes are writable (caller).
        unsafe {
            pair[0].store_codes(dst);
            pair[1].store_codes(dst.add(LANES));
        }
    }

    /// Loads sixteen f32 values into two vectors, in [`Vector::load_pair`]'s
    /// order.
    ///
    /// # Safety
    /// `src` must be valid for reading sixteen f32.
    #[inline(always)]
    unsafe fn load_f32_pair(token: Self::Token, src: *const f32) -> [Self; 2] {
        // SAFETY: sixteen elements are readable (caller).
        unsafe {
            [
                Self::load_f32(token, src),
                Self::load_f32(token, src.add(LANES)),
            ]
        }
    }

    /// Loads sixteen binary16 values into two vectors, in
    /// [`Vector::load_pair`]'s order: by default widened through f32 on the
    /// stack.
    ///
    /// # Safety
    /// `src` must be valid for reading sixteen f16.
    #[inline(always)]
    unsafe fn load_f16_pair(token: Self::Token, src: *const f16) -> [Self; 2] {
        let mut wide = [0f32; 2 * LANES];
        // SAFETY: sixteen elements are readable (caller); a local array.
        unsafe {
            widen_f16(src, &mut wide);
            Self::load_f32_pair(token, wide.as_ptr())
        }
    }

    /// Stores two vectors in [`Vector::load_pair`]'s order as sixteen
    /// binary16 values, narrowed as [`Memory::store_f16`] narrows.
    ///
    /// # Safety
    /// `dst` must be valid for writing sixteen f16.
    #[inline(always)]
    unsafe fn store_f16_pair(pair: [Self; 2], dst: *mut f16) {
        let mut wide = [0f32; 2 * LANES];
        // SAFETY: a local array of sixteen, and sixteen elements are
        // writable (caller).
        unsafe {
            Self::store_f32_pair(pair, wide.as_mut_ptr());
            narrow_f16(&wide, dst);
        }
    }

    /// Stores two vectors in [`Vector::load_pair`]'s order as sixteen f32.
    ///
    /// # Safety
    /// `dst` must be valid for writing sixteen f32.
    #[inline(always)]
    unsafe fn store_f32_pair(pair: [Self; 2], dst: *mut f32) {
        // SAFETY: sixteen elements are writable (caller).
        unsafe {
            pair[0].store_f32(dst);
            pair[1].store_f32(dst.add(LANES));
        }
    }

    /// The octet sum `((v0 + v4) + (v2 + v6)) + ((v1 + v5) + (v3 + v7))` of
    /// vectors `v0..v8`, given as four pairs `[v0, v1]` to `[v6, v7]`, each
    /// in [`Vector::load_pair`]'s order.
    #[inline(always)]
    fn octet_sum([[v0, v1], [v2, v3], [v4, v5], [v6, v7]]: [[Self; 2]; 4]) -> Self {
        (v0.add(v4).add(v2.add(v6))).add(v1.add(v5).add(v3.add(v7)))
    }

    /// Eight f64 accumulators, all `+0.0`.
    fn sum_zero(token: Self::Token) -> Self::Sum;
    /// Adds each lane, widened to f64, to its accumulator.
    fn sum_add(sum: Self::Sum, terms: Self) -> Self::Sum;
    /// The accumulators combined as `((l0+l4)+(l2+l6)) + ((l1+l5)+(l3+l7))`.
    fn sum_lanes(sum: Self::Sum) -> f64;

    /// An elementwise map on every lane. The SIMD backends run it on the
    /// whole vector; a backend may instead run it lane by lane (same bits).
    #[inline(always)]
    fn apply(map: &impl Elementwise, x: Self) -> Self {
        map.map(x)
    }

    /// A quantizer's backward on every lane, as [`Vector::apply`].
    #[inline(always)]
    fn apply_backward(quantizer: &impl Lanewise, g: Self, x: Self) -> [Self; 3] {
        quantizer.backward(g, x)
    }
}

/// Two consecutive vectors, `[first, second]`, as one value: the whole-vector
/// loops move pairs, a quarter of an octet of the reduction order. A backend
/// with 16-lane registers holds a pair in one register; the others use
/// [`Two`].
///
/// The pair also owns the reduction's eight f64 lane accumulators, so that a
/// wide backend can keep them in one register too.
pub(crate) trait Pair<V: Vector>: Memory {
    /// Eight f64 lane accumulators.
    type Sum: Copy;

    /// The proof of the pair's ISA is one of its vectors' too.
    fn vector_token(token: Self::Token) -> V::Token;

    /// Loads thirty-two bf16 bit patterns as two pairs, widened.
    ///
    /// # Safety
    /// `src` must be valid for reading thirty-two `u16`.
    #[inline(always)]
    unsafe fn load_quad(token: Self::Token, src: *const u16) -> [Self; 2] {
        // SAFETY: thirty-two elements are readable (caller).
        unsafe {
            [
                Self::load(token, src),
                Self::load(token, src.add(2 * LANES)),
            ]
        }
    }

    /// Narrows and stores two pairs, as [`Memory::store`].
    ///
    /// # Safety
    /// `dst` must be valid for writing thirty-two `u16`.
    #[inline(always)]
    unsafe fn store_quad(quad: [Self; 2], dst: *mut u16) {
        // SAFETY: thirty-two elements are writable (caller).
        unsafe {
            quad[0].store(dst);
            quad[1].store(dst.add(2 * LANES));
        }
    }

    /// Eight f64 accumulators, all `+0.0`.
    fn sum_zero(token: Self::Token) -> Self::Sum;
    /// Adds the octet sum of the pairs `[v0, v1]` to `[v6, v7]`,
    /// `((v0 + v4) + (v2 + v6)) + ((v1 + v5) + (v3 + v7))` in f32 lane by
    /// lane, widened to f64, to the accumulators.
    fn sum_add(sum: Self::Sum, octet: [Self; 4]) -> Self::Sum;
    /// Adds eight terms, widened to f64, to the accumulators: an octet sum the
    /// caller formed.
    fn sum_add_vector(sum: Self::Sum, terms: V) -> Self::Sum;
    /// The accumulators combined as `((l0+l4)+(l2+l6)) + ((l1+l5)+(l3+l7))`.
    fn sum_lanes(sum: Self::Sum) -> f64;

    /// Whether kernels should finish the sums of short rows eight at a time
    /// with [`Pair::sum_pairs_of_8`]: worth it where that combines the lanes
    /// of eight pairs of sums in fewer instructions than sixteen calls of
    /// [`Pair::sum_lanes`] (and where eight pairs of accumulators on the
    /// stack do not matter).
    const SUMS_EIGHT_AT_ONCE: bool = false;

    /// The two sums of one row, as [`Pair::sum_pair`] prepares them for
    /// [`Pair::sum_pairs_of_8`].
    type SumPair: Copy;

    /// The lane accumulators of a row's two sums, `first` and `second`,
    /// prepared for [`Pair::sum_pairs_of_8`]: a backend may start the lane
    /// tree there, while the row's work still runs.
    fn sum_pair(first: Self::Sum, second: Self::Sum) -> Self::SumPair;

    /// [`Pair::sum_lanes`] of eight rows' pairs of sums, each multiplied by
    /// `factor` in f64 and rounded to f32: the first sums in the first
    /// vector, the second sums in the second, row `k` in lane `k` of each.
    fn sum_pairs_of_8(token: Self::Token, pairs: &[Self::SumPair; 8], factor: f64) -> Self;

    /// The pair `[first, second]`, in memory order: [`Memory::store`] writes
    /// `first`'s lanes as the first eight elements, and [`Memory::load`]
    /// reads them into `first`. (For [`Two`] that holds where
    /// [`Vector::load_pair`] keeps memory order, as its default does; the
    /// kernels join and split pairs only where [`Pair::SUMS_EIGHT_AT_ONCE`]
    /// is set, which `Two` does not set.)
    fn join(token: Self::Token, first: V, second: V) -> Self;

    /// The pair's two vectors, `[first, second]`, as [`Pair::join`] takes them.
    fn split(self) -> [V; 2];
}

/// A pair as two vectors, its sixteen elements spread over them as the
/// backend's [`Vector::load_pair`] does.
#[derive(Clone, Copy)]
pub(crate) struct Two<V>(V, V);

impl<V: Lanes> Two<V> {
    #[inline(always)]
    fn each(self, f: impl Fn(V) -> V) -> Self {
        Two(f(self.0), f(self.1))
    }

    #[inline(always)]
    fn both(self, rhs: Self, f: impl Fn(V, V) -> V) -> Self {
        Two(f(self.0, rhs.0), f(self.1, rhs.1))
    }

    #[inline(always)]
    fn all_three(self, b: Self, c: Self, f: impl Fn(V, V, V) -> V) -> Self {
        Two(f(self.0, b.0, c.0), f(self.1, b.1, c.1))
    }
}

impl<V: Lanes> Lanes for Two<V> {
    type Token = V::Token;
    #[inline(always)]
    fn token(self) -> Self::Token {
        self.0.token()
    }
    #[inline(always)]
    fn splat(token: Self::Token, x: f32) -> Self {
        Two(V::splat(token, x), V::splat(token, x))
    }
    #[inline(always)]
    fn add(self, rhs: Self) -> Self {
        self.both(rhs, V::add)
    }
    #[inline(always)]
    fn sub(self, rhs: Self) -> Self {
        self.both(rhs, V::sub)
    }
    #[inline(always)]
    fn mul(self, rhs: Self) -> Self {
        self.both(rhs, V::mul)
    }
    #[inline(always)]
    fn div(self, rhs: Self) -> Self {
        self.both(rhs, V::div)
    }
    #[inline(always)]
    fn divide<const R: bool>(self, divisor: &Divisor<R>) -> Self {
        // Not through `each`: a closure is not inlined as surely, and out of
        // line the SIMD intrinsics would be calls.
        Two(self.0.divide(divisor), self.1.divide(divisor))
    }
    #[inline(always)]
    fn max(self, lo: Self) -> Self {
        self.both(lo, V::max)
    }
    #[inline(always)]
    fn min(self, hi: Self) -> Self {
        self.both(hi, V::min)
    }
    #[inline(always)]
    fn round(self) -> Self {
        self.each(V::round)
    }
    #[inline(always)]
    fn one_where_equal(self, clipped: Self) -> Self {
        self.both(clipped, V::one_where_equal)
    }
    #[inline(always)]
    fn mul_add(self, factor: Self, addend: Self) -> Self {
        self.all_three(factor, addend, V::mul_add)
    }
    #[inline(always)]
    fn neg_mul_add(self, factor: Self, addend: Self) -> Self {
        self.all_three(factor, addend, V::neg_mul_add)
    }
}

impl<V: Vector> Memory for Two<V> {
    type Staged<E: Element> = [E; 2 * LANES];

    #[inline(always)]
    unsafe fn load(token: Self::Token, src: *const u16) -> Self {
        // SAFETY: sixteen elements are readable (caller).
        let [first, second] = unsafe { V::load_pair(token, src) };
        Two(first, second)
    }
    #[inline(always)]
    unsafe fn store(self, dst: *mut u16) {
        // SAFETY: sixteen elements are writable (caller).
        unsafe { V::store_pair([self.0, self.1], dst) }
    }
    #[inline(always)]
    unsafe fn load_codes<C: Code>(token: Self::Token, src: *const C) -> Self {
        // SAFETY: sixteen codes are readable (caller).
        let [first, second] = unsafe { V::load_codes_pair(token, src) };
        Two(first, second)
    }
    #[inline(always)]
    unsafe fn store_codes<C: Code>(self, dst: *mut C) {
        // SAFETY: sixteen codes are writable (caller).
        unsafe { V::store_codes_pair([self.0, self.1], dst) }
    }
    #[inline(always)]
    unsafe fn load_f32(token: Self::Token, src: *const f32) -> Self {
        // SAFETY: sixteen elements are readable (caller).
        let [first, second] = unsafe { V::load_f32_pair(token, src) };
        Two(first, second)
    }
    #[inline(always)]
    unsafe fn store_f32(self, dst: *mut f32) {
        // SAFETY: sixteen elements are writable (caller).
        unsafe { V::store_f32_pair([self.0, self.1], dst) }
    }
    #[inline(always)]
    unsafe fn load_f16(token: Self::Token, src: *const f16) -> Self {
        // SAFETY: sixteen elements are readable (caller).
        let [first, second] = unsafe { V::load_f16_pair(token, src) };
        Two(first, second)
    }
    #[inline(always)]
    unsafe fn store_f16(self, dst: *mut f16) {
        // SAFETY: sixteen elements are writable (caller).
        unsafe { V::store_f16_pair([self.0, self.1], dst) }
    }
}

impl<V: Vector> Pair<V> for Two<V> {
    type Sum = V::Sum;

    #[inline(always)]
    fn vector_token(token: Self::Token) -> V::Token {
        token
    }
    #[inline(always)]
    fn sum_zero(token: Self::Token) -> Self::Sum {
        V::sum_zero(token)
    }
    #[inline(always)]
    fn sum_add(sum: Self::Sum, [p0, p1, p2, p3]: [Self; 4]) -> Self::Sum {
        let octet = [[p0.0, p0.1], [p1.0, p1.1], [p2.0, p2.1], [p3.0, p3.1]];
        V::sum_add(sum, V::octet_sum(octet))
    }
    #[inline(always)]
    fn sum_add_vector(sum: Self::Sum, terms: V) -> Self::Sum {
        V::sum_add(sum, terms)
    }
    #[inline(always)]
    fn sum_lanes(sum: Self::Sum) -> f64 {
        V::sum_lanes(sum)
    }

    type SumPair = [V::Sum; 2];

    #[inline(always)]
    fn sum_pair(first: Self::Sum, second: Self::Sum) -> Self::SumPair {
        [first, second]
    }
    #[inline(always)]
    fn sum_pairs_of_8(token: Self::Token, pairs: &[Self::SumPair; 8], factor: f64) -> Self {
        let mut lanes = [[0.0; LANES]; 2];
        for (k, pair) in pairs.iter().enumerate() {
            for (half, &sum) in lanes.iter_mut().zip(pair) {
                half[k] = (V::sum_lanes(sum) * factor) as f32;
            }
        }
        Two(
            V::from_array(token, lanes[0]),
            V::from_array(token, lanes[1]),
        )
    }
    #[inline(always)]
    fn join(_: Self::Token, first: V, second: V) -> Self {
        Two(first, second)
    }
    #[inline(always)]
    fn split(self) -> [V; 2] {
        [self.0, self.1]
    }
}

/// `2^k` as an f32, for `-126 <= k <= 127`.
#[cfg(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64"))]
pub(crate) const fn power_of_two(k: i32) -> f32 {
    f32::from_bits(((k + 127) as u32) << 23)
}

/// The smallest and largest divisors whose reciprocal and quotients stay
/// normal under the dividend bounds below.
#[cfg(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64"))]
const LEAST_DIVISOR: f32 = power_of_two(-125);
#[cfg(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64"))]
const GREATEST_DIVISOR: f32 = power_of_two(125);
/// Dividends below this magnitude (other than zero) may leave a remainder
/// that is not representable.
#[cfg(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64"))]
const LEAST_DIVIDEND: f32 = power_of_two(-101);

/// A divisor and what dividing by it without division needs: division by
/// a group's, row's or tensor's scale without a division instruction per
/// element, with the bits of IEEE division. With `R` false (the kernels'
/// copy for division by instruction) the divisor alone: the choice is a
/// type parameter so that each kernel is compiled once each way, per call,
/// since a test per vector for a path not taken costs small groups a tenth
/// of their speed.
///
/// For a divisor `b` fixed over many dividends `x`, with `y = RN(1/b)`
/// computed once:
/// ```text
/// q  = RN(x * y)
/// rn = RN(q * b - x)        one fused multiply-subtract
/// q' = RN(q - rn * y)       one fused negative multiply-add
/// ```
/// `q'` is `RN(x / b)` bit for bit wherever [`Divisor::new`] and
/// [`Fused::within`] say so, and the kernels divide wherever they do not.
/// `docs/numerics.md` ("Division by a scale") holds the argument:
///
/// - one of three classes of operands, each proven at one exponent: a
///   divisor with at most 8 significant bits (a bf16 scale, times a power of
///   two) against every f32 dividend; a dividend with at most 11 (bf16 and
///   binary16 data) against every f32 divisor (both exhaustively, in
///   `crate::division`'s tests); or a divisor whose rounded reciprocal is within
///   `2^-25` of `1/b` relatively, against every dividend, where
///   `q` is a faithful rounding of `x / b` and Markstein's theorem applies;
/// - exponents where every step is scaled by a power of two from the proven
///   one exactly: `2^-125 <= b <= 2^125`, and each dividend `±0` or with
///   `max(2^-101, b * 2^-125) <= |x| <= b * 2^126` (`|x| >= 2^-101` keeps the
///   remainder `x - q * b` representable, the rest keeps `q` and `q'`
///   normal and finite). `±0` gives `±0` with the sign of IEEE division,
///   since `b > 0`: `rn` is `+0` and `q - (+0) * y` is `q`.
///
/// Infinite and NaN dividends fail the range test and are divided.
///
/// On a target without fused lanes (a Cortex-M) it is the divisor alone, so
/// that a microcontroller's kernels carry nothing more on their stack.
#[derive(Clone, Copy)]
pub(crate) struct Divisor<const R: bool> {
    /// `b`.
    value: f32,
    /// The rest, where the reciprocal can be used.
    #[cfg(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64"))]
    fast: Reciprocal,
}

/// What dividing by reciprocal needs beside the divisor.
#[cfg(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64"))]
#[derive(Clone, Copy)]
pub(crate) struct Reciprocal {
    /// `RN(1 / b)`.
    reciprocal: f32,
    /// The dividends' magnitudes (besides zero) for which the quotient is
    /// exact: `least..=greatest`.
    pub(crate) least: f32,
    pub(crate) greatest: f32,
    /// Whether `b` is in one of the proven classes and range.
    pub(crate) exact: bool,
}

impl<const R: bool> Divisor<R> {
    /// The divisor `value`, for dividends of at most 11 significant bits
    /// where `narrow_dividends` (bf16 or binary16 data divided as loaded).
    #[inline(always)]
    pub(crate) fn new(value: f32, narrow_dividends: bool) -> Divisor<R> {
        #[cfg(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64"))]
        let fast = if R {
            Reciprocal::new(value, narrow_dividends)
        } else {
            // Division by instruction: the reciprocal is never read.
            Reciprocal {
                reciprocal: 0.0,
                least: 0.0,
                greatest: 0.0,
                exact: false,
            }
        };
        #[cfg(not(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64")))]
        let _ = narrow_dividends;
        Divisor {
            value,
            #[cfg(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64"))]
            fast,
        }
    }

    /// `b`.
    #[inline(always)]
    pub(crate) fn value(&self) -> f32 {
        self.value
    }

    /// What dividing by reciprocal needs (the tests read it).
    #[cfg(test)]
    pub(crate) fn fast(&self) -> &Reciprocal {
        &self.fast
    }

    /// `x / b` lane by lane, as IEEE division gives it: by reciprocal where
    /// the divisor and every lane allow, else by division.
    #[cfg(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64"))]
    #[inline(always)]
    pub(crate) fn quotient<L: Fused>(&self, x: L) -> L {
        let fast = &self.fast;
        if R && fast.exact && x.within(fast.least, fast.greatest) {
            let y = x.splat_as(fast.reciprocal);
            let q = x.mul(y);
            let rn = q.fused_mul_sub(x.splat_as(self.value), x);
            rn.fused_neg_mul_add(y, q)
        } else {
            x.div(x.splat_as(self.value))
        }
    }
}

#[cfg(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64"))]
impl Reciprocal {
    /// For the divisor `value` (see [`Divisor::new`]).
    #[inline(always)]
    fn new(value: f32, narrow_dividends: bool) -> Reciprocal {
        let reciprocal = 1.0 / value;
        // False for NaN, negative and infinite values.
        let in_range = (LEAST_DIVISOR..=GREATEST_DIVISOR).contains(&value);
        let exact = in_range
            && (narrow_dividends
                || value.to_bits() & 0xFFFF == 0
                || reciprocal_within_quarter(value, reciprocal));
        // `max(2^-101, b * 2^-125)` and `min(b * 2^126, f32::MAX)`, for a
        // positive normal `b` (the others are not `exact`), on the bits:
        // scaling by a power of two adds to the exponent field, and a
        // product in the subnormal range would cost a microcode assist on
        // some CPUs, once per group.
        let bits = value.to_bits();
        let least = f32::from_bits(bits.saturating_sub(125 << 23).max(LEAST_DIVIDEND.to_bits()));
        let greatest = f32::from_bits((bits + (126 << 23)).min(f32::MAX.to_bits()));
        Reciprocal {
            reciprocal,
            least,
            greatest,
            exact,
        }
    }
}

/// Whether `y = RN(1/b)` (`b` normal, positive, with `y` normal) is within
/// `2^-25` of `1/b` relatively: `|1 - b * y| <= 2^-25`. Then `RN(x * y)` is
/// a faithful rounding of `x / b` for every `x`. Exact, in integers: the
/// significands' product is `b * y` scaled by `2^47` (by `2^46` where `b` is
/// a power of two, and then `y` is exact).
#[cfg(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64"))]
#[inline(always)]
pub(crate) fn reciprocal_within_quarter(b: f32, y: f32) -> bool {
    let significand = |v: f32| u64::from(v.to_bits() & 0x7F_FFFF | 0x80_0000);
    let product = significand(b) * significand(y);
    product == 1 << 46 || product.abs_diff(1 << 47) <= 1 << 22
}

/// Lanes with a fused multiply-add instruction, which divide by
/// [`Divisor::quotient`].
#[cfg_attr(
    not(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64")),
    allow(dead_code)
)]
pub(crate) trait Fused: Lanes {
    /// `x * factor - subtrahend`, rounded once.
    fn fused_mul_sub(self, factor: Self, subtrahend: Self) -> Self;
    /// `addend - x * factor`, rounded once.
    fn fused_neg_mul_add(self, factor: Self, addend: Self) -> Self;
    /// Whether every lane is `±0` or has `least <= |x| <= greatest` (false
    /// for NaN lanes); `least` and `greatest` are positive and finite.
    fn within(self, least: f32, greatest: f32) -> bool;
}
