//! How the kernels divide by a scale ([`Division`], [`set_division`]): by
//! a division instruction per element, or by a reciprocal with one fused
//! correction ([`crate::vector::Divisor`], where the argument is), which
//! gives the same bits. And the proof by exhaustion of that argument, in
//! the tests below (`cargo test --release --lib division -- --ignored`).

use core::sync::atomic::{AtomicU8, Ordering};

/// How the kernels divide by a scale. Every choice gives the same bits;
/// only the speed differs. In C, the `QAT_DIVISION_*` values of
/// `qat_set_division`.
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Division {
    /// The faster of the two for this CPU, as far as known (the default):
    /// by reciprocal on Intel x86 CPUs, whose division instructions are
    /// slow beside their multiply-adds; by instruction elsewhere (AMD's
    /// recent cores divide about as fast).
    Auto = 0,
    /// A division instruction per element.
    Instruction = 1,
    /// By a reciprocal computed once per group, row or tensor, with one
    /// correction step, wherever that is proven exact (the backends with
    /// fused multiply-add: AVX2, AVX-512, NEON); by instruction elsewhere.
    Reciprocal = 2,
}

/// Every value, in the order of their codes.
const DIVISIONS: [Division; 3] = [Division::Auto, Division::Instruction, Division::Reciprocal];

impl Division {
    /// The division with this C code, if any.
    pub fn from_code(code: i32) -> Option<Division> {
        DIVISIONS
            .into_iter()
            .find(|&division| division as i32 == code)
    }
}

/// The [`Division`] set, as its index (`Auto` until set).
static CHOICE: AtomicU8 = AtomicU8::new(0);

/// Makes every later call (process-wide, from any thread) divide as
/// `division` says. The results are the same bits either way.
///
/// ```
/// use qat_kernels::{active_division, set_division, Division};
/// set_division(Division::Instruction);
/// assert_eq!(active_division(), Division::Instruction);
/// set_division(Division::Auto);
/// ```
pub fn set_division(division: Division) {
    CHOICE.store(division as u8, Ordering::Relaxed);
}

/// How calls divide now: `Auto` resolved for this CPU, and on the active
/// backend (the portable one, and so every target without AVX2, AVX-512 or
/// NEON, divides by instruction whatever was set). Never `Auto`.
///
/// ```
/// use qat_kernels::{active_division, set_division, set_isa, Division, Isa};
/// set_isa(Isa::Scalar)?;
/// set_division(Division::Reciprocal);
/// assert_eq!(active_division(), Division::Instruction);
/// set_division(Division::Auto);
/// set_isa(Isa::Auto)?;
/// # Ok::<(), qat_kernels::Error>(())
/// ```
pub fn active_division() -> Division {
    #[cfg(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64"))]
    if by_reciprocal() && crate::dispatch::active().fuses() {
        return Division::Reciprocal;
    }
    Division::Instruction
}

/// Whether divisors are inverted now: read once per call, into the
/// quantizer's constants.
#[cfg(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64"))]
#[inline(always)]
pub(crate) fn by_reciprocal() -> bool {
    match CHOICE.load(Ordering::Relaxed) {
        0 => crate::arch::divides_slowly(),
        1 => false,
        _ => true,
    }
}

/// One lane, for the tests: the standard library's fused multiply-add.
#[cfg(test)]
impl crate::vector::Fused for f32 {
    fn fused_mul_sub(self, factor: f32, subtrahend: f32) -> f32 {
        self.mul_add(factor, -subtrahend)
    }
    fn fused_neg_mul_add(self, factor: f32, addend: f32) -> f32 {
        (-self).mul_add(factor, addend)
    }
    fn within(self, least: f32, greatest: f32) -> bool {
        let magnitude = self.abs();
        magnitude == 0.0 || (least..=greatest).contains(&magnitude)
    }
}

#[cfg(test)]
mod tests {
    //! The proof by exhaustion of the classes the module's comment names,
    //! against IEEE division (the hardware's `/`), and the exponent sweep.
    //! The long ones run in CI's long stage:
    //! `cargo test --release --lib division -- --ignored`.
    extern crate std;
    use crate::vector::{power_of_two, reciprocal_within_quarter, Divisor, Fused};
    use std::vec::Vec;

    /// The significand `m` (23 bits) in `[1, 2)`.
    fn in_one_two(m: u32) -> f32 {
        f32::from_bits(0x3F80_0000 | m)
    }

    /// The three steps on `x` and `b`, and how the remainder came out:
    /// exact (`q * b - x` in f64 is exact: 48-bit products of values in
    /// `[1/2, 4)`), or rounded at a magnitude of at least `2^-23`, so that
    /// it stays normal, and its rounding scales with `x`, wherever `|x| >=
    /// 2^-101` (see `docs/numerics.md`).
    fn steps(x: f32, b: f32) -> (f32, Remainder) {
        let y = 1.0 / b;
        let q = x * y;
        let rn = q.fused_mul_sub(b, x);
        let remainder = if f64::from(rn) == f64::from(q) * f64::from(b) - f64::from(x) {
            Remainder::Exact
        } else if rn.abs() >= power_of_two(-23) {
            Remainder::Rounded
        } else {
            Remainder::Small
        };
        (rn.fused_neg_mul_add(y, q), remainder)
    }

    #[derive(PartialEq, Debug)]
    enum Remainder {
        Exact,
        Rounded,
        /// Rounded below `2^-23`: would break the scaling argument.
        Small,
    }

    /// Every dividend significand of `dividend_bits` significant bits
    /// against each divisor significand in `divisors`, on all threads:
    /// `(pairs, wrong, rounded remainders)`, where a pair is wrong if its
    /// quotient differs or its remainder was rounded below `2^-23`.
    fn every_pair(divisors: &[u32], dividend_bits: u32) -> (u64, u64, u64) {
        let step = 1 << (24 - dividend_bits);
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let chunk = divisors.len().div_ceil(threads);
        std::thread::scope(|scope| {
            let handles: Vec<_> = divisors
                .chunks(chunk)
                .map(|part| {
                    scope.spawn(move || {
                        let (mut pairs, mut wrong, mut inexact) = (0, 0, 0);
                        for &d in part {
                            let b = in_one_two(d);
                            for m in (0..1 << 23).step_by(step) {
                                let x = in_one_two(m);
                                let (q, remainder) = steps(x, b);
                                pairs += 1;
                                wrong += u64::from(
                                    q.to_bits() != (x / b).to_bits()
                                        || remainder == Remainder::Small,
                                );
                                inexact += u64::from(remainder == Remainder::Rounded);
                            }
                        }
                        (pairs, wrong, inexact)
                    })
                })
                .collect();
            handles.into_iter().fold((0, 0, 0), |t, h| {
                let (p, w, i) = h.join().unwrap();
                (t.0 + p, t.1 + w, t.2 + i)
            })
        })
    }

    /// Divisors with at most 8 significant bits (bf16 scales, and `alpha`
    /// and `ps` made from them) against every f32 dividend: 2^30 pairs.
    #[test]
    #[ignore = "long: 2^30 pairs, CI's long stage"]
    fn bf16_divisors_against_every_dividend() {
        let divisors: Vec<u32> = (0..128).map(|m| m << 16).collect();
        let (pairs, wrong, inexact) = every_pair(&divisors, 24);
        std::println!("{pairs} pairs: {wrong} wrong, {inexact} remainders rounded");
        assert_eq!((pairs, wrong, inexact), (1 << 30, 0, 0));
    }

    /// Every f32 divisor (per-token scales, `eps`) against dividends of at
    /// most 11 significant bits (binary16 data, and bf16's 8 among them):
    /// 2^33 pairs.
    #[test]
    #[ignore = "long: 2^33 pairs, CI's long stage"]
    fn every_divisor_against_narrow_dividends() {
        let divisors: Vec<u32> = (0..1 << 23).collect();
        let (pairs, wrong, inexact) = every_pair(&divisors, 11);
        std::println!("{pairs} pairs: {wrong} wrong, {inexact} remainders rounded (above 2^-23)");
        assert_eq!((pairs, wrong), (1 << 33, 0));
    }

    /// Every bf16 dividend (both signs, zeros, subnormals, infinities, NaN)
    /// against every positive bf16 divisor at every exponent (subnormal,
    /// infinite and NaN divisors too), through [`Divisor::quotient`] with
    /// its range tests: 2^31 pairs, each the bits of IEEE division, and
    /// most by reciprocal.
    #[test]
    #[ignore = "long: 2^31 pairs, CI's long stage"]
    fn every_bf16_pair_at_every_exponent() {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get()) as u32;
        let (wrong, fast) = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    scope.spawn(move || {
                        let (mut wrong, mut fast) = (0u64, 0u64);
                        for d in (t..0x8000).step_by(threads as usize) {
                            let b = f32::from_bits(d << 16);
                            let divisor = Divisor::<true>::new(b, true);
                            for xb in 0..=u16::MAX {
                                let x = f32::from_bits(u32::from(xb) << 16);
                                let got = divisor.quotient(x);
                                let want = x / b;
                                let same = got.to_bits() == want.to_bits()
                                    || (got.is_nan() && want.is_nan());
                                wrong += u64::from(!same);
                                fast += u64::from(
                                    divisor.fast().exact
                                        && x.within(divisor.fast().least, divisor.fast().greatest),
                                );
                            }
                        }
                        (wrong, fast)
                    })
                })
                .collect();
            handles.into_iter().fold((0, 0), |t, h| {
                let (w, f) = h.join().unwrap();
                (t.0 + w, t.1 + f)
            })
        });
        std::println!("2^31 pairs: {wrong} differ, {fast} by reciprocal");
        assert_eq!(wrong, 0);
        assert!(fast > 1 << 30, "only {fast} pairs took the reciprocal");
    }

    /// Divisors whose reciprocal is within `2^-25` (Markstein's theorem, no
    /// exhaustion) against f32 dividends, sampled; and the hardest divisors
    /// of all (the largest reciprocal errors) against the dividends just
    /// below them, where `RN(x * y)` is furthest from faithful.
    #[test]
    fn quarter_ulp_divisors_and_hard_pairs() {
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut checked = 0;
        while checked < 200_000 {
            let b = in_one_two(next() as u32 & 0x7F_FFFF);
            if !reciprocal_within_quarter(b, 1.0 / b) {
                continue;
            }
            let x = in_one_two(next() as u32 & 0x7F_FFFF);
            let (q, remainder) = steps(x, b);
            assert!(
                remainder == Remainder::Exact && q.to_bits() == (x / b).to_bits(),
                "{x:e} / {b:e}"
            );
            checked += 1;
        }
        // Significands 0x7FFFFF down: reciprocal errors near 2^-24.
        for d in (0x7F_FF00..0x80_0000).rev() {
            let b = in_one_two(d);
            let mut x = in_one_two(d - 0x4000);
            while x < b {
                let (q, remainder) = steps(x, b);
                assert!(
                    remainder != Remainder::Small && q.to_bits() == (x / b).to_bits(),
                    "{x:e} / {b:e}"
                );
                x = f32::from_bits(x.to_bits() + 1);
            }
        }
    }

    /// The integer test of the reciprocal's error against f64.
    #[test]
    fn quarter_test_is_the_relative_error() {
        for d in (0..1 << 23).step_by(97) {
            let b = in_one_two(d);
            let y = 1.0 / b;
            let error = (1.0 - f64::from(b) * f64::from(y)).abs();
            assert_eq!(
                reciprocal_within_quarter(b, y),
                error <= 2f64.powi(-25),
                "{b:e}"
            );
        }
    }

    /// The range tests: zero and the bounds in, just outside them out,
    /// infinities and NaN out.
    #[test]
    fn range_of_dividends() {
        let d = *Divisor::<true>::new(0.0078125, false).fast();
        assert!(d.exact);
        for (x, inside) in [
            (0.0, true),
            (-0.0, true),
            (d.least, true),
            (-d.greatest, true),
            (f32::from_bits(d.least.to_bits() - 1), false),
            (f32::from_bits(d.greatest.to_bits() + 1), false),
            (f32::INFINITY, false),
            (f32::NAN, false),
            (f32::from_bits(1), false),
        ] {
            assert_eq!(x.within(d.least, d.greatest), inside, "{x:e}");
        }
        for b in [0.0, -1.0, f32::INFINITY, f32::NAN, 1e-38, 1e38] {
            assert!(!Divisor::<true>::new(b, true).fast().exact, "{b:e}");
        }
    }
}
