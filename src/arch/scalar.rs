//! The scalar backend (`Isa::Scalar`, `QAT_ISA_SCALAR`): eight f32 lanes in
//! an array, each computed with the one-lane arithmetic of `f32` below.
//!
//! It is the reference the SIMD backends must match bit for bit, and the backend
//! on targets without one (a Cortex-M, for instance). The compiler is free to
//! vectorize these loops with the target's baseline instructions; the results
//! cannot change, since every lane operation is one IEEE operation.

use crate::bf16_bits::{narrow, widen};
use crate::vector::{Code, Data, Element, Lanes, Memory, Vector, LANES};
#[cfg(target_arch = "arm")]
use crate::vector::{Elementwise, Lanewise};

/// Round half to even without SSE4.1 or a libm call: adding and subtracting
/// 2^23 leaves an integer, rounded by the FPU's default ties-to-even mode.
/// Magnitudes of 2^23 and above (and NaN, and infinities) are already integral
/// and are kept, as is the sign of zero.
#[inline(always)]
pub(crate) fn round_half_even(x: f32) -> f32 {
    const TWO_POW_23: f32 = 8_388_608.0;
    let magnitude = f32::from_bits(x.to_bits() & 0x7FFF_FFFF);
    if magnitude < TWO_POW_23 {
        let rounded = (magnitude + TWO_POW_23) - TWO_POW_23;
        f32::from_bits(rounded.to_bits() | (x.to_bits() & 0x8000_0000))
    } else {
        x
    }
}

/// One lane: the scalar definition of every operation.
impl Lanes for f32 {
    type Token = ();
    #[inline(always)]
    fn token(self) {}
    #[inline(always)]
    fn splat((): (), x: f32) -> Self {
        x
    }
    #[inline(always)]
    fn add(self, rhs: Self) -> Self {
        self + rhs
    }
    #[inline(always)]
    fn sub(self, rhs: Self) -> Self {
        self - rhs
    }
    #[inline(always)]
    fn mul(self, rhs: Self) -> Self {
        self * rhs
    }
    #[inline(always)]
    fn div(self, rhs: Self) -> Self {
        self / rhs
    }
    #[inline(always)]
    fn max(self, lo: Self) -> Self {
        if self < lo {
            lo
        } else {
            self
        }
    }
    #[inline(always)]
    fn min(self, hi: Self) -> Self {
        if self > hi {
            hi
        } else {
            self
        }
    }
    #[inline(always)]
    fn round(self) -> Self {
        round_half_even(self)
    }
    #[inline(always)]
    // `clipped - clipped`: 0 for a finite `clipped`, NaN for NaN, on purpose.
    #[allow(clippy::eq_op)]
    fn one_where_equal(self, clipped: Self) -> Self {
        if self == clipped {
            1.0
        } else {
            clipped - clipped
        }
    }
}

/// Eight f32 lanes, computed one at a time.
#[derive(Clone, Copy)]
pub(crate) struct Scalar([f32; LANES]);

impl Scalar {
    /// `f` on every lane. A loop rather than `[T; N]::map`, which the
    /// compiler may leave out of line in a kernel's innermost loop.
    #[inline(always)]
    fn each(self, f: impl Fn(f32) -> f32) -> Self {
        let mut out = self.0;
        for o in out.iter_mut() {
            *o = f(*o);
        }
        Scalar(out)
    }

    #[inline(always)]
    fn zip(self, rhs: Self, f: impl Fn(f32, f32) -> f32) -> Self {
        let mut out = self.0;
        for (o, r) in out.iter_mut().zip(rhs.0) {
            *o = f(*o, r);
        }
        Scalar(out)
    }
}

impl Lanes for Scalar {
    type Token = ();
    #[inline(always)]
    fn token(self) {}
    #[inline(always)]
    fn splat((): (), x: f32) -> Self {
        Scalar([x; LANES])
    }
    #[inline(always)]
    fn add(self, rhs: Self) -> Self {
        self.zip(rhs, f32::add)
    }
    #[inline(always)]
    fn sub(self, rhs: Self) -> Self {
        self.zip(rhs, f32::sub)
    }
    #[inline(always)]
    fn mul(self, rhs: Self) -> Self {
        self.zip(rhs, f32::mul)
    }
    #[inline(always)]
    fn div(self, rhs: Self) -> Self {
        self.zip(rhs, f32::div)
    }
    #[inline(always)]
    fn max(self, lo: Self) -> Self {
        self.zip(lo, <f32 as Lanes>::max)
    }
    #[inline(always)]
    fn min(self, hi: Self) -> Self {
        self.zip(hi, <f32 as Lanes>::min)
    }
    #[inline(always)]
    fn round(self) -> Self {
        self.each(round_half_even)
    }
    #[inline(always)]
    fn one_where_equal(self, clipped: Self) -> Self {
        self.zip(clipped, <f32 as Lanes>::one_where_equal)
    }
}

impl Memory for Scalar {
    type Staged<E: Element> = [E; LANES];

    #[inline(always)]
    unsafe fn load((): (), src: *const u16) -> Self {
        let mut lanes = [0.0; LANES];
        for (i, lane) in lanes.iter_mut().enumerate() {
            // SAFETY: the caller guarantees `src` is valid for eight reads.
            *lane = widen(unsafe { src.add(i).read_unaligned() });
        }
        Scalar(lanes)
    }

    #[inline(always)]
    unsafe fn store(self, dst: *mut u16) {
        for (i, lane) in self.0.into_iter().enumerate() {
            // SAFETY: the caller guarantees `dst` is valid for eight writes.
            unsafe { dst.add(i).write_unaligned(narrow(lane)) };
        }
    }

    #[inline(always)]
    unsafe fn load_codes<C: Code>((): (), src: *const C) -> Self {
        let mut lanes = [0.0; LANES];
        for (i, lane) in lanes.iter_mut().enumerate() {
            // SAFETY: the caller guarantees `src` is valid for eight reads.
            *lane = unsafe { src.add(i).read() }.to_f32();
        }
        Scalar(lanes)
    }

    #[inline(always)]
    unsafe fn store_codes<C: Code>(self, dst: *mut C) {
        for (i, lane) in self.0.into_iter().enumerate() {
            // SAFETY: the caller guarantees `dst` is valid for eight writes.
            unsafe { dst.add(i).write(C::from_integer(lane)) };
        }
    }
    #[inline(always)]
    unsafe fn load_f32((): (), src: *const f32) -> Self {
        let mut lanes = [0.0; LANES];
        for (i, lane) in lanes.iter_mut().enumerate() {
            // SAFETY: the caller guarantees `src` is valid for eight reads.
            *lane = unsafe { src.add(i).read_unaligned() };
        }
        Scalar(lanes)
    }

    #[inline(always)]
    unsafe fn store_f32(self, dst: *mut f32) {
        for (i, lane) in self.0.into_iter().enumerate() {
            // SAFETY: the caller guarantees `dst` is valid for eight writes.
            unsafe { dst.add(i).write_unaligned(<f32 as Data>::narrow(lane)) };
        }
    }
}

impl Vector for Scalar {
    type Sum = [f64; LANES];
    #[cfg(target_arch = "arm")]
    const WHOLE_VECTOR_LOOPS: bool = false;
    const NORMALIZE_AHEAD: bool = false;

    #[inline(always)]
    fn first(self, n: usize) -> Self {
        let mut out = [0.0; LANES];
        for (i, o) in out.iter_mut().enumerate().take(n) {
            *o = self.0[i];
        }
        Scalar(out)
    }

    #[inline(always)]
    fn from_array((): (), lanes: [f32; LANES]) -> Self {
        Scalar(lanes)
    }

    #[inline(always)]
    fn to_array(self) -> [f32; LANES] {
        self.0
    }

    #[inline(always)]
    fn sum_zero((): ()) -> Self::Sum {
        [0.0; LANES]
    }
    #[inline(always)]
    fn sum_add(mut sum: Self::Sum, terms: Self) -> Self::Sum {
        for (s, t) in sum.iter_mut().zip(terms.0) {
            *s += f64::from(t);
        }
        sum
    }
    #[inline(always)]
    fn sum_lanes(l: Self::Sum) -> f64 {
        ((l[0] + l[4]) + (l[2] + l[6])) + ((l[1] + l[5]) + (l[3] + l[7]))
    }

    // 32-bit Arm (a Cortex-M, say) has no vector unit the compiler may use for
    // IEEE f32, so eight unrolled lanes only cost code and stack there: run the
    // quantizer one lane at a time through an out-of-line function instead.
    #[cfg(target_arch = "arm")]
    #[inline(always)]
    fn apply(map: &impl Elementwise, x: Self) -> Self {
        #[inline(never)]
        fn lane(map: &impl Elementwise, x: f32) -> f32 {
            map.map(x)
        }
        x.each(|x| lane(map, x))
    }

    #[cfg(target_arch = "arm")]
    #[inline(always)]
    fn apply_backward(quantizer: &impl Lanewise, g: Self, x: Self) -> [Self; 3] {
        #[inline(never)]
        fn lane(quantizer: &impl Lanewise, g: f32, x: f32) -> [f32; 3] {
            quantizer.backward(g, x)
        }
        let mut out = [[0.0; LANES]; 3];
        for i in 0..LANES {
            let [w, a, b] = lane(quantizer, g.0[i], x.0[i]);
            (out[0][i], out[1][i], out[2][i]) = (w, a, b);
        }
        out.map(Scalar)
    }
}

crate::arch::backend!(Scalar, crate::vector::Two<Scalar>,);
