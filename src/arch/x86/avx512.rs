//! The AVX-512 backend: single vectors are AVX2's, and a pair of them (the
//! unit of the whole-vector loops and of the reduction order) is one `__m512`,
//! so each instruction does sixteen lanes of the same IEEE work.
//!
//! It comes in two builds: one for AVX-512 F, BW and VL, and one that also
//! narrows with the AVX-512 BF16 instruction where that gives the same bits
//! (see `Zmm::store`); [`kernels`] picks the second where the CPU has it.

#[cfg(target_arch = "x86")]
use core::arch::x86::*;
#[cfg(target_arch = "x86_64")]
use core::arch::x86_64::*;

use super::avx2::Avx2;
use crate::arch::KernelTable;
use crate::vector::{Lanes, Pair};

/// Sixteen f32 lanes: `[first vector, second vector]` in a ZMM register.
///
/// As with [`Avx2`], values only exist inside the entry points of [`KERNELS`]
/// (`BF16 = false`), compiled with AVX-512 F, BW and VL (the AVX-512 of every
/// CPU since Skylake-SP and Zen 4) and called only after [`super::detect`]
/// found them, and of [`with_bf16::KERNELS`] (`BF16 = true`), compiled with
/// DQ and BF16 too and called only after [`super::avx512_bf16`] found those.
/// Every `SAFETY` comment below relies on that.
#[derive(Clone, Copy)]
pub(crate) struct Zmm<const BF16: bool>(__m512);

impl<const BF16: bool> Lanes for Zmm<BF16> {
    #[inline(always)]
    fn splat(x: f32) -> Self {
        // SAFETY: AVX-512 is available (type invariant).
        Zmm(unsafe { _mm512_set1_ps(x) })
    }
    #[inline(always)]
    fn add(self, rhs: Self) -> Self {
        // SAFETY: AVX-512 is available (type invariant).
        Zmm(unsafe { _mm512_add_ps(self.0, rhs.0) })
    }
    #[inline(always)]
    fn sub(self, rhs: Self) -> Self {
        // SAFETY: AVX-512 is available (type invariant).
        Zmm(unsafe { _mm512_sub_ps(self.0, rhs.0) })
    }
    #[inline(always)]
    fn mul(self, rhs: Self) -> Self {
        // SAFETY: AVX-512 is available (type invariant).
        Zmm(unsafe { _mm512_mul_ps(self.0, rhs.0) })
    }
    #[inline(always)]
    fn div(self, rhs: Self) -> Self {
        // SAFETY: AVX-512 is available (type invariant).
        Zmm(unsafe { _mm512_div_ps(self.0, rhs.0) })
    }
    #[inline(always)]
    fn max(self, lo: Self) -> Self {
        // As `maxps`: `max(lo, x)` is `lo > x ? lo : x`, so NaN and zeros keep x.
        // SAFETY: AVX-512 is available (type invariant).
        Zmm(unsafe { _mm512_max_ps(lo.0, self.0) })
    }
    #[inline(always)]
    fn min(self, hi: Self) -> Self {
        // As `minps`: `min(hi, x)` is `hi < x ? hi : x`.
        // SAFETY: AVX-512 is available (type invariant).
        Zmm(unsafe { _mm512_min_ps(hi.0, self.0) })
    }
    #[inline(always)]
    fn round(self) -> Self {
        // Scale 0, round to nearest even, no precision exception.
        // SAFETY: AVX-512 is available (type invariant).
        Zmm(unsafe {
            _mm512_roundscale_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(self.0)
        })
    }
    #[inline(always)]
    fn one_where_equal_else(self, other: Self, otherwise: Self) -> Self {
        // SAFETY: AVX-512 is available (type invariant).
        Zmm(unsafe {
            let equal = _mm512_cmp_ps_mask::<_CMP_EQ_OQ>(self.0, other.0);
            _mm512_mask_blend_ps(equal, otherwise.0, _mm512_set1_ps(1.0))
        })
    }
}

impl<const BF16: bool> Pair<Avx2> for Zmm<BF16> {
    /// Lane l of the reduction in lane l of one ZMM register.
    type Sum = __m512d;

    #[inline(always)]
    unsafe fn load(src: *const u16) -> Self {
        // Word k goes to the high half of lane k, the low halves are zeroed:
        // one permute does what AVX2's zero-extension and shift do in two.
        // SAFETY: AVX-512 is available (type invariant); the caller
        // guarantees 32 readable bytes, and `loadu` has no alignment need.
        unsafe {
            let words = _mm512_castsi256_si512(_mm256_loadu_si256(src.cast()));
            let high_halves = _mm512_set_epi16(
                15, 0, 14, 0, 13, 0, 12, 0, 11, 0, 10, 0, 9, 0, 8, 0, //
                7, 0, 6, 0, 5, 0, 4, 0, 3, 0, 2, 0, 1, 0, 0, 0,
            );
            let odd_words = 0xAAAA_AAAA;
            let bits = _mm512_maskz_permutexvar_epi16(odd_words, high_halves, words);
            Zmm(_mm512_castsi512_ps(bits))
        }
    }

    #[inline(always)]
    unsafe fn store(self, dst: *mut u16) {
        if BF16 {
            // VCVTNEPS2BF16 rounds to nearest even, as below, but reads
            // subnormals as zero and keeps a NaN's sign and payload; so it
            // only serves vectors without either (nearly all of them), in
            // one instruction instead of eight.
            // SAFETY: AVX-512 F, DQ and BF16 are available (type invariant
            // with BF16); the caller guarantees 32 writable bytes, and
            // `storeu` has no alignment need. `__m256bh` and `__m256i` are
            // both 256 plain bits.
            unsafe {
                const NAN_OR_SUBNORMAL: i32 = 0x01 | 0x20 | 0x80; // QNaN, subnormal, SNaN
                if _mm512_fpclass_ps_mask::<NAN_OR_SUBNORMAL>(self.0) == 0 {
                    let narrowed: __m256i = core::mem::transmute(_mm512_cvtneps_pbh(self.0));
                    _mm256_storeu_si256(dst.cast(), narrowed);
                    return;
                }
            }
        }
        // The same integer round-to-nearest-even and NaN rule as `Avx2::store`.
        // SAFETY: AVX-512 is available (type invariant); the caller
        // guarantees 32 writable bytes, and `storeu` has no alignment need.
        unsafe {
            let bits = _mm512_castps_si512(self.0);
            let lsb = _mm512_and_si512(_mm512_srli_epi32::<16>(bits), _mm512_set1_epi32(1));
            let bias = _mm512_add_epi32(lsb, _mm512_set1_epi32(0x7FFF));
            let rounded = _mm512_srli_epi32::<16>(_mm512_add_epi32(bits, bias));
            // Every lane is at most 0xFFFF, so truncating to 16 bits is exact;
            // NaN lanes are replaced after the narrowing, with a 16-bit blend
            // (AVX-512BW/VL), which is cheaper than a 32-bit one before it.
            let nan = _mm512_cmp_ps_mask::<_CMP_UNORD_Q>(self.0, self.0);
            let narrowed = _mm512_cvtepi32_epi16(rounded);
            let canonical = _mm256_mask_mov_epi16(narrowed, nan, _mm256_set1_epi16(0x7FC0));
            _mm256_storeu_si256(dst.cast(), canonical);
        }
    }

    #[inline(always)]
    fn sum_zero() -> Self::Sum {
        // SAFETY: AVX-512 is available (type invariant).
        unsafe { _mm512_setzero_pd() }
    }
    #[inline(always)]
    fn sum_add(sum: Self::Sum, first: Self, second: Self) -> Self::Sum {
        // SAFETY: AVX-512 is available (type invariant).
        let quad_sum = unsafe {
            // [v0 + v2, v1 + v3]
            let halves = _mm512_add_ps(first.0, second.0);
            let high = _mm512_extractf64x4_pd::<1>(_mm512_castps_pd(halves));
            _mm256_add_ps(_mm512_castps512_ps256(halves), _mm256_castpd_ps(high))
        };
        Self::sum_add_vector(sum, Avx2(quad_sum))
    }
    #[inline(always)]
    fn sum_add_vector(sum: Self::Sum, terms: Avx2) -> Self::Sum {
        // SAFETY: AVX-512 is available (type invariant).
        unsafe { _mm512_add_pd(sum, _mm512_cvtps_pd(terms.0)) }
    }
    #[inline(always)]
    fn sum_lanes(sum: Self::Sum) -> f64 {
        // SAFETY: AVX-512 is available (type invariant).
        unsafe {
            // [l0+l4, l1+l5, l2+l6, l3+l7]
            let quad = _mm256_add_pd(
                _mm512_castpd512_pd256(sum),
                _mm512_extractf64x4_pd::<1>(sum),
            );
            // [(l0+l4)+(l2+l6), (l1+l5)+(l3+l7)]
            let pair = _mm_add_pd(
                _mm256_castpd256_pd128(quad),
                _mm256_extractf128_pd::<1>(quad),
            );
            _mm_cvtsd_f64(pair) + _mm_cvtsd_f64(_mm_unpackhi_pd(pair, pair))
        }
    }
}

crate::arch::kernel_table!(Avx2, Zmm<false>, #[target_feature(enable = "avx2,avx512f,avx512bw,avx512vl")]);

/// The build that narrows with AVX-512 BF16.
pub(crate) mod with_bf16 {
    use super::{Avx2, Zmm};
    crate::arch::kernel_table!(
        Avx2,
        Zmm<true>,
        #[target_feature(enable = "avx2,avx512f,avx512bw,avx512vl,avx512dq,avx512bf16")]
    );
}

/// The AVX-512 kernels for this CPU, which must have AVX-512 (see
/// [`super::detect`]): the BF16 build where the CPU has BF16 and DQ.
pub(crate) fn kernels() -> &'static KernelTable {
    if super::avx512_bf16() {
        &with_bf16::KERNELS
    } else {
        &KERNELS
    }
}
