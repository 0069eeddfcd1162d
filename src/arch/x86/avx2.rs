//! The AVX2 backend: eight f32 lanes in one `__m256`.

#[cfg(target_arch = "x86")]
use core::arch::x86::*;
#[cfg(target_arch = "x86_64")]
use core::arch::x86_64::*;

use half::f16;

use crate::vector::{Code, Divisor, Element, Fused, Lanes, Memory, Token, Vector, LANES};

/// Proof that the CPU runs AVX2 and FMA.
#[derive(Clone, Copy)]
pub(crate) struct Avx2Token(());

impl Token for Avx2Token {
    #[inline(always)]
    unsafe fn new_unchecked() -> Self {
        Avx2Token(())
    }
}

/// Eight f32 lanes in a YMM register.
///
/// Every method uses AVX2, FMA and F16C instructions without
/// `#[target_feature]` of its own. A value can only be made from an
/// [`Avx2Token`] (or another value), so one exists only where the CPU runs
/// AVX2, FMA and F16C: the invariant every `SAFETY` comment below relies on.
/// (The methods inline into the backend's `#[target_feature(enable =
/// "avx2,fma,f16c")]` entry points.)
#[derive(Clone, Copy)]
pub(crate) struct Avx2(__m256);

/// Lanes 0..4 and 4..8 as f64.
#[derive(Clone, Copy)]
pub(crate) struct Avx2Sum(__m256d, __m256d);

impl Fused for Avx2 {
    #[inline(always)]
    fn fused_mul_sub(self, factor: Self, subtrahend: Self) -> Self {
        // SAFETY: AVX2 and FMA are available (type invariant).
        Avx2(unsafe { _mm256_fmsub_ps(self.0, factor.0, subtrahend.0) })
    }
    #[inline(always)]
    fn fused_neg_mul_add(self, factor: Self, addend: Self) -> Self {
        // SAFETY: AVX2 and FMA are available (type invariant).
        Avx2(unsafe { _mm256_fnmadd_ps(self.0, factor.0, addend.0) })
    }
    #[inline(always)]
    fn within(self, least: f32, greatest: f32) -> bool {
        // On the magnitudes' bits, which order as the magnitudes do (signed
        // compares suffice: no bits have the top one set): zero, or
        // `least..=greatest` (NaN is above every finite bound).
        // SAFETY: AVX2 is available (type invariant).
        unsafe {
            let bits =
                _mm256_and_si256(_mm256_castps_si256(self.0), _mm256_set1_epi32(0x7FFF_FFFF));
            let below = _mm256_cmpgt_epi32(_mm256_set1_epi32(least.to_bits() as i32), bits);
            let zero = _mm256_cmpeq_epi32(bits, _mm256_setzero_si256());
            let above = _mm256_cmpgt_epi32(bits, _mm256_set1_epi32(greatest.to_bits() as i32));
            let outside = _mm256_or_si256(_mm256_andnot_si256(zero, below), above);
            _mm256_testz_si256(outside, outside) == 1
        }
    }
}

impl Avx2 {
    /// The lanes of a register, proven by `token`.
    #[inline(always)]
    pub(super) fn new(_: Avx2Token, lanes: __m256) -> Self {
        Avx2(lanes)
    }

    /// The register.
    #[inline(always)]
    pub(super) fn lanes(self) -> __m256 {
        self.0
    }

    /// Each lane rounded to the nearest bf16, ties to even, as a bit pattern
    /// in the low half of the lane, and the all-ones lanes where it is NaN
    /// (which the caller replaces by `0x7FC0`).
    #[inline(always)]
    fn rounded(self) -> (__m256i, __m256i) {
        // SAFETY: AVX2 is available (type invariant).
        unsafe {
            let bits = _mm256_castps_si256(self.0);
            let lsb = _mm256_and_si256(_mm256_srli_epi32::<16>(bits), _mm256_set1_epi32(1));
            let bias = _mm256_add_epi32(lsb, _mm256_set1_epi32(0x7FFF));
            let rounded = _mm256_srli_epi32::<16>(_mm256_add_epi32(bits, bias));
            let nan = _mm256_castps_si256(_mm256_cmp_ps::<_CMP_UNORD_Q>(self.0, self.0));
            (rounded, nan)
        }
    }
}

/// `first(n)` loads its mask from `FIRST_MASK[8 - n..]`: n all-ones lanes, then zeros.
static FIRST_MASK: [i32; 2 * LANES] = [-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0];

impl Lanes for Avx2 {
    type Token = Avx2Token;
    #[inline(always)]
    fn token(self) -> Avx2Token {
        Avx2Token(())
    }
    #[inline(always)]
    fn splat(_: Avx2Token, x: f32) -> Self {
        // SAFETY: AVX2 is available (type invariant).
        Avx2(unsafe { _mm256_set1_ps(x) })
    }
    #[inline(always)]
    fn add(self, rhs: Self) -> Self {
        // SAFETY: AVX2 is available (type invariant).
        Avx2(unsafe { _mm256_add_ps(self.0, rhs.0) })
    }
    #[inline(always)]
    fn sub(self, rhs: Self) -> Self {
        // SAFETY: AVX2 is available (type invariant).
        Avx2(unsafe { _mm256_sub_ps(self.0, rhs.0) })
    }
    #[inline(always)]
    fn mul(self, rhs: Self) -> Self {
        // SAFETY: AVX2 is available (type invariant).
        Avx2(unsafe { _mm256_mul_ps(self.0, rhs.0) })
    }
    #[inline(always)]
    fn div(self, rhs: Self) -> Self {
        // SAFETY: AVX2 is available (type invariant).
        Avx2(unsafe { _mm256_div_ps(self.0, rhs.0) })
    }
    #[inline(always)]
    fn divide<const R: bool>(self, divisor: &Divisor<R>) -> Self {
        divisor.quotient(self)
    }
    #[inline(always)]
    fn max(self, lo: Self) -> Self {
        // `maxps(a, b)` is `a > b ? a : b`, so `maxps(lo, x)` is exactly `x < lo ? lo : x`.
        // SAFETY: AVX2 is available (type invariant).
        Avx2(unsafe { _mm256_max_ps(lo.0, self.0) })
    }
    #[inline(always)]
    fn min(self, hi: Self) -> Self {
        // `minps(a, b)` is `a < b ? a : b`, so `minps(hi, x)` is exactly `x > hi ? hi : x`.
        // SAFETY: AVX2 is available (type invariant).
        Avx2(unsafe { _mm256_min_ps(hi.0, self.0) })
    }
    #[inline(always)]
    fn round(self) -> Self {
        // SAFETY: AVX2 is available (type invariant).
        Avx2(unsafe {
            _mm256_round_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(self.0)
        })
    }
    #[inline(always)]
    fn one_where_equal(self, clipped: Self) -> Self {
        // SAFETY: AVX2 is available (type invariant).
        Avx2(unsafe {
            let equal = _mm256_cmp_ps::<_CMP_EQ_OQ>(self.0, clipped.0);
            let otherwise = _mm256_sub_ps(clipped.0, clipped.0);
            _mm256_blendv_ps(otherwise, _mm256_set1_ps(1.0), equal)
        })
    }
    #[inline(always)]
    fn mul_add(self, factor: Self, addend: Self) -> Self {
        // SAFETY: AVX2 and FMA are available (type invariant).
        Avx2(unsafe { _mm256_fmadd_ps(self.0, factor.0, addend.0) })
    }
    #[inline(always)]
    fn neg_mul_add(self, factor: Self, addend: Self) -> Self {
        // SAFETY: AVX2 and FMA are available (type invariant).
        Avx2(unsafe { _mm256_fnmadd_ps(self.0, factor.0, addend.0) })
    }
}

impl Avx2 {
    /// The eight codes in the low bytes of `bytes`, converted exactly.
    #[inline(always)]
    fn from_codes<C: Code>(bytes: __m128i) -> Self {
        // SAFETY: AVX2 is available (type invariant of the caller's value).
        unsafe {
            let wide = if C::SIGNED {
                _mm256_cvtepi8_epi32(bytes)
            } else {
                _mm256_cvtepu8_epi32(bytes)
            };
            Avx2(_mm256_cvtepi32_ps(wide))
        }
    }

    /// The codes of `low`'s lanes in bytes 0..8, then `high`'s in 8..16:
    /// lanes hold integers in `C`'s range, so the conversion and the
    /// saturating packs are exact.
    #[inline(always)]
    fn to_codes<C: Code>(low: Self, high: Self) -> __m128i {
        // SAFETY: AVX2 is available (type invariant).
        unsafe {
            let words = |v: Self| {
                let ints = _mm256_cvttps_epi32(v.0);
                _mm_packs_epi32(
                    _mm256_castsi256_si128(ints),
                    _mm256_extracti128_si256::<1>(ints),
                )
            };
            if C::SIGNED {
                _mm_packs_epi16(words(low), words(high))
            } else {
                _mm_packus_epi16(words(low), words(high))
            }
        }
    }
}

impl Memory for Avx2 {
    type Staged<E: Element> = [E; LANES];

    #[inline(always)]
    unsafe fn load(_: Avx2Token, src: *const u16) -> Self {
        // SAFETY: AVX2 is available (type invariant); the caller guarantees 16
        // readable bytes at `src`, and `loadu` has no alignment requirement.
        unsafe {
            let bits = _mm256_cvtepu16_epi32(_mm_loadu_si128(src.cast()));
            Avx2(_mm256_castsi256_ps(_mm256_slli_epi32::<16>(bits)))
        }
    }

    #[inline(always)]
    unsafe fn store(self, dst: *mut u16) {
        let (rounded, nan) = self.rounded();
        // SAFETY: AVX2 is available (type invariant); the caller guarantees 16
        // writable bytes at `dst`, and `storeu` has no alignment requirement.
        unsafe {
            let canonical = _mm256_blendv_epi8(rounded, _mm256_set1_epi32(0x7FC0), nan);
            // Every lane is at most 0xFFFF, so the saturating pack is exact.
            let packed = _mm_packus_epi32(
                _mm256_castsi256_si128(canonical),
                _mm256_extracti128_si256::<1>(canonical),
            );
            _mm_storeu_si128(dst.cast(), packed);
        }
    }

    #[inline(always)]
    unsafe fn load_codes<C: Code>(_: Avx2Token, src: *const C) -> Self {
        // SAFETY: AVX2 is available (type invariant); the caller guarantees 8
        // readable bytes at `src`, and `loadl` has no alignment requirement.
        unsafe { Avx2::from_codes::<C>(_mm_loadl_epi64(src.cast())) }
    }

    #[inline(always)]
    unsafe fn store_codes<C: Code>(self, dst: *mut C) {
        // SAFETY: AVX2 is available (type invariant); the caller guarantees 8
        // writable bytes at `dst`, and `storel` has no alignment requirement.
        unsafe { _mm_storel_epi64(dst.cast(), Avx2::to_codes::<C>(self, self)) }
    }
    #[inline(always)]
    unsafe fn load_f32(_: Avx2Token, src: *const f32) -> Self {
        // SAFETY: AVX2 is available (type invariant); the caller guarantees 32
        // readable bytes at `src`, and `loadu` has no alignment requirement.
        unsafe { Avx2(_mm256_loadu_ps(src)) }
    }

    #[inline(always)]
    unsafe fn store_f32(self, dst: *mut f32) {
        // SAFETY: AVX2 is available (type invariant); the caller guarantees 32
        // writable bytes at `dst`, and `storeu` has no alignment requirement.
        unsafe { _mm256_storeu_ps(dst, self.canonical()) }
    }
    #[inline(always)]
    unsafe fn load_f16(_: Avx2Token, src: *const f16) -> Self {
        // SAFETY: the caller guarantees 16 readable bytes at `src`, and
        // `loadu` has no alignment requirement.
        Avx2::from_f16(unsafe { _mm_loadu_si128(src.cast()) })
    }

    #[inline(always)]
    unsafe fn store_f16(self, dst: *mut f16) {
        // SAFETY: the caller guarantees 16 writable bytes at `dst`, and
        // `storeu` has no alignment requirement.
        unsafe { _mm_storeu_si128(dst.cast(), self.to_f16()) }
    }
}

impl Avx2 {
    /// Eight binary16 values widened (F16C; exact).
    #[inline(always)]
    fn from_f16(halves: __m128i) -> Self {
        // SAFETY: F16C is available (type invariant: the backend requires it).
        Avx2(unsafe { _mm256_cvtph_ps(halves) })
    }

    /// The lanes narrowed to binary16: NaN canonical first (`0x7FC0_0000`
    /// converts to `0x7E00`), then round to nearest even, whatever MXCSR
    /// says (the rounding is the instruction's).
    #[inline(always)]
    fn to_f16(self) -> __m128i {
        // SAFETY: F16C is available (type invariant).
        unsafe { _mm256_cvtps_ph::<_MM_FROUND_TO_NEAREST_INT>(self.canonical()) }
    }

    /// The lanes, every NaN as `0x7FC0_0000`.
    #[inline(always)]
    fn canonical(self) -> __m256 {
        // SAFETY: AVX2 is available (type invariant).
        unsafe {
            let nan = _mm256_cmp_ps::<_CMP_UNORD_Q>(self.0, self.0);
            _mm256_blendv_ps(
                self.0,
                _mm256_castsi256_ps(_mm256_set1_epi32(0x7FC0_0000)),
                nan,
            )
        }
    }
}

impl Vector for Avx2 {
    type Sum = Avx2Sum;

    // Pairs are loaded with the words unpacked within each 128-bit half: the
    // first vector holds elements 0..4 and 8..12, the second 4..8 and 12..16.
    // That takes one load and two unpacks for sixteen elements where the
    // plain order takes four instructions, and the narrowing then packs two
    // vectors with one in-lane pack, with no cross-lane fix-up.
    #[inline(always)]
    unsafe fn load_pair(_: Avx2Token, src: *const u16) -> [Self; 2] {
        // SAFETY: AVX2 is available (type invariant); the caller guarantees
        // 32 readable bytes, and `loadu` has no alignment requirement.
        unsafe {
            let words = _mm256_loadu_si256(src.cast());
            let zero = _mm256_setzero_si256();
            [
                Avx2(_mm256_castsi256_ps(_mm256_unpacklo_epi16(zero, words))),
                Avx2(_mm256_castsi256_ps(_mm256_unpackhi_epi16(zero, words))),
            ]
        }
    }

    #[inline(always)]
    unsafe fn store_pair([first, second]: [Self; 2], dst: *mut u16) {
        let (low, low_nan) = first.rounded();
        let (high, high_nan) = second.rounded();
        // SAFETY: AVX2 is available (type invariant); the caller guarantees
        // 32 writable bytes, and `storeu` has no alignment requirement.
        unsafe {
            // Every lane is at most 0xFFFF, so the saturating packs are
            // exact; they interleave the halves as `load_pair` split them.
            let packed = _mm256_packus_epi32(low, high);
            let nan = _mm256_packs_epi32(low_nan, high_nan);
            let canonical = _mm256_blendv_epi8(packed, _mm256_set1_epi16(0x7FC0), nan);
            _mm256_storeu_si256(dst.cast(), canonical);
        }
    }

    // f32 values follow `load_pair`'s order: the 128-bit halves of the two
    // loads exchanged.
    #[inline(always)]
    unsafe fn load_f32_pair(_: Avx2Token, src: *const f32) -> [Self; 2] {
        // SAFETY: AVX2 is available (type invariant); the caller guarantees
        // 64 readable bytes, and `loadu` has no alignment requirement.
        unsafe {
            let (low, high) = (_mm256_loadu_ps(src), _mm256_loadu_ps(src.add(LANES)));
            [
                Avx2(_mm256_permute2f128_ps::<0x20>(low, high)),
                Avx2(_mm256_permute2f128_ps::<0x31>(low, high)),
            ]
        }
    }

    #[inline(always)]
    unsafe fn store_f32_pair([first, second]: [Self; 2], dst: *mut f32) {
        let (first, second) = (first.canonical(), second.canonical());
        // SAFETY: AVX2 is available (type invariant); the caller guarantees
        // 64 writable bytes, and `storeu` has no alignment requirement.
        unsafe {
            _mm256_storeu_ps(dst, _mm256_permute2f128_ps::<0x20>(first, second));
            _mm256_storeu_ps(
                dst.add(LANES),
                _mm256_permute2f128_ps::<0x31>(first, second),
            );
        }
    }

    // binary16 values as f32 ones: the halves of the two loads exchanged.
    #[inline(always)]
    unsafe fn load_f16_pair(_: Avx2Token, src: *const f16) -> [Self; 2] {
        // SAFETY: AVX2 is available (type invariant); the caller guarantees
        // 32 readable bytes, and `loadu` has no alignment requirement.
        unsafe {
            let (low, high) = (
                Avx2::from_f16(_mm_loadu_si128(src.cast())).0,
                Avx2::from_f16(_mm_loadu_si128(src.add(LANES).cast())).0,
            );
            [
                Avx2(_mm256_permute2f128_ps::<0x20>(low, high)),
                Avx2(_mm256_permute2f128_ps::<0x31>(low, high)),
            ]
        }
    }

    #[inline(always)]
    unsafe fn store_f16_pair([first, second]: [Self; 2], dst: *mut f16) {
        // SAFETY: AVX2 is available (type invariant); the caller guarantees
        // 32 writable bytes, and `storeu` has no alignment requirement.
        unsafe {
            let low = Avx2(_mm256_permute2f128_ps::<0x20>(first.0, second.0));
            let high = Avx2(_mm256_permute2f128_ps::<0x31>(first.0, second.0));
            _mm_storeu_si128(dst.cast(), low.to_f16());
            _mm_storeu_si128(dst.add(LANES).cast(), high.to_f16());
        }
    }

    // Codes follow `load_pair`'s order: in 4-code chunks c0..c4 of sixteen,
    // the first vector holds c0 and c2, the second c1 and c3.
    #[inline(always)]
    unsafe fn load_codes_pair<C: Code>(_: Avx2Token, src: *const C) -> [Self; 2] {
        // SAFETY: AVX2 is available (type invariant); the caller guarantees 16
        // readable bytes, and `loadu` has no alignment requirement.
        unsafe {
            let chunks = _mm_shuffle_epi32::<0b11_01_10_00>(_mm_loadu_si128(src.cast()));
            [
                Avx2::from_codes::<C>(chunks),
                Avx2::from_codes::<C>(_mm_unpackhi_epi64(chunks, chunks)),
            ]
        }
    }

    #[inline(always)]
    unsafe fn store_codes_pair<C: Code>([first, second]: [Self; 2], dst: *mut C) {
        // SAFETY: AVX2 is available (type invariant); the caller guarantees 16
        // writable bytes, and `storeu` has no alignment requirement.
        unsafe {
            let chunks = Avx2::to_codes::<C>(first, second);
            _mm_storeu_si128(dst.cast(), _mm_shuffle_epi32::<0b11_01_10_00>(chunks));
        }
    }

    #[inline(always)]
    fn octet_sum(pairs: [[Self; 2]; 4]) -> Self {
        let [[v01_low, v01_high], [v23_low, v23_high], [v45_low, v45_high], [v67_low, v67_high]] =
            pairs;
        // SAFETY: AVX2 is available (type invariant).
        unsafe {
            // Lanes 0..4 of ((v0 + v4) + (v2 + v6)) and of ((v1 + v5) + (v3 +
            // v7)), then the same for lanes 4..8.
            let low = _mm256_add_ps(
                _mm256_add_ps(v01_low.0, v45_low.0),
                _mm256_add_ps(v23_low.0, v67_low.0),
            );
            let high = _mm256_add_ps(
                _mm256_add_ps(v01_high.0, v45_high.0),
                _mm256_add_ps(v23_high.0, v67_high.0),
            );
            let even = _mm256_permute2f128_ps::<0x20>(low, high);
            let odd = _mm256_permute2f128_ps::<0x31>(low, high);
            Avx2(_mm256_add_ps(even, odd))
        }
    }

    #[inline(always)]
    fn first(self, n: usize) -> Self {
        debug_assert!(n < LANES);
        let mask = &FIRST_MASK[LANES - n..];
        // SAFETY: AVX2 is available (type invariant); `mask` holds at least
        // eight i32 since n < LANES.
        Avx2(unsafe {
            let keep = _mm256_loadu_si256(mask.as_ptr().cast());
            _mm256_and_ps(self.0, _mm256_castsi256_ps(keep))
        })
    }

    #[inline(always)]
    fn from_array(_: Avx2Token, lanes: [f32; LANES]) -> Self {
        // SAFETY: AVX2 is available (type invariant); `lanes` holds eight f32,
        // and `loadu` has no alignment requirement.
        Avx2(unsafe { _mm256_loadu_ps(lanes.as_ptr()) })
    }

    #[inline(always)]
    fn to_array(self) -> [f32; LANES] {
        let mut lanes = [0.0; LANES];
        // SAFETY: AVX2 is available (type invariant); `lanes` has room for
        // eight f32, and `storeu` has no alignment requirement.
        unsafe { _mm256_storeu_ps(lanes.as_mut_ptr(), self.0) };
        lanes
    }

    #[inline(always)]
    fn sum_zero(_: Avx2Token) -> Self::Sum {
        // SAFETY: AVX2 is available (type invariant).
        unsafe { Avx2Sum(_mm256_setzero_pd(), _mm256_setzero_pd()) }
    }
    #[inline(always)]
    fn sum_add(sum: Self::Sum, terms: Self) -> Self::Sum {
        // SAFETY: AVX2 is available (type invariant).
        unsafe {
            let low = _mm256_cvtps_pd(_mm256_castps256_ps128(terms.0));
            let high = _mm256_cvtps_pd(_mm256_extractf128_ps::<1>(terms.0));
            Avx2Sum(_mm256_add_pd(sum.0, low), _mm256_add_pd(sum.1, high))
        }
    }
    #[inline(always)]
    fn sum_lanes(sum: Self::Sum) -> f64 {
        // SAFETY: AVX2 is available (type invariant).
        unsafe {
            // [l0+l4, l1+l5, l2+l6, l3+l7]
            let quad = _mm256_add_pd(sum.0, sum.1);
            // [(l0+l4)+(l2+l6), (l1+l5)+(l3+l7)]
            let pair = _mm_add_pd(
                _mm256_castpd256_pd128(quad),
                _mm256_extractf128_pd::<1>(quad),
            );
            _mm_cvtsd_f64(pair) + _mm_cvtsd_f64(_mm_unpackhi_pd(pair, pair))
        }
    }
}

crate::arch::backend!(Avx2, crate::vector::Two<Avx2>, #[target_feature(enable = "avx2,fma,f16c")]);
