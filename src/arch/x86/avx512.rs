//! The AVX-512 backend: single vectors are AVX2's, and a pair of them (the
//! unit of the whole-vector loops, a quarter of an octet of the reduction order) is one
//! `__m512`, so each instruction does sixteen lanes of the same IEEE work.
//!
//! It comes in two backends: one for AVX-512 F, BW and VL, and one that also
//! narrows with the AVX-512 BF16 instructions where they give the same bits
//! (see `Zmm::nan_or_subnormal`); `super::for_isa` picks the second where the CPU
//! has it.

#[cfg(target_arch = "x86")]
use core::arch::x86::*;
#[cfg(target_arch = "x86_64")]
use core::arch::x86_64::*;

use super::avx2::{Avx2, Avx2Token};
use half::f16;

use crate::vector::{Code, Divisor, Element, Fused, Lanes, Memory, Pair, Token, LANES};

/// Proof that the CPU runs AVX-512 F, BW and VL with AVX2 and FMA, and with
/// `BF16`, also AVX-512 DQ and BF16.
#[derive(Clone, Copy)]
pub(crate) struct ZmmToken<const BF16: bool>(());

impl<const BF16: bool> Token for ZmmToken<BF16> {
    #[inline(always)]
    unsafe fn new_unchecked() -> Self {
        ZmmToken(())
    }
}

impl<const BF16: bool> ZmmToken<BF16> {
    /// AVX-512 includes AVX2 and FMA (see `super::detect`).
    #[inline(always)]
    fn avx2(self) -> Avx2Token {
        // SAFETY: this token proves AVX2 and FMA along with AVX-512.
        unsafe { Avx2Token::new_unchecked() }
    }
}

/// Sixteen f32 lanes: `[first vector, second vector]` in a ZMM register.
///
/// As with [`Avx2`], a value can only be made from a [`ZmmToken`] (or
/// another value), so one exists only where the CPU runs AVX-512 F, BW and
/// VL (the AVX-512 of every CPU since Skylake-SP and Zen 4), and with `BF16`
/// also DQ and BF16. Every `SAFETY` comment below relies on that.
#[derive(Clone, Copy)]
pub(crate) struct Zmm<const BF16: bool>(__m512);

impl<const BF16: bool> Lanes for Zmm<BF16> {
    type Token = ZmmToken<BF16>;
    #[inline(always)]
    fn token(self) -> Self::Token {
        ZmmToken(())
    }
    #[inline(always)]
    fn splat(_: Self::Token, x: f32) -> Self {
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
    fn divide<const R: bool>(self, divisor: &Divisor<R>) -> Self {
        divisor.quotient(self)
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
    fn one_where_equal(self, clipped: Self) -> Self {
        // VFIXUPIMMPS maps each class of `x - clipped` to a constant: ±0 (the
        // lanes are equal: `clipped` is finite) to +1, NaN to NaN, and every
        // other class, infinities included, to +0. One nibble per class, from
        // bit 0: QNaN, SNaN, zero, +1, -inf, +inf, negative, positive.
        const CLASS_TO_MASK: i32 = 0x8888_8A22_u32 as i32;
        // SAFETY: AVX-512 is available (type invariant).
        Zmm(unsafe {
            let difference = _mm512_sub_ps(self.0, clipped.0);
            let table = _mm512_set1_epi32(CLASS_TO_MASK);
            _mm512_fixupimm_ps::<0>(difference, difference, table)
        })
    }
    #[inline(always)]
    fn mul_add(self, factor: Self, addend: Self) -> Self {
        // SAFETY: AVX-512 is available (type invariant).
        Zmm(unsafe { _mm512_fmadd_ps(self.0, factor.0, addend.0) })
    }
    #[inline(always)]
    fn neg_mul_add(self, factor: Self, addend: Self) -> Self {
        // SAFETY: AVX-512 is available (type invariant).
        Zmm(unsafe { _mm512_fnmadd_ps(self.0, factor.0, addend.0) })
    }
}

impl<const BF16: bool> Fused for Zmm<BF16> {
    #[inline(always)]
    fn fused_mul_sub(self, factor: Self, subtrahend: Self) -> Self {
        // SAFETY: AVX-512 is available (type invariant).
        Zmm(unsafe { _mm512_fmsub_ps(self.0, factor.0, subtrahend.0) })
    }
    #[inline(always)]
    fn fused_neg_mul_add(self, factor: Self, addend: Self) -> Self {
        // SAFETY: AVX-512 is available (type invariant).
        Zmm(unsafe { _mm512_fnmadd_ps(self.0, factor.0, addend.0) })
    }
    #[inline(always)]
    fn within(self, least: f32, greatest: f32) -> bool {
        // On the magnitudes' bits, which order as the magnitudes do: zero,
        // or `least..=greatest` (NaN is above every finite bound).
        // SAFETY: AVX-512 is available (type invariant).
        unsafe {
            let bits =
                _mm512_and_si512(_mm512_castps_si512(self.0), _mm512_set1_epi32(0x7FFF_FFFF));
            let low = _mm512_set1_epi32(least.to_bits() as i32);
            let span = _mm512_set1_epi32((greatest.to_bits() - least.to_bits()) as i32);
            let inside = _mm512_cmple_epu32_mask(_mm512_sub_epi32(bits, low), span);
            let zero = _mm512_testn_epi32_mask(bits, bits);
            inside | zero == 0xFFFF
        }
    }
}

/// Word `2k + 1` of each of two registers, `k` in 0..16: the high halves of
/// their 32-bit lanes, the first register's then the second's.
#[repr(align(64))]
struct Words([u16; 32]);
static HIGH_HALVES: Words = Words([
    1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31, //
    33, 35, 37, 39, 41, 43, 45, 47, 49, 51, 53, 55, 57, 59, 61, 63,
]);

impl<const BF16: bool> Zmm<BF16> {
    /// Words `from..from + 16` of `words`, widened: word `from + k` goes to the
    /// high half of lane `k`, the low halves are zeroed. One permute does what
    /// AVX2's zero-extension and shift do in two.
    #[inline(always)]
    fn widen(_: ZmmToken<BF16>, words: __m512i, from: i16) -> Self {
        // SAFETY: AVX-512 is available (the token).
        unsafe {
            let k = _mm512_set_epi16(
                15, 0, 14, 0, 13, 0, 12, 0, 11, 0, 10, 0, 9, 0, 8, 0, //
                7, 0, 6, 0, 5, 0, 4, 0, 3, 0, 2, 0, 1, 0, 0, 0,
            );
            let from = _mm512_set1_epi16(from);
            let odd_words = 0xAAAA_AAAA;
            let bits = _mm512_maskz_permutexvar_epi16(odd_words, _mm512_add_epi16(k, from), words);
            Zmm(_mm512_castsi512_ps(bits))
        }
    }

    /// The lanes rounded to nearest even at bit 16 (the bf16 in each lane's
    /// high half), as `Avx2::store` does, and the mask of NaN lanes, which the
    /// caller replaces by the canonical NaN.
    #[inline(always)]
    fn rounded(self) -> (__m512i, __mmask16) {
        // SAFETY: AVX-512 is available (type invariant).
        unsafe {
            let bits = _mm512_castps_si512(self.0);
            let lsb = _mm512_and_si512(_mm512_srli_epi32::<16>(bits), _mm512_set1_epi32(1));
            let bias = _mm512_add_epi32(lsb, _mm512_set1_epi32(0x7FFF));
            let nan = _mm512_cmp_ps_mask::<_CMP_UNORD_Q>(self.0, self.0);
            (_mm512_add_epi32(bits, bias), nan)
        }
    }

    /// Level 1 of the `sum_lanes` tree for two sums `a` and `b`:
    /// `[a lanes 0..4 | b lanes 0..4] + [a lanes 4..8 | b lanes 4..8]`.
    #[inline(always)]
    fn tree_level_1(a: __m512d, b: __m512d) -> __m512d {
        // SAFETY: AVX-512 is available (type invariant).
        unsafe {
            let low = _mm512_shuffle_f64x2::<0b01_00_01_00>(a, b);
            let high = _mm512_shuffle_f64x2::<0b11_10_11_10>(a, b);
            _mm512_add_pd(low, high)
        }
    }

    /// Level 2 for four sums, from two level-1 results: `(l0+l4)+(l2+l6)`
    /// and `(l1+l5)+(l3+l7)` of each, one 128-bit chunk per sum.
    #[inline(always)]
    fn tree_level_2(a: __m512d, b: __m512d) -> __m512d {
        // SAFETY: AVX-512 is available (type invariant).
        unsafe {
            let left = _mm512_shuffle_f64x2::<0b10_00_10_00>(a, b);
            let right = _mm512_shuffle_f64x2::<0b11_01_11_01>(a, b);
            _mm512_add_pd(left, right)
        }
    }

    /// The lanes that are NaN or subnormal. VCVTNEPS2BF16 rounds to nearest
    /// even like [`Zmm::rounded`] but reads subnormals as zero and keeps a
    /// NaN's sign and payload, so the BF16 backend uses it only where this is
    /// empty: nearly always, in one instruction instead of eight.
    #[inline(always)]
    fn nan_or_subnormal(self) -> __mmask16 {
        const QNAN_SUBNORMAL_SNAN: i32 = 0x01 | 0x20 | 0x80;
        // SAFETY: only called with BF16, where AVX-512 DQ is available (type
        // invariant).
        unsafe { _mm512_fpclass_ps_mask::<QNAN_SUBNORMAL_SNAN>(self.0) }
    }

    /// The sixteen lanes narrowed as [`Avx2`]'s `store` narrows, in order.
    #[inline(always)]
    fn narrowed(self) -> __m256i {
        if BF16 && self.nan_or_subnormal() == 0 {
            // SAFETY: AVX-512 BF16 is available (type invariant with BF16).
            // `__m256bh` and `__m256i` are both 256 plain bits.
            return unsafe {
                core::mem::transmute::<__m256bh, __m256i>(_mm512_cvtneps_pbh(self.0))
            };
        }
        let (rounded, nan) = self.rounded();
        // SAFETY: AVX-512 is available (type invariant).
        unsafe {
            let high_halves = _mm512_castsi512_si256(_mm512_permutexvar_epi16(
                _mm512_load_si512(HIGH_HALVES.0.as_ptr().cast()),
                rounded,
            ));
            _mm256_mask_mov_epi16(high_halves, nan, _mm256_set1_epi16(0x7FC0))
        }
    }
}

impl<const BF16: bool> Memory for Zmm<BF16> {
    type Staged<E: Element> = [E; 2 * LANES];

    #[inline(always)]
    unsafe fn load(token: Self::Token, src: *const u16) -> Self {
        // SAFETY: the caller guarantees 32 readable bytes, and `loadu` has no
        // alignment need; AVX-512 is available (the token).
        unsafe {
            Self::widen(
                token,
                _mm512_castsi256_si512(_mm256_loadu_si256(src.cast())),
                0,
            )
        }
    }

    #[inline(always)]
    unsafe fn store(self, dst: *mut u16) {
        // SAFETY: the caller guarantees 32 writable bytes, and `storeu` has
        // no alignment need; AVX-512 is available (type invariant).
        unsafe { _mm256_storeu_si256(dst.cast(), self.narrowed()) }
    }

    #[inline(always)]
    unsafe fn load_codes<C: Code>(_: Self::Token, src: *const C) -> Self {
        // SAFETY: the caller guarantees 16 readable bytes, and `loadu` has no
        // alignment need; AVX-512 is available (the token).
        unsafe {
            let bytes = _mm_loadu_si128(src.cast());
            let wide = if C::SIGNED {
                _mm512_cvtepi8_epi32(bytes)
            } else {
                _mm512_cvtepu8_epi32(bytes)
            };
            Zmm(_mm512_cvtepi32_ps(wide))
        }
    }

    #[inline(always)]
    unsafe fn store_codes<C: Code>(self, dst: *mut C) {
        // SAFETY: the caller guarantees 16 writable bytes, and `storeu` has no
        // alignment need; AVX-512 is available (type invariant). The lanes
        // hold integers in `C`'s range, so truncating to their low bytes is
        // exact.
        unsafe {
            let bytes = _mm512_cvtepi32_epi8(_mm512_cvttps_epi32(self.0));
            _mm_storeu_si128(dst.cast(), bytes);
        }
    }
    #[inline(always)]
    unsafe fn load_f32(_: Self::Token, src: *const f32) -> Self {
        // SAFETY: the caller guarantees 64 readable bytes, and `loadu` has no
        // alignment need; AVX-512 is available (the token).
        unsafe { Zmm(_mm512_loadu_ps(src)) }
    }

    #[inline(always)]
    unsafe fn store_f32(self, dst: *mut f32) {
        // SAFETY: the caller guarantees 64 writable bytes, and `storeu` has
        // no alignment need; AVX-512 is available (type invariant).
        unsafe { _mm512_storeu_ps(dst, self.canonical()) }
    }

    #[inline(always)]
    unsafe fn load_f16(_: Self::Token, src: *const f16) -> Self {
        // SAFETY: the caller guarantees 32 readable bytes, and `loadu` has no
        // alignment need; AVX-512 is available (the token).
        unsafe { Zmm(_mm512_cvtph_ps(_mm256_loadu_si256(src.cast()))) }
    }

    #[inline(always)]
    unsafe fn store_f16(self, dst: *mut f16) {
        // SAFETY: the caller guarantees 32 writable bytes, and `storeu` has
        // no alignment need; AVX-512 is available (type invariant). NaN is
        // canonical first (`0x7FC0_0000` converts to `0x7E00`); the rounding
        // is the instruction's, to nearest even.
        unsafe {
            let halves = _mm512_cvtps_ph::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(
                self.canonical(),
            );
            _mm256_storeu_si256(dst.cast(), halves);
        }
    }
}

impl<const BF16: bool> Zmm<BF16> {
    /// The lanes, every NaN as `0x7FC0_0000`.
    #[inline(always)]
    fn canonical(self) -> __m512 {
        // SAFETY: AVX-512 is available (type invariant).
        unsafe {
            let nan = _mm512_cmp_ps_mask::<_CMP_UNORD_Q>(self.0, self.0);
            let canonical = _mm512_castsi512_ps(_mm512_set1_epi32(0x7FC0_0000));
            _mm512_mask_mov_ps(self.0, nan, canonical)
        }
    }
}

impl<const BF16: bool> Pair<Avx2> for Zmm<BF16> {
    /// Lane l of the reduction in lane l of one ZMM register.
    type Sum = __m512d;

    #[inline(always)]
    fn vector_token(token: Self::Token) -> Avx2Token {
        token.avx2()
    }

    #[inline(always)]
    unsafe fn load_quad(token: Self::Token, src: *const u16) -> [Self; 2] {
        // SAFETY: the caller guarantees 64 readable bytes, and `loadu` has no
        // alignment need; AVX-512 is available (the token).
        unsafe {
            let words = _mm512_loadu_si512(src.cast());
            [Self::widen(token, words, 0), Self::widen(token, words, 16)]
        }
    }

    #[inline(always)]
    unsafe fn store_quad([first, second]: [Self; 2], dst: *mut u16) {
        if BF16 && first.nan_or_subnormal() | second.nan_or_subnormal() == 0 {
            // SAFETY: as in `store`, for 64 bytes; `__m512bh` and `__m512i`
            // are both 512 plain bits.
            unsafe {
                let narrowed: __m512i =
                    core::mem::transmute(_mm512_cvtne2ps_pbh(second.0, first.0));
                _mm512_storeu_si512(dst.cast(), narrowed);
            }
            return;
        }
        let ((low, low_nan), (high, high_nan)) = (first.rounded(), second.rounded());
        // SAFETY: AVX-512 is available (type invariant); the caller
        // guarantees 64 writable bytes, and `storeu` has no alignment need.
        unsafe {
            let high_halves = _mm512_permutex2var_epi16(
                low,
                _mm512_load_si512(HIGH_HALVES.0.as_ptr().cast()),
                high,
            );
            let nan = _mm512_kunpackw(u32::from(high_nan), u32::from(low_nan));
            let canonical = _mm512_mask_mov_epi16(high_halves, nan, _mm512_set1_epi16(0x7FC0));
            _mm512_storeu_si512(dst.cast(), canonical);
        }
    }

    #[inline(always)]
    fn sum_zero(_: Self::Token) -> Self::Sum {
        // SAFETY: AVX-512 is available (the token).
        unsafe { _mm512_setzero_pd() }
    }
    #[inline(always)]
    fn sum_add(sum: Self::Sum, [z01, z23, z45, z67]: [Self; 4]) -> Self::Sum {
        // SAFETY: AVX-512 is available (type invariant).
        let octet_sum = unsafe {
            // [(v0 + v4) + (v2 + v6), (v1 + v5) + (v3 + v7)]
            let halves = _mm512_add_ps(_mm512_add_ps(z01.0, z45.0), _mm512_add_ps(z23.0, z67.0));
            let high = _mm512_extractf64x4_pd::<1>(_mm512_castps_pd(halves));
            _mm256_add_ps(_mm512_castps512_ps256(halves), _mm256_castpd_ps(high))
        };
        Self::sum_add_vector(sum, Avx2::new(z01.token().avx2(), octet_sum))
    }
    #[inline(always)]
    fn sum_add_vector(sum: Self::Sum, terms: Avx2) -> Self::Sum {
        // SAFETY: AVX-512 is available: a sum exists only where a token made
        // one.
        unsafe { _mm512_add_pd(sum, _mm512_cvtps_pd(terms.lanes())) }
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

    const SUMS_EIGHT_AT_ONCE: bool = true;

    /// Level 1 of the `sum_lanes` tree of both sums, `[l0+l4, l1+l5, l2+l6,
    /// l3+l7]` of the first and then of the second.
    type SumPair = __m512d;

    #[inline(always)]
    fn sum_pair(first: Self::Sum, second: Self::Sum) -> Self::SumPair {
        Self::tree_level_1(first, second)
    }

    #[inline(always)]
    fn sum_pairs_of_8(token: Self::Token, pairs: &[Self::SumPair; 8], factor: f64) -> Self {
        // The rest of the tree of `sum_lanes` for eight pairs side by side,
        // one level at a time: 19 instructions for sixteen sums, whose level
        // 1 `sum_pair` did in three per pair.
        // SAFETY: AVX-512 is available (the token).
        unsafe {
            let [p0, p1, p2, p3, p4, p5, p6, p7] = *pairs;
            // Level 2: chunk k of `u01` is sum k of [first 0, second 0,
            // first 1, second 1] as `[(l0+l4)+(l2+l6), (l1+l5)+(l3+l7)]`.
            let (u01, u23) = (Self::tree_level_2(p0, p1), Self::tree_level_2(p2, p3));
            let (u45, u67) = (Self::tree_level_2(p4, p5), Self::tree_level_2(p6, p7));
            // Level 3: the totals of [first 0, first 2, second 0, second 2,
            // first 1, first 3, second 1, second 3], and of rows 4 to 7 alike.
            let totals_0123 =
                _mm512_add_pd(_mm512_unpacklo_pd(u01, u23), _mm512_unpackhi_pd(u01, u23));
            let totals_4567 =
                _mm512_add_pd(_mm512_unpacklo_pd(u45, u67), _mm512_unpackhi_pd(u45, u67));
            // Each sum's eight totals in row order, times the factor.
            let factor = _mm512_set1_pd(factor);
            let firsts = _mm512_permutex2var_pd(
                totals_0123,
                _mm512_setr_epi64(0, 4, 1, 5, 8, 12, 9, 13),
                totals_4567,
            );
            let seconds = _mm512_permutex2var_pd(
                totals_0123,
                _mm512_setr_epi64(2, 6, 3, 7, 10, 14, 11, 15),
                totals_4567,
            );
            Self::join(
                token,
                Avx2::new(token.avx2(), _mm512_cvtpd_ps(_mm512_mul_pd(firsts, factor))),
                Avx2::new(
                    token.avx2(),
                    _mm512_cvtpd_ps(_mm512_mul_pd(seconds, factor)),
                ),
            )
        }
    }

    #[inline(always)]
    fn join(_: Self::Token, first: Avx2, second: Avx2) -> Self {
        // SAFETY: AVX-512 is available (the token).
        Zmm(unsafe {
            _mm512_castpd_ps(_mm512_insertf64x4::<1>(
                _mm512_castpd256_pd512(_mm256_castps_pd(first.lanes())),
                _mm256_castps_pd(second.lanes()),
            ))
        })
    }

    #[inline(always)]
    fn split(self) -> [Avx2; 2] {
        // SAFETY: AVX-512 is available (type invariant).
        unsafe {
            let bits = _mm512_castps_pd(self.0);
            let token = self.token().avx2();
            [
                Avx2::new(token, _mm512_castps512_ps256(self.0)),
                Avx2::new(token, _mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(bits))),
            ]
        }
    }
}

crate::arch::backend!(
    Avx2,
    Zmm<false>,
    #[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl")]
);

/// The backend that narrows with AVX-512 BF16.
pub(crate) mod with_bf16 {
    use super::{Avx2, Zmm};
    crate::arch::backend!(
        Avx2,
        Zmm<true>,
        #[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512dq,avx512bf16")]
    );
}
