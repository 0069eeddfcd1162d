//! The f32 forms against the bf16 ones, on every backend: a bf16 input is
//! one case of an f32 input, so on every bf16 value (all 65,536, as f32
//! weights) the f32 results, narrowed to bf16, are the bf16 call's bits —
//! the fake-quantized weights, the weight and scale (and offset) gradients,
//! the codes and their values, per-token activations with their scales
//! and zero points. On f32 values bf16 cannot hold (random
//! values, NaN payloads, subnormals, the largest magnitudes, ties between
//! levels) every backend gives the same f32 bits, with every NaN written as
//! `0x7FC0_0000`.
//!
//! And every binary16 value as f16 data gives the f32 call's results
//! narrowed to binary16 by a narrowing written here (the nearest value,
//! ties to even), and the same f32 scale gradients.

mod common;

use common::{backends, Rng};
use half::{bf16, f16};
use qat_kernels::{AsymmetricPerGroup, Backend, Calibration, PerToken, Symmetric};

/// Every bf16 value, as bf16 and as f32.
fn every_bf16() -> (Vec<bf16>, Vec<f32>) {
    let all: Vec<bf16> = (0..=u16::MAX).map(bf16::from_bits).collect();
    let wide = all.iter().map(|v| v.to_f32()).collect();
    (all, wide)
}

/// The bf16 the library writes for an f32 result: round to nearest even,
/// every NaN `0x7FC0` (an independent narrowing: `half`'s, then the NaN).
fn narrow(x: f32) -> u16 {
    if x.is_nan() {
        0x7FC0
    } else {
        bf16::from_f32(x).to_bits()
    }
}

fn narrowed(v: &[f32]) -> Vec<u16> {
    v.iter().map(|&x| narrow(x)).collect()
}

fn bits(v: &[bf16]) -> Vec<u16> {
    v.iter().map(|x| x.to_bits()).collect()
}

fn f32_bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

/// Gradients of the output, bf16, for the weights `n`.
fn gradients(n: usize, rng: &mut Rng) -> (Vec<bf16>, Vec<f32>) {
    let g = rng.vec(n, |r| r.normal(1.0));
    let wide = g.iter().map(|v| v.to_f32()).collect();
    (g, wide)
}

/// Each of a quantizer's operations on bf16 and on f32 data, the f32
/// results narrowed to bf16 where they are data: equal on every backend.
#[test]
fn bf16_inputs_as_f32_give_the_bf16_bits_narrowed() {
    let (x, xf) = every_bf16();
    let n = x.len();
    let mut rng = Rng(0xF32);
    let (g, gf) = gradients(n, &mut rng);
    let mut compared = 0usize;
    for (name, b) in backends() {
        // Asymmetric per group of 256, with scales across many magnitudes.
        let p = AsymmetricPerGroup {
            group_size: 256,
            bit: 4,
            ..Default::default()
        };
        let groups = n / p.group_size;
        let s: Vec<bf16> = (0..groups)
            .map(|k| bf16::from_f32(2f32.powi(k as i32 % 40 - 30) * 1.3))
            .collect();
        let o: Vec<bf16> = (0..groups).map(|_| rng.normal(0.1)).collect();
        let (mut out, mut outf) = (vec![bf16::ZERO; n], vec![0f32; n]);
        b.asymmetric_per_group(&x, &s, &o, &mut out, &p).unwrap();
        b.asymmetric_per_group(&xf, &s, &o, &mut outf, &p).unwrap();
        assert_eq!(narrowed(&outf), bits(&out), "{name}: per group forward");
        let (mut gw, mut gs, mut go) = (
            vec![bf16::ZERO; n],
            vec![bf16::ZERO; groups],
            vec![bf16::ZERO; groups],
        );
        let (mut gwf, mut gsf, mut gof) = (vec![0f32; n], vec![0f32; groups], vec![0f32; groups]);
        b.asymmetric_per_group_backward(&g, &x, &s, &o, &mut gw, &mut gs, &mut go, &p)
            .unwrap();
        b.asymmetric_per_group_backward(&gf, &xf, &s, &o, &mut gwf, &mut gsf, &mut gof, &p)
            .unwrap();
        assert_eq!(narrowed(&gwf), bits(&gw), "{name}: per group grad_weight");
        assert_eq!(narrowed(&gsf), bits(&gs), "{name}: per group grad_scale");
        assert_eq!(narrowed(&gof), bits(&go), "{name}: per group grad_offset");
        // Codes: finite weights only (the others have none), the same codes.
        let finite: Vec<usize> = (0..groups)
            .filter(|&k| x[k * 256..(k + 1) * 256].iter().all(|v| v.is_finite()))
            .collect();
        let (xs, xfs): (Vec<bf16>, Vec<f32>) = finite
            .iter()
            .flat_map(|&k| (k * 256..(k + 1) * 256).map(|i| (x[i], xf[i])))
            .unzip();
        let (ss, os): (Vec<bf16>, Vec<bf16>) = finite.iter().map(|&k| (s[k], o[k])).unzip();
        let (mut codes, mut codesf) = (vec![0u8; xs.len()], vec![0u8; xs.len()]);
        let q = b.asymmetric_per_group_quantize(&xs, &ss, &os, &mut codes, &p);
        let qf = b.asymmetric_per_group_quantize(&xfs, &ss, &os, &mut codesf, &p);
        assert_eq!(q, qf, "{name}: per group quantize");
        if q.is_ok() {
            assert_eq!(codes, codesf, "{name}: per group codes");
            let (mut v, mut vf) = (vec![bf16::ZERO; xs.len()], vec![0f32; xs.len()]);
            b.asymmetric_per_group_dequantize(&codes, &ss, &os, &mut v, &p)
                .unwrap();
            b.asymmetric_per_group_dequantize(&codes, &ss, &os, &mut vf, &p)
                .unwrap();
            assert_eq!(narrowed(&vf), bits(&v), "{name}: per group dequantize");
        }

        // Symmetric per channel: 256 rows of 256.
        let q = Symmetric::signed(4);
        let (mut out, mut outf) = (vec![bf16::ZERO; n], vec![0f32; n]);
        b.symmetric_per_channel(&x, &s, &mut out, &q).unwrap();
        b.symmetric_per_channel(&xf, &s, &mut outf, &q).unwrap();
        assert_eq!(narrowed(&outf), bits(&out), "{name}: per channel forward");
        let (mut gw, mut gs) = (vec![bf16::ZERO; n], vec![bf16::ZERO; groups]);
        let (mut gwf, mut gsf) = (vec![0f32; n], vec![0f32; groups]);
        b.symmetric_per_channel_backward(&g, &x, &s, &mut gw, &mut gs, &q)
            .unwrap();
        b.symmetric_per_channel_backward(&gf, &xf, &s, &mut gwf, &mut gsf, &q)
            .unwrap();
        assert_eq!(narrowed(&gwf), bits(&gw), "{name}: per channel grad_weight");
        assert_eq!(narrowed(&gsf), bits(&gs), "{name}: per channel grad_scale");

        // Symmetric per tensor, and its shard form.
        let one = bf16::from_f32(0.01);
        let (mut out, mut outf) = (vec![bf16::ZERO; n], vec![0f32; n]);
        b.symmetric_per_tensor(&x, one, &mut out, &q).unwrap();
        b.symmetric_per_tensor(&xf, one, &mut outf, &q).unwrap();
        assert_eq!(narrowed(&outf), bits(&out), "{name}: per tensor forward");
        let (mut gw, mut gs) = (vec![bf16::ZERO; n], bf16::ZERO);
        let (mut gwf, mut gsf) = (vec![0f32; n], 0f32);
        b.symmetric_per_tensor_backward(&g, &x, one, &mut gw, &mut gs, &q)
            .unwrap();
        b.symmetric_per_tensor_backward(&gf, &xf, one, &mut gwf, &mut gsf, &q)
            .unwrap();
        assert_eq!(narrowed(&gwf), bits(&gw), "{name}: per tensor grad_weight");
        assert_eq!(narrow(gsf), gs.to_bits(), "{name}: per tensor grad_scale");
        let blocks = 2 * qat_kernels::block_count(n);
        let (mut bw, mut bs) = (vec![bf16::ZERO; n], vec![0f64; blocks]);
        let (mut bwf, mut bsf) = (vec![0f32; n], vec![0f64; blocks]);
        b.symmetric_per_tensor_backward_blocks(&g, &x, one, &mut bw, &mut bs, &q)
            .unwrap();
        b.symmetric_per_tensor_backward_blocks(&gf, &xf, one, &mut bwf, &mut bsf, &q)
            .unwrap();
        assert_eq!(
            narrowed(&bwf),
            bits(&bw),
            "{name}: per tensor blocks' grad_weight"
        );
        assert_eq!(
            bs.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            bsf.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            "{name}: block values"
        );
        let mut finished = 0f32;
        qat_kernels::symmetric_per_tensor_finish(&bsf, one, &mut finished, n, &q).unwrap();
        assert_eq!(finished.to_bits(), gsf.to_bits(), "{name}: finish in f32");
        // Per-token activations: 256 tokens of 256, both mappings.
        let pt = PerToken::default();
        for symmetric in [false, true] {
            let (mut out, mut sc, mut zp) = (vec![bf16::ZERO; n], vec![0f32; 256], vec![0i32; 256]);
            let (mut outf, mut scf, mut zpf) = (vec![0f32; n], vec![0f32; 256], vec![0i32; 256]);
            if symmetric {
                b.per_token_symmetric(&x, &mut out, &mut sc, &mut zp, &pt)
                    .unwrap();
                b.per_token_symmetric(&xf, &mut outf, &mut scf, &mut zpf, &pt)
                    .unwrap();
            } else {
                b.per_token_asymmetric(&x, &mut out, &mut sc, &mut zp, &pt)
                    .unwrap();
                b.per_token_asymmetric(&xf, &mut outf, &mut scf, &mut zpf, &pt)
                    .unwrap();
            }
            assert_eq!(narrowed(&outf), bits(&out), "{name}: per token {symmetric}");
            assert_eq!(f32_bits(&scf), f32_bits(&sc), "{name}: per-token scales");
            assert_eq!(zpf, zp, "{name}: per-token zero points");
            let (mut gi, mut gif) = (vec![bf16::ZERO; n], vec![0f32; n]);
            b.per_token_backward(&g, &x, &sc, &zp, &mut gi, &pt)
                .unwrap();
            b.per_token_backward(&gf, &xf, &sc, &zp, &mut gif, &pt)
                .unwrap();
            assert_eq!(narrowed(&gif), bits(&gi), "{name}: per-token backward");
        }
        compared += 22;
    }
    println!("{compared} comparisons of every bf16 value as f32 against bf16");
}

/// f32 values bf16 cannot hold, and the special ones.
fn f32_values(n: usize, rng: &mut Rng) -> Vec<f32> {
    let special = [
        0.0f32,
        -0.0,
        f32::MIN_POSITIVE,
        -f32::MIN_POSITIVE / 3.0,
        f32::from_bits(1),
        f32::MAX,
        -f32::MAX,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::from_bits(0x7FC0_1234),
        f32::from_bits(0xFF80_0001),
        f32::from_bits(0x7FA0_0000),
        0.5,
        1.5,
        -2.5,
        0.015625 * 3.0,
        1.0 + f32::EPSILON,
    ];
    (0..n)
        .map(|i| match rng.below(4) {
            0 => special[i % special.len()],
            1 => f32::from_bits(rng.next_u64() as u32),
            _ => (rng.unit() as f32 - 0.5) * 0.4,
        })
        .collect()
}

/// Every backend gives the same f32 bits on f32 inputs, NaN written as
/// `0x7FC0_0000`, for every quantizer's forward, backward, codes and
/// calibration.
#[test]
fn f32_inputs_give_the_same_bits_on_every_backend() {
    let mut rng = Rng(0xD7);
    let n = 7 * 1763;
    let (x, g) = (f32_values(n, &mut rng), f32_values(n, &mut rng));
    let mut results: Vec<(&str, Vec<u32>)> = Vec::new();
    let p = AsymmetricPerGroup {
        group_size: n / 7,
        bit: 3,
        ..Default::default()
    };
    let groups = n / p.group_size;
    let s: Vec<bf16> = (0..groups).map(|_| rng.uniform(0.001, 0.2)).collect();
    let o: Vec<bf16> = (0..groups).map(|_| rng.normal(0.05)).collect();
    let q = Symmetric::signed(8);
    let rows = 7;
    let run = |b: Backend| -> Vec<u32> {
        let mut all = Vec::new();
        let mut out = vec![0f32; n];
        b.asymmetric_per_group(&x, &s, &o, &mut out, &p).unwrap();
        all.extend(f32_bits(&out));
        let (mut gw, mut gs, mut go) = (vec![0f32; n], vec![0f32; groups], vec![0f32; groups]);
        b.asymmetric_per_group_backward(&g, &x, &s, &o, &mut gw, &mut gs, &mut go, &p)
            .unwrap();
        all.extend(f32_bits(&gw));
        all.extend(f32_bits(&gs));
        all.extend(f32_bits(&go));
        b.symmetric_per_channel(&x, &s[..rows], &mut out, &q)
            .unwrap();
        all.extend(f32_bits(&out));
        let (mut gw, mut gs) = (vec![0f32; n], vec![0f32; rows]);
        b.symmetric_per_channel_backward(&g, &x, &s[..rows], &mut gw, &mut gs, &q)
            .unwrap();
        all.extend(f32_bits(&gw));
        all.extend(f32_bits(&gs));
        let mut gs = 0f32;
        b.symmetric_per_tensor_backward(&g, &x, s[0], &mut gw, &mut gs, &q)
            .unwrap();
        all.extend(f32_bits(&gw));
        all.push(gs.to_bits());
        let pt = PerToken::default();
        let (mut sc, mut zp) = (vec![0f32; rows], vec![0i32; rows]);
        b.per_token_asymmetric(&x, &mut out, &mut sc, &mut zp, &pt)
            .unwrap();
        all.extend(f32_bits(&out));
        all.extend(f32_bits(&sc));
        all.extend(zp.iter().map(|&z| z as u32));
        b.per_token_backward(&g, &x, &sc, &zp, &mut gw, &pt)
            .unwrap();
        all.extend(f32_bits(&gw));
        // Export of the finite weights, and calibration.
        let finite: Vec<f32> = x
            .iter()
            .map(|v| {
                if v.is_finite() {
                    v.clamp(-1e30, 1e30)
                } else {
                    0.0
                }
            })
            .collect();
        let mut codes = vec![0i8; n];
        let status = b.symmetric_per_tensor_quantize(&finite, bf16::from_f32(0.01), &mut codes, &q);
        all.push(status.is_ok() as u32);
        all.extend(codes.iter().map(|&c| c as u8 as u32));
        let (mut cs, mut co) = (vec![bf16::ZERO; groups], vec![bf16::ZERO; groups]);
        b.asymmetric_per_group_calibrate(&finite, &mut cs, &mut co, &p, Calibration::Search)
            .unwrap();
        all.extend(cs.iter().chain(&co).map(|v| u32::from(v.to_bits())));
        all
    };
    for (name, b) in backends() {
        results.push((name, run(b)));
    }
    let (first, want) = &results[0];
    for (name, got) in &results[1..] {
        assert_eq!(got.len(), want.len());
        if let Some(i) = (0..want.len()).find(|&i| got[i] != want[i]) {
            panic!(
                "{name} differs from {first} at result {i}: {:08x}, not {:08x}",
                got[i], want[i]
            );
        }
    }
    let nan = want.iter().filter(|&&v| f32::from_bits(v).is_nan()).count();
    assert!(nan > 100, "the inputs reach NaN ({nan})");
    assert!(
        want.iter()
            .all(|&v| !f32::from_bits(v).is_nan() || v == 0x7FC0_0000),
        "every NaN written as 0x7FC0_0000"
    );
    println!(
        "{} backends agree on {} f32 results ({nan} NaN, all canonical)",
        results.len(),
        want.len()
    );
}

/// The f16 an f32 narrows to, found independently of the library and of
/// `half`'s conversion: the nearest of binary16's values (decoded from
/// their fields), ties to the even significand, overflow from 65520 on to
/// infinity, every NaN `0x7E00`.
fn narrow16(x: f32) -> u16 {
    if x.is_nan() {
        return 0x7E00;
    }
    let sign = if x.is_sign_negative() { 0x8000 } else { 0 };
    let a = f64::from(x.abs());
    let decode = |m: u16| {
        let (e, f) = (i32::from(m >> 10), f64::from(m & 0x3FF));
        if e == 0 {
            f * 2f64.powi(-24)
        } else {
            (1024.0 + f) * 2f64.powi(e - 25)
        }
    };
    if a >= 65520.0 {
        return sign | 0x7C00;
    }
    // The largest magnitude at most `a` (values grow with the bits).
    let (mut lo, mut hi) = (0u16, 0x7BFF);
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        if decode(mid) <= a {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    let below = lo;
    let m = if decode(below) == a || below == 0x7BFF {
        below
    } else {
        let (d0, d1) = (a - decode(below), decode(below + 1) - a);
        if d0 < d1 || (d0 == d1 && below & 1 == 0) {
            below
        } else {
            below + 1
        }
    };
    sign | m
}

/// Every binary16 value as f16 data and as f32 data: the f16 call's outputs
/// are the f32 call's narrowed to binary16, and the scale gradients (f32
/// for both) are the same bits, on every backend.
#[test]
fn f16_inputs_give_the_f32_results_narrowed() {
    let h: Vec<f16> = (0..=u16::MAX).map(f16::from_bits).collect();
    let w: Vec<f32> = h.iter().map(|v| v.to_f32()).collect();
    let n = h.len();
    let mut rng = Rng(0x16);
    let gh: Vec<f16> = (0..n)
        .map(|_| f16::from_f64(rng.normal(1.0).to_f64()))
        .collect();
    let gw: Vec<f32> = gh.iter().map(|v| v.to_f32()).collect();
    let narrow_all = |v: &[f32]| v.iter().map(|&x| narrow16(x)).collect::<Vec<u16>>();
    let h_bits = |v: &[f16]| v.iter().map(|x| x.to_bits()).collect::<Vec<u16>>();
    for (name, b) in backends() {
        let p = AsymmetricPerGroup {
            group_size: 256,
            bit: 4,
            ..Default::default()
        };
        let groups = n / 256;
        let s: Vec<bf16> = (0..groups)
            .map(|k| bf16::from_f32(2f32.powi(k as i32 % 30 - 20)))
            .collect();
        let o: Vec<bf16> = (0..groups).map(|_| rng.normal(0.1)).collect();
        let (mut out16, mut out32) = (vec![f16::ZERO; n], vec![0f32; n]);
        b.asymmetric_per_group(&h, &s, &o, &mut out16, &p).unwrap();
        b.asymmetric_per_group(&w, &s, &o, &mut out32, &p).unwrap();
        assert_eq!(
            h_bits(&out16),
            narrow_all(&out32),
            "{name}: per group forward"
        );
        let (mut gw16, mut gs16, mut go16) =
            (vec![f16::ZERO; n], vec![0f32; groups], vec![0f32; groups]);
        let (mut gw32, mut gs32, mut go32) =
            (vec![0f32; n], vec![0f32; groups], vec![0f32; groups]);
        b.asymmetric_per_group_backward(&gh, &h, &s, &o, &mut gw16, &mut gs16, &mut go16, &p)
            .unwrap();
        b.asymmetric_per_group_backward(&gw, &w, &s, &o, &mut gw32, &mut gs32, &mut go32, &p)
            .unwrap();
        assert_eq!(
            h_bits(&gw16),
            narrow_all(&gw32),
            "{name}: per group grad_weight"
        );
        assert_eq!(
            f32_bits(&gs16),
            f32_bits(&gs32),
            "{name}: per group grad_scale"
        );
        assert_eq!(
            f32_bits(&go16),
            f32_bits(&go32),
            "{name}: per group grad_offset"
        );

        let q = Symmetric::signed(8);
        let (mut out16, mut out32) = (vec![f16::ZERO; n], vec![0f32; n]);
        b.symmetric_per_channel(&h, &s, &mut out16, &q).unwrap();
        b.symmetric_per_channel(&w, &s, &mut out32, &q).unwrap();
        assert_eq!(
            h_bits(&out16),
            narrow_all(&out32),
            "{name}: per channel forward"
        );
        let (mut gs16, mut gs32) = (0f32, 0f32);
        b.symmetric_per_tensor_backward(&gh, &h, s[3], &mut gw16, &mut gs16, &q)
            .unwrap();
        b.symmetric_per_tensor_backward(&gw, &w, s[3], &mut gw32, &mut gs32, &q)
            .unwrap();
        assert_eq!(
            h_bits(&gw16),
            narrow_all(&gw32),
            "{name}: per tensor grad_weight"
        );
        assert_eq!(
            gs16.to_bits(),
            gs32.to_bits(),
            "{name}: per tensor grad_scale"
        );

        let pt = PerToken::default();
        let (mut sc16, mut zp16) = (vec![0f32; 256], vec![0i32; 256]);
        let (mut sc32, mut zp32) = (vec![0f32; 256], vec![0i32; 256]);
        b.per_token_asymmetric(&h, &mut out16, &mut sc16, &mut zp16, &pt)
            .unwrap();
        b.per_token_asymmetric(&w, &mut out32, &mut sc32, &mut zp32, &pt)
            .unwrap();
        assert_eq!(h_bits(&out16), narrow_all(&out32), "{name}: per token");
        assert_eq!(
            (f32_bits(&sc16), zp16),
            (f32_bits(&sc32), zp32),
            "{name}: per-token parameters"
        );
    }
}

/// `narrow16` against a few values whose binary16 is known.
#[test]
fn the_test_narrowing_to_f16_is_right() {
    for (x, want) in [
        (1.0f32, 0x3C00u16),
        (65504.0, 0x7BFF),
        (65519.99, 0x7BFF),
        (65520.0, 0x7C00),
        (-2f32.powi(-24), 0x8001),
        (2f32.powi(-25), 0x0000), // a tie between 0 and the least subnormal: to even, 0
        (1.5 * 2f32.powi(-24), 0x0002), // a tie between 1 and 2 ulps: to even, 2
        (1.0 + 2f32.powi(-11), 0x3C00), // a tie: to even
        (1.0 + 3.0 * 2f32.powi(-11), 0x3C02),
        (f32::NAN, 0x7E00),
    ] {
        assert_eq!(narrow16(x), want, "{x}");
    }
}
