//! The NEON backend: eight f32 lanes in two `float32x4_t`.
//!
//! NEON is part of the aarch64 base ISA, so these instructions are always
//! available. The intrinsics are still `#[target_feature(enable = "neon")]`
//! functions, unsafe to call from functions without that attribute; every
//! `unsafe` block below holds for that reason alone (plus, for loads and
//! stores, the pointer contract of the trait).
// Newer toolchains may count the target's baseline features and call these
// blocks unnecessary.
#![allow(unused_unsafe)]

use core::arch::aarch64::*;

use crate::vector::{Code, Divisor, Element, Fused, Lanes, Memory, Vector, LANES};

/// Lanes 0..4 and 4..8.
#[derive(Clone, Copy)]
pub(crate) struct Neon(float32x4_t, float32x4_t);

/// Lanes [0, 1], [2, 3], [4, 5], [6, 7] as f64.
#[derive(Clone, Copy)]
pub(crate) struct NeonSum([float64x2_t; 4]);

/// `first(n)` loads its mask from `FIRST_MASK[8 - n..]`: n all-ones lanes, then zeros.
static FIRST_MASK: [u32; 2 * LANES] = [!0, !0, !0, !0, !0, !0, !0, !0, 0, 0, 0, 0, 0, 0, 0, 0];

#[inline(always)]
fn each(v: Neon, f: impl Fn(float32x4_t) -> float32x4_t) -> Neon {
    Neon(f(v.0), f(v.1))
}

#[inline(always)]
fn both(a: Neon, b: Neon, f: impl Fn(float32x4_t, float32x4_t) -> float32x4_t) -> Neon {
    Neon(f(a.0, b.0), f(a.1, b.1))
}

/// Round to nearest even on the bit pattern, NaN to 0x7FC0, shifted down to 16 bits.
#[inline(always)]
fn narrow(v: float32x4_t) -> uint16x4_t {
    // SAFETY: NEON is part of the aarch64 base ISA.
    unsafe {
        let bits = vreinterpretq_u32_f32(v);
        let lsb = vandq_u32(vshrq_n_u32::<16>(bits), vdupq_n_u32(1));
        let rounded = vaddq_u32(bits, vaddq_u32(lsb, vdupq_n_u32(0x7FFF)));
        let is_number = vceqq_f32(v, v);
        vshrn_n_u32::<16>(vbslq_u32(is_number, rounded, vdupq_n_u32(0x7FC0_0000)))
    }
}

/// `one_where_equal` for four lanes.
#[inline(always)]
fn one_where_equal4(x: float32x4_t, clipped: float32x4_t) -> float32x4_t {
    // SAFETY: NEON is part of the aarch64 base ISA.
    unsafe {
        let otherwise = vsubq_f32(clipped, clipped);
        vbslq_f32(vceqq_f32(x, clipped), vdupq_n_f32(1.0), otherwise)
    }
}

impl Lanes for Neon {
    // NEON is part of the base ISA: nothing to prove.
    type Token = ();
    #[inline(always)]
    fn token(self) {}
    #[inline(always)]
    fn splat((): (), x: f32) -> Self {
        // SAFETY: NEON is part of the aarch64 base ISA.
        unsafe { Neon(vdupq_n_f32(x), vdupq_n_f32(x)) }
    }
    #[inline(always)]
    fn add(self, rhs: Self) -> Self {
        // SAFETY: NEON is part of the aarch64 base ISA.
        both(self, rhs, |a, b| unsafe { vaddq_f32(a, b) })
    }
    #[inline(always)]
    fn sub(self, rhs: Self) -> Self {
        // SAFETY: NEON is part of the aarch64 base ISA.
        both(self, rhs, |a, b| unsafe { vsubq_f32(a, b) })
    }
    #[inline(always)]
    fn mul(self, rhs: Self) -> Self {
        // SAFETY: NEON is part of the aarch64 base ISA.
        both(self, rhs, |a, b| unsafe { vmulq_f32(a, b) })
    }
    #[inline(always)]
    fn div(self, rhs: Self) -> Self {
        // SAFETY: NEON is part of the aarch64 base ISA.
        both(self, rhs, |a, b| unsafe { vdivq_f32(a, b) })
    }
    #[inline(always)]
    fn divide<const R: bool>(self, divisor: &Divisor<R>) -> Self {
        divisor.quotient(self)
    }
    // vmaxq_f32/vminq_f32 return +0.0 for (-0.0, +0.0) and do not keep `x`
    // exactly as the contract asks: compare and select instead.
    #[inline(always)]
    fn max(self, lo: Self) -> Self {
        // SAFETY: NEON is part of the aarch64 base ISA.
        both(self, lo, |x, lo| unsafe {
            vbslq_f32(vcltq_f32(x, lo), lo, x)
        })
    }
    #[inline(always)]
    fn min(self, hi: Self) -> Self {
        // SAFETY: NEON is part of the aarch64 base ISA.
        both(self, hi, |x, hi| unsafe {
            vbslq_f32(vcgtq_f32(x, hi), hi, x)
        })
    }
    #[inline(always)]
    fn round(self) -> Self {
        // SAFETY: NEON is part of the aarch64 base ISA.
        each(self, |x| unsafe { vrndnq_f32(x) })
    }
    #[inline(always)]
    fn one_where_equal(self, clipped: Self) -> Self {
        both(self, clipped, one_where_equal4)
    }
    // aarch64 always has fused multiply-add.
    #[inline(always)]
    fn mul_add(self, factor: Self, addend: Self) -> Self {
        // SAFETY: NEON is part of the aarch64 base ISA.
        Neon(unsafe { vfmaq_f32(addend.0, self.0, factor.0) }, unsafe {
            vfmaq_f32(addend.1, self.1, factor.1)
        })
    }
    #[inline(always)]
    fn neg_mul_add(self, factor: Self, addend: Self) -> Self {
        // SAFETY: NEON is part of the aarch64 base ISA.
        Neon(unsafe { vfmsq_f32(addend.0, self.0, factor.0) }, unsafe {
            vfmsq_f32(addend.1, self.1, factor.1)
        })
    }
}

impl Fused for Neon {
    #[inline(always)]
    fn fused_mul_sub(self, factor: Self, subtrahend: Self) -> Self {
        // `-s + x * factor`: the negation is exact, and `-(+0)` is `-0` as
        // in `x * factor - s`.
        // SAFETY: NEON is part of the aarch64 base ISA.
        let minus = each(subtrahend, |s| unsafe { vnegq_f32(s) });
        Neon(unsafe { vfmaq_f32(minus.0, self.0, factor.0) }, unsafe {
            vfmaq_f32(minus.1, self.1, factor.1)
        })
    }
    #[inline(always)]
    fn fused_neg_mul_add(self, factor: Self, addend: Self) -> Self {
        // SAFETY: NEON is part of the aarch64 base ISA.
        Neon(unsafe { vfmsq_f32(addend.0, self.0, factor.0) }, unsafe {
            vfmsq_f32(addend.1, self.1, factor.1)
        })
    }
    #[inline(always)]
    fn within(self, least: f32, greatest: f32) -> bool {
        // On the magnitudes' bits, which order as the magnitudes do: zero,
        // or `least..=greatest` (NaN is above every finite bound).
        // SAFETY: NEON is part of the aarch64 base ISA.
        unsafe {
            let inside = |v: float32x4_t| {
                let bits = vandq_u32(vreinterpretq_u32_f32(v), vdupq_n_u32(0x7FFF_FFFF));
                let offset = vsubq_u32(bits, vdupq_n_u32(least.to_bits()));
                let span = vdupq_n_u32(greatest.to_bits() - least.to_bits());
                vorrq_u32(vcleq_u32(offset, span), vceqzq_u32(bits))
            };
            vminvq_u32(vandq_u32(inside(self.0), inside(self.1))) == !0
        }
    }
}

impl Memory for Neon {
    type Staged<E: Element> = [E; LANES];

    #[inline(always)]
    unsafe fn load((): (), src: *const u16) -> Self {
        // SAFETY: the caller guarantees 16 readable bytes at `src`; `vld1q_u16`
        // needs only the element's 2-byte alignment.
        unsafe {
            let bits = vld1q_u16(src);
            Neon(
                vreinterpretq_f32_u32(vshll_n_u16::<16>(vget_low_u16(bits))),
                vreinterpretq_f32_u32(vshll_high_n_u16::<16>(bits)),
            )
        }
    }

    #[inline(always)]
    unsafe fn store(self, dst: *mut u16) {
        // SAFETY: the caller guarantees 16 writable bytes at `dst`; `vst1q_u16`
        // needs only the element's 2-byte alignment.
        unsafe { vst1q_u16(dst, vcombine_u16(narrow(self.0), narrow(self.1))) }
    }

    #[inline(always)]
    unsafe fn load_codes<C: Code>((): (), src: *const C) -> Self {
        // SAFETY: the caller guarantees 8 readable bytes at `src`; byte loads
        // need no alignment.
        unsafe {
            if C::SIGNED {
                let wide = vmovl_s8(vld1_s8(src.cast()));
                Neon(
                    vcvtq_f32_s32(vmovl_s16(vget_low_s16(wide))),
                    vcvtq_f32_s32(vmovl_high_s16(wide)),
                )
            } else {
                let wide = vmovl_u8(vld1_u8(src.cast()));
                Neon(
                    vcvtq_f32_u32(vmovl_u16(vget_low_u16(wide))),
                    vcvtq_f32_u32(vmovl_high_u16(wide)),
                )
            }
        }
    }

    #[inline(always)]
    unsafe fn store_codes<C: Code>(self, dst: *mut C) {
        // SAFETY: the caller guarantees 8 writable bytes at `dst`. The lanes
        // hold integers in `C`'s range, so the truncating conversions and
        // narrowings keep every value's low byte, its code.
        unsafe {
            let words = vcombine_s16(
                vmovn_s32(vcvtq_s32_f32(self.0)),
                vmovn_s32(vcvtq_s32_f32(self.1)),
            );
            vst1_s8(dst.cast(), vmovn_s16(words));
        }
    }
    #[inline(always)]
    unsafe fn load_f32((): (), src: *const f32) -> Self {
        // SAFETY: the caller guarantees 32 readable bytes at `src`; `vld1q_f32`
        // needs only the element's 4-byte alignment.
        unsafe { Neon(vld1q_f32(src), vld1q_f32(src.add(4))) }
    }

    #[inline(always)]
    unsafe fn store_f32(self, dst: *mut f32) {
        // SAFETY: the caller guarantees 32 writable bytes at `dst`; `vst1q_f32`
        // needs only the element's 4-byte alignment.
        unsafe {
            let canonical = |v: float32x4_t| {
                vbslq_f32(
                    vceqq_f32(v, v),
                    v,
                    vreinterpretq_f32_u32(vdupq_n_u32(0x7FC0_0000)),
                )
            };
            vst1q_f32(dst, canonical(self.0));
            vst1q_f32(dst.add(4), canonical(self.1));
        }
    }
}

impl Vector for Neon {
    type Sum = NeonSum;

    #[inline(always)]
    fn first(self, n: usize) -> Self {
        debug_assert!(n < LANES);
        let mask = &FIRST_MASK[LANES - n..];
        // SAFETY: NEON is part of the aarch64 base ISA; `mask` holds at least
        // eight u32 since n < LANES.
        unsafe {
            let low = vld1q_u32(mask.as_ptr());
            let high = vld1q_u32(mask.as_ptr().add(4));
            let keep = |x, m| vreinterpretq_f32_u32(vandq_u32(vreinterpretq_u32_f32(x), m));
            Neon(keep(self.0, low), keep(self.1, high))
        }
    }

    #[inline(always)]
    fn from_array((): (), lanes: [f32; LANES]) -> Self {
        // SAFETY: NEON is part of the aarch64 base ISA; `lanes` holds eight
        // f32, and `vld1q_f32` needs only their 4-byte alignment.
        unsafe { Neon(vld1q_f32(lanes.as_ptr()), vld1q_f32(lanes.as_ptr().add(4))) }
    }

    #[inline(always)]
    fn to_array(self) -> [f32; LANES] {
        let mut lanes = [0.0; LANES];
        // SAFETY: NEON is part of the aarch64 base ISA; `lanes` has room for
        // eight f32, and `vst1q_f32` needs only their 4-byte alignment.
        unsafe {
            vst1q_f32(lanes.as_mut_ptr(), self.0);
            vst1q_f32(lanes.as_mut_ptr().add(4), self.1);
        }
        lanes
    }

    #[inline(always)]
    fn sum_zero((): ()) -> Self::Sum {
        // SAFETY: NEON is part of the aarch64 base ISA.
        NeonSum(unsafe { [vdupq_n_f64(0.0); 4] })
    }
    #[inline(always)]
    fn sum_add(sum: Self::Sum, terms: Self) -> Self::Sum {
        let [s01, s23, s45, s67] = sum.0;
        // SAFETY: NEON is part of the aarch64 base ISA.
        NeonSum(unsafe {
            [
                vaddq_f64(s01, vcvt_f64_f32(vget_low_f32(terms.0))),
                vaddq_f64(s23, vcvt_high_f64_f32(terms.0)),
                vaddq_f64(s45, vcvt_f64_f32(vget_low_f32(terms.1))),
                vaddq_f64(s67, vcvt_high_f64_f32(terms.1)),
            ]
        })
    }
    #[inline(always)]
    fn sum_lanes(sum: Self::Sum) -> f64 {
        let [s01, s23, s45, s67] = sum.0;
        // SAFETY: NEON is part of the aarch64 base ISA.
        unsafe {
            // [(l0+l4)+(l2+l6), (l1+l5)+(l3+l7)]
            let pair = vaddq_f64(vaddq_f64(s01, s45), vaddq_f64(s23, s67));
            vgetq_lane_f64::<0>(pair) + vgetq_lane_f64::<1>(pair)
        }
    }
}
