//! Integer codes: quantize, dequantize and packing, on every backend.
//!
//! - Exhaustive: all 65,536 bf16 weights, every bit width (per group) and
//!   several ranges (symmetric), scales and offsets: codes equal to the
//!   independent reference's, and their values bit for bit the forward
//!   pass's; a NaN anywhere refused with nothing written.
//! - Properties (quickcheck): random shapes and values, every backend the same
//!   codes, values equal to the forward pass, codes off the grid refused,
//!   packing round trips.

mod common;

use common::*;
use half::bf16;
use qat_kernels::{
    pack_codes, pack_signed_codes, packed_len, unpack_codes, unpack_signed_codes, Argument,
    AsymmetricPerGroup, Backend, Error, Rule, Symmetric,
};
use quickcheck::{QuickCheck, TestResult};

/// Panics with the first index where `got` and `want` differ.
fn same<T: PartialEq + std::fmt::Debug>(got: &[T], want: &[T], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    if let Some(i) = (0..got.len()).find(|&i| got[i] != want[i]) {
        panic!("{what}: element {i}: got {:?}, want {:?}", got[i], want[i]);
    }
}

/// Every bf16 pattern but the NaNs, which have no code.
fn finite_and_infinite_weights() -> Vec<bf16> {
    (0..=u16::MAX)
        .map(bf16::from_bits)
        .filter(|x| !x.is_nan())
        .collect()
}

/// Quantize on `b`, check against the reference, dequantize, and compare
/// with the forward pass; returns the codes.
fn asymmetric_round_trip(
    b: Backend,
    x: &[bf16],
    s: &[bf16],
    o: &[bf16],
    p: &AsymmetricPerGroup,
) -> Option<Vec<u8>> {
    let mut codes = vec![0xAA; x.len()];
    let status = b.asymmetric_per_group_quantize(x, s, o, &mut codes, p);
    // Quantize succeeds exactly when every forward value is finite.
    let want = asymmetric_codes(x, s, o, p);
    let want: Option<Vec<u8>> = want.into_iter().collect();
    let finite = want
        .as_ref()
        .is_some_and(|c| asymmetric_values(c, s, o, p).iter().all(|v| v.is_finite()));
    if !finite {
        assert_eq!(
            status,
            Err(Error::new(Argument::Weight, Rule::NoCode)),
            "{p:?}"
        );
        assert!(codes.iter().all(|&c| c == 0xAA), "written on error");
        return None;
    }
    status.unwrap();
    let want = want.unwrap();
    same(
        &codes,
        &want,
        &format!("codes against the reference ({p:?})"),
    );
    let (mut values, mut forward) = (vec![bf16::ZERO; x.len()], vec![bf16::ZERO; x.len()]);
    b.asymmetric_per_group_dequantize(&codes, s, o, &mut values, p)
        .unwrap();
    b.asymmetric_per_group(x, s, o, &mut forward, p).unwrap();
    let bits = |v: &[bf16]| v.iter().map(|b| b.to_bits()).collect::<Vec<_>>();
    same(
        &bits(&values),
        &bits(&forward),
        &format!("values of codes differ from the forward pass ({p:?})"),
    );
    same(
        &bits(&values),
        &bits(&asymmetric_values(&codes, s, o, p)),
        "values differ from the reference",
    );
    Some(codes)
}

#[test]
fn asymmetric_codes_all_weights_every_bit_width() {
    let x = finite_and_infinite_weights();
    let group_size = x.len() / 2;
    for bit in 1..=8 {
        for (scale, offset, clip_val) in [
            (0.05f32, 0.0f32, 0.99f32),
            (1e-3, 0.01, 0.5),
            (3.0, -1e3, 0.999),
            (1e-30, 1e-29, 0.99),
        ] {
            let p = AsymmetricPerGroup {
                group_size,
                bit,
                eps: 1e-4,
                clip_val,
            };
            let s = vec![bf16::from_f32(scale), bf16::from_f32(scale * 7.0)];
            let o = vec![bf16::from_f32(offset), bf16::from_f32(-offset)];
            let mut first: Option<Vec<u8>> = None;
            for (name, b) in backends() {
                let codes = asymmetric_round_trip(b, &x, &s, &o, &p)
                    .expect("every forward value is finite here");
                assert!(
                    codes.iter().all(|&q| u32::from(q) < 1 << bit),
                    "{name}: code off the grid"
                );
                match &first {
                    None => first = Some(codes),
                    Some(f) => same(&codes, f, &format!("{name} against scalar (bit {bit})")),
                }
            }
        }
    }
}

fn symmetric_round_trip(b: Backend, x: &[bf16], s: &[bf16], p: &Symmetric) -> Option<Vec<i8>> {
    let cols = x.len() / s.len();
    let mut codes = vec![0x55; x.len()];
    let status = b.symmetric_per_channel_quantize(x, s, &mut codes, p);
    // Quantize succeeds exactly when every forward value is finite.
    let want: Option<Vec<i8>> = symmetric_codes(x, s, cols, p).into_iter().collect();
    let finite = want.as_ref().is_some_and(|c| {
        symmetric_values(c, s, cols, p)
            .iter()
            .all(|v| v.is_finite())
    });
    if !finite {
        assert_eq!(
            status,
            Err(Error::new(Argument::Weight, Rule::NoCode)),
            "{p:?}"
        );
        assert!(codes.iter().all(|&c| c == 0x55), "written on error");
        return None;
    }
    status.unwrap();
    let want = want.unwrap();
    same(
        &codes,
        &want,
        &format!("codes against the reference ({p:?})"),
    );
    let (mut values, mut forward) = (vec![bf16::ZERO; x.len()], vec![bf16::ZERO; x.len()]);
    b.symmetric_per_channel_dequantize(&codes, s, &mut values, p)
        .unwrap();
    b.symmetric_per_channel(x, s, &mut forward, p).unwrap();
    let bits = |v: &[bf16]| v.iter().map(|b| b.to_bits()).collect::<Vec<_>>();
    same(
        &bits(&values),
        &bits(&forward),
        &format!("values of codes differ from the forward pass ({p:?})"),
    );
    same(
        &bits(&values),
        &bits(&symmetric_values(&codes, s, cols, p)),
        "values differ from the reference",
    );
    if s.len() == 1 {
        let mut tensor = vec![0; x.len()];
        b.symmetric_per_tensor_quantize(x, s[0], &mut tensor, p)
            .unwrap();
        same(&tensor, &codes, "per tensor against one channel");
        let mut tensor_values = vec![bf16::ZERO; x.len()];
        b.symmetric_per_tensor_dequantize(&tensor, s[0], &mut tensor_values, p)
            .unwrap();
        same(&bits(&tensor_values), &bits(&values), "per tensor values");
    }
    Some(codes)
}

#[test]
fn symmetric_codes_all_weights_every_range() {
    let x = finite_and_infinite_weights();
    for (min_v, max_v) in [
        (-128.0f32, 127.0f32),
        (-8.0, 7.0),
        (-1.0, 1.0),
        (0.0, 15.0),
        (-2.0, -1.0),
        (3.0, 3.0),
    ] {
        for (scales, eps) in [
            (vec![0.02f32], 1e-4f32),
            (vec![1e-3, 0.5], 1e-4),
            (vec![0.0, 1e36], 1e-30),
        ] {
            let p = Symmetric { eps, min_v, max_v };
            let s: Vec<bf16> = scales.iter().map(|&v| bf16::from_f32(v)).collect();
            let x = &x[..x.len() / s.len() * s.len()];
            let mut first: Option<Vec<i8>> = None;
            for (name, b) in backends() {
                let codes =
                    symmetric_round_trip(b, x, &s, &p).expect("every forward value is finite here");
                match &first {
                    None => first = Some(codes),
                    Some(f) => same(
                        &codes,
                        f,
                        &format!("{name} against scalar ({min_v}..{max_v})"),
                    ),
                }
            }
        }
    }
}

#[test]
fn no_code_for_nan_and_meeting_infinities_and_nothing_written() {
    let (inf, nan, one) = (bf16::INFINITY, bf16::NAN, bf16::ONE);
    let p = AsymmetricPerGroup {
        group_size: 2,
        bit: 4,
        ..Default::default()
    };
    let cases: [([bf16; 4], [bf16; 2], [bf16; 2]); 6] = [
        ([one, nan, one, one], [one; 2], [bf16::ZERO; 2]), // NaN weight
        ([one; 4], [one, nan], [bf16::ZERO; 2]),           // NaN scale
        ([one; 4], [one; 2], [bf16::ZERO, nan]),           // NaN offset
        ([one, one, inf, one], [one; 2], [bf16::ZERO, inf]), // inf - inf
        ([one, one, one, -inf], [one, bf16::MAX], [bf16::ZERO; 2]), // inf / inf (alpha overflows)
        ([one; 4], [one, bf16::MAX], [bf16::ZERO, inf]),   // finite - inf, over inf
    ];
    for (name, b) in backends() {
        for (x, s, o) in &cases {
            let mut codes = [0xAB; 4];
            assert_eq!(
                b.asymmetric_per_group_quantize(x, s, o, &mut codes, &p),
                Err(Error::new(Argument::Weight, Rule::NoCode)),
                "{name}: {x:?} {s:?} {o:?}"
            );
            assert_eq!(codes, [0xAB; 4], "{name}: written");
        }
        // Infinite weights clip like any other where nothing else is infinite.
        let mut codes = [0; 4];
        b.asymmetric_per_group_quantize(
            &[inf, -inf, one, -one],
            &[one; 2],
            &[bf16::ZERO; 2],
            &mut codes,
            &p,
        )
        .unwrap();
        assert_eq!(codes[..2], [15, 0]);

        let q = Symmetric::signed(4);
        for (x, s) in [
            ([one, nan], one),
            ([one, one], nan),
            ([inf, one], bf16::INFINITY),
        ] {
            let mut codes = [0x11; 2];
            assert_eq!(
                b.symmetric_per_tensor_quantize(&x, s, &mut codes, &q),
                Err(Error::new(Argument::Weight, Rule::NoCode)),
                "{name}"
            );
            assert_eq!(codes, [0x11; 2]);
        }
        let mut codes = [0; 2];
        b.symmetric_per_tensor_quantize(&[inf, -inf], one, &mut codes, &q)
            .unwrap();
        assert_eq!(codes, [7, -8]);
    }
}

#[test]
fn parameters_that_do_not_fit_a_byte_are_refused() {
    let x = [bf16::ONE; 4];
    let mut codes = [0u8; 4];
    let p = AsymmetricPerGroup {
        group_size: 4,
        bit: 9,
        ..Default::default()
    };
    let one = [bf16::ONE];
    assert_eq!(
        qat_kernels::asymmetric_per_group_quantize(&x, &one, &one, &mut codes, &p),
        Err(Error::new(Argument::Bit, Rule::CodeBits))
    );
    let mut out = [bf16::ZERO; 4];
    assert_eq!(
        qat_kernels::asymmetric_per_group_dequantize(&codes, &one, &one, &mut out, &p),
        Err(Error::new(Argument::Bit, Rule::CodeBits))
    );
    let mut signed = [0i8; 4];
    for (min_v, max_v, argument) in [(-129.0, 0.0, Argument::MinV), (0.0, 128.0, Argument::MaxV)] {
        let q = Symmetric {
            eps: 1e-4,
            min_v,
            max_v,
        };
        assert_eq!(
            qat_kernels::symmetric_per_tensor_quantize(&x, bf16::ONE, &mut signed, &q),
            Err(Error::new(argument, Rule::NotCode))
        );
    }
}

#[test]
fn codes_off_the_grid_are_refused_with_nothing_written() {
    let p = AsymmetricPerGroup {
        group_size: 2,
        bit: 3,
        ..Default::default()
    };
    let (s, o) = ([bf16::ONE; 2], [bf16::ZERO; 2]);
    for (name, b) in backends() {
        let mut out = [bf16::PI; 4];
        assert_eq!(
            b.asymmetric_per_group_dequantize(&[0, 7, 8, 1], &s, &o, &mut out, &p),
            Err(Error::new(Argument::Codes, Rule::OffGrid)),
            "{name}"
        );
        assert_eq!(out, [bf16::PI; 4]);
        b.asymmetric_per_group_dequantize(&[0, 7, 3, 1], &s, &o, &mut out, &p)
            .unwrap();
        let q = Symmetric {
            eps: 1e-4,
            min_v: -3.0,
            max_v: 5.0,
        };
        let mut out = [bf16::PI; 3];
        for bad in [[-4, 0, 0], [0, 6, 0]] {
            assert_eq!(
                b.symmetric_per_tensor_dequantize(&bad, bf16::ONE, &mut out, &q),
                Err(Error::new(Argument::Codes, Rule::OutsideRange)),
                "{name}"
            );
            assert_eq!(out, [bf16::PI; 3]);
        }
    }
}

#[test]
fn packing_layout_and_refusals() {
    // 2-bit codes 0, 1, 2, 3, 1: 0b11_10_01_00, then 0b01.
    let mut packed = [0xFF; 2];
    pack_codes(&[0, 1, 2, 3, 1], 2, &mut packed).unwrap();
    assert_eq!(packed, [0b1110_0100, 0b01]);
    let mut bits1 = [0; 2];
    pack_codes(&[1, 0, 1, 1, 0, 0, 0, 1, 1], 1, &mut bits1).unwrap();
    assert_eq!(bits1, [0b1000_1101, 0b1]);
    let mut packed = [0xEE; 2];
    assert_eq!(
        pack_codes(&[0, 4], 2, &mut packed[..1]),
        Err(Error::new(Argument::Codes, Rule::TooWide))
    );
    assert_eq!(
        pack_codes(&[0, 1], 3, &mut packed[..1]),
        Err(Error::new(Argument::Bits, Rule::PackingWidth))
    );
    assert_eq!(
        pack_codes(&[0, 1], 2, &mut packed),
        Err(Error::new(Argument::Packed, Rule::Length))
    );
    assert_eq!(
        pack_signed_codes(&[-3], 2, &mut packed[..1]),
        Err(Error::new(Argument::Codes, Rule::TooWide))
    );
    assert_eq!(
        pack_signed_codes(&[2], 2, &mut packed[..1]),
        Err(Error::new(Argument::Codes, Rule::TooWide))
    );
    assert_eq!(packed, [0xEE; 2], "a refused call wrote");
    assert_eq!(packed_len(0, 4), Some(0));
    assert_eq!(packed_len(usize::MAX, 1), Some(usize::MAX / 8 + 1));
}

#[test]
fn packing_round_trips() {
    fn prop(codes: Vec<u8>, width: u8) -> TestResult {
        let bits = [1u32, 2, 4, 8][width as usize % 4];
        let unsigned: Vec<u8> = codes
            .iter()
            .map(|&c| c & (((1u32 << bits) - 1) as u8))
            .collect();
        let signed: Vec<i8> = unsigned
            .iter()
            .map(|&c| ((c << (8 - bits)) as i8) >> (8 - bits))
            .collect();
        let mut packed = vec![0; packed_len(codes.len(), bits).unwrap()];
        pack_codes(&unsigned, bits, &mut packed).unwrap();
        // Unused high bits of the last byte are zero.
        let used = codes.len() * bits as usize % 8;
        if used != 0 && packed.last().unwrap() >> used != 0 {
            return TestResult::failed();
        }
        let mut back = vec![0; codes.len()];
        unpack_codes(&packed, bits, &mut back).unwrap();
        let mut signed_packed = vec![0; packed.len()];
        pack_signed_codes(&signed, bits, &mut signed_packed).unwrap();
        let mut signed_back = vec![0; codes.len()];
        unpack_signed_codes(&signed_packed, bits, &mut signed_back).unwrap();
        TestResult::from_bool(back == unsigned && signed_back == signed && signed_packed == packed)
    }
    QuickCheck::new()
        .tests(500)
        .quickcheck(prop as fn(Vec<u8>, u8) -> TestResult);
}

#[test]
fn random_shapes_every_path_values_equal_the_forward_pass() {
    fn prop(seed: u64, groups: u8, size: u8, bit: u8) -> TestResult {
        let mut rng = Rng(seed);
        let (groups, size, bit) = (
            groups as usize % 9,
            size as usize % 70 + 1,
            u32::from(bit % 8) + 1,
        );
        let p = AsymmetricPerGroup {
            group_size: size,
            bit,
            eps: 1e-4,
            clip_val: 0.99,
        };
        let specials: Vec<bf16> = special_values()
            .into_iter()
            .filter(|v| !v.is_nan())
            .collect();
        let x = rng.vec(groups * size, |r| {
            if r.below(50) == 0 {
                specials[r.below(specials.len())]
            } else {
                r.normal(0.05)
            }
        });
        let s = rng.vec(groups, |r| r.uniform(0.0, 0.02));
        let o = rng.vec(groups, |r| r.uniform(-0.01, 0.01));
        let mut first: Option<Option<Vec<u8>>> = None;
        for (_, b) in backends() {
            let codes = asymmetric_round_trip(b, &x, &s, &o, &p);
            if first.as_ref().is_some_and(|f| f != &codes) {
                return TestResult::failed();
            }
            first = Some(codes);
        }
        let q = Symmetric::signed(bit);
        let rows = groups.max(1);
        let x = &x[..x.len() / rows * rows];
        let s: Vec<bf16> = s
            .iter()
            .chain([bf16::from_f32(0.01)].iter())
            .take(rows)
            .copied()
            .collect();
        let mut first: Option<Option<Vec<i8>>> = None;
        for (_, b) in backends() {
            let codes = symmetric_round_trip(b, x, &s, &q);
            if first.as_ref().is_some_and(|f| f != &codes) {
                return TestResult::failed();
            }
            first = Some(codes);
        }
        TestResult::passed()
    }
    QuickCheck::new()
        .tests(300)
        .quickcheck(prop as fn(u64, u8, u8, u8) -> TestResult);
}
