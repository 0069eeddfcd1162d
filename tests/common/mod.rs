//! An independent implementation of the formulas in docs/kernels.md, written op by op in
//! plain f32 without any of the crate's code, plus data generators and the
//! checks the tests share.
#![allow(dead_code, clippy::too_many_arguments)]

use half::bf16;
use qat_kernels::{AsymmetricPerGroup, Backend, Symmetric};

/// bf16 -> f32, by the definition.
pub fn widen(b: bf16) -> f32 {
    f32::from_bits((b.to_bits() as u32) << 16)
}

/// f32 -> bf16: half's round-to-nearest-even, NaN canonicalized.
pub fn narrow(x: f32) -> bf16 {
    if x.is_nan() {
        bf16::from_bits(0x7FC0)
    } else {
        bf16::from_f32(x)
    }
}

fn max(x: f32, lo: f32) -> f32 {
    if x < lo {
        lo
    } else {
        x
    }
}

fn min(x: f32, hi: f32) -> f32 {
    if x > hi {
        hi
    } else {
        x
    }
}

fn clip(x: f32, lo: f32, hi: f32) -> f32 {
    min(max(x, lo), hi)
}

fn round(x: f32) -> f32 {
    libm::roundevenf(x)
}

/// A reduced output before narrowing: the f64 sum of its f32 terms (exact
/// for the sizes tested, to far below the tolerance) and a bound on the
/// error docs/numerics.md allows beyond one bf16 ulp.
#[derive(Clone, Copy, Debug)]
pub struct Reduced {
    pub value: f64,
    pub allowed: f64,
}

/// Sums f32 terms in f64: the sum and the sum of magnitudes.
fn reduce(terms: impl Iterator<Item = f32>) -> (f64, f64) {
    let (mut sum, mut magnitude) = (0.0f64, 0.0f64);
    for t in terms {
        sum += t as f64;
        magnitude += (t as f64).abs();
    }
    (sum, magnitude)
}

/// One bf16 ulp at `x` (the subnormal step for tiny values).
fn bf16_ulp(x: f64) -> f64 {
    let x = x.abs();
    if x < f32::MIN_POSITIVE as f64 {
        return 2f64.powi(-133);
    }
    2f64.powi(x.log2().floor() as i32 - 7)
}

/// The smallest magnitude that bf16's round to nearest even narrows to
/// infinity: halfway between bf16's largest value, 2^128 - 2^120, and 2^128
/// (a tie goes to infinity, whose significand is the even one).
const BF16_OVERFLOW: f64 = 2.0 * (1u128 << 127) as f64 - (1u128 << 119) as f64;

/// Checks a reduced output: NaN where the exact value is NaN, the same
/// infinity, else within one bf16 ulp plus 2^-22 of the sum of magnitudes
/// (plus one f32 rounding of the combination); an infinity also where a
/// value within that bound narrows to it.
pub fn check_reduced(got: bf16, want: Reduced) -> Result<(), String> {
    let g = widen(got) as f64;
    if want.value.is_nan() {
        return if got.to_bits() == 0x7FC0 {
            Ok(())
        } else {
            Err(format!("got {g}, want NaN"))
        };
    }
    let bound = bf16_ulp(want.value) + want.allowed + want.value.abs() * 2f64.powi(-23);
    if want.value.is_infinite() || g.is_infinite() {
        let narrows_to_infinity = want.value.abs() + bound >= BF16_OVERFLOW;
        return if g == want.value
            || (narrows_to_infinity && g == want.value.signum() * f64::INFINITY)
        {
            Ok(())
        } else {
            Err(format!("got {g}, want {} (bound {bound})", want.value))
        };
    }
    if (g - want.value).abs() <= bound {
        Ok(())
    } else {
        Err(format!("got {g}, want {} (bound {bound})", want.value))
    }
}

pub struct Asymmetric {
    pub out: Vec<bf16>,
    pub grad_weight: Vec<bf16>,
    pub grad_scale: Vec<Reduced>,
    pub grad_offset: Vec<Reduced>,
}

/// docs/kernels.md, asymmetric per group, forward and backward.
pub fn asymmetric(
    g: &[bf16],
    x: &[bf16],
    s: &[bf16],
    o: &[bf16],
    p: &AsymmetricPerGroup,
) -> Asymmetric {
    let n = 2f32.powi(p.bit as i32 - 1);
    let shift = 0.5f32;
    let mut r = Asymmetric {
        out: vec![],
        grad_weight: vec![],
        grad_scale: vec![],
        grad_offset: vec![],
    };
    for (k, (xs, gs)) in x
        .chunks(p.group_size)
        .zip(g.chunks(p.group_size))
        .enumerate()
    {
        let (s, o) = (widen(s[k]), widen(o[k]));
        let ps = max(s, p.eps);
        let alpha = ps * n;
        let mut offset_terms = vec![];
        let mut alpha_terms = vec![];
        for (&x, &g) in xs.iter().zip(gs) {
            let (x, g) = (widen(x), widen(g));
            let xn = (x - o) / alpha;
            let xc = clip(xn, -p.clip_val, p.clip_val);
            let rr = round(xc * n - shift);
            let d = (rr + shift) / n;
            r.out.push(narrow(d * alpha + o));
            let mask = if xn.is_nan() {
                f32::NAN
            } else if -p.clip_val <= xn && xn <= p.clip_val {
                1.0
            } else {
                0.0
            };
            r.grad_weight.push(narrow(g * mask));
            offset_terms.push(g * (1.0 - mask));
            alpha_terms.push(g * (d - xn * mask));
        }
        let gate = if s > p.eps { 1.0 } else { 0.0 };
        let (sum, magnitude) = reduce(offset_terms.into_iter());
        r.grad_offset.push(Reduced {
            value: sum,
            allowed: magnitude * 2f64.powi(-22),
        });
        // grad_alpha is an f32 value (it may overflow to inf), then f32 ops.
        let (sum, magnitude) = reduce(alpha_terms.into_iter());
        let value = (sum as f32 * n * gate) as f64;
        r.grad_scale.push(Reduced {
            value,
            allowed: magnitude * n as f64 * 2f64.powi(-22),
        });
    }
    r
}

pub struct SymmetricRef {
    pub out: Vec<bf16>,
    pub grad_weight: Vec<bf16>,
    pub grad_scale: Vec<Reduced>,
}

/// docs/kernels.md, symmetric per row (per tensor: one row).
pub fn symmetric(g: &[bf16], x: &[bf16], s: &[bf16], cols: usize, p: &Symmetric) -> SymmetricRef {
    let mut r = SymmetricRef {
        out: vec![],
        grad_weight: vec![],
        grad_scale: vec![],
    };
    for (row, &s) in s.iter().enumerate() {
        let s = widen(s);
        let ps = max(s, p.eps);
        let (mut level_terms, mut weight_terms) = (vec![], vec![]);
        for i in row * cols..(row + 1) * cols {
            let (x, g) = (widen(x[i]), widen(g[i]));
            let rr = round(x / ps);
            // A zero level is +0.0.
            let c = clip(rr, p.min_v, p.max_v) + 0.0;
            r.out.push(narrow(c * ps));
            let mask = 1.0 - clip((rr - c).abs(), 0.0, 1.0);
            r.grad_weight.push(narrow(g * mask));
            level_terms.push(g * c);
            weight_terms.push((g * mask) * ((-x) / ps));
        }
        let gate = if s > p.eps { 1.0 } else { 0.0 };
        let (a, ma) = reduce(level_terms.into_iter());
        let (b, mb) = reduce(weight_terms.into_iter());
        // Both sums are f32 values, added and gated in f32.
        let value = ((a as f32 + b as f32) * gate) as f64;
        r.grad_scale.push(Reduced {
            value,
            allowed: (ma + mb) * 2f64.powi(-22),
        });
    }
    r
}

/// Outputs of one run of a kernel pair through the crate.
#[derive(Debug, PartialEq, Eq)]
pub struct Outputs {
    pub out: Vec<u16>,
    pub grad_weight: Vec<u16>,
    pub grad_scale: Vec<u16>,
    pub grad_offset: Vec<u16>,
}

fn bits(v: &[bf16]) -> Vec<u16> {
    v.iter().map(|b| b.to_bits()).collect()
}

pub fn run_asymmetric(
    b: Backend,
    g: &[bf16],
    x: &[bf16],
    s: &[bf16],
    o: &[bf16],
    p: &AsymmetricPerGroup,
) -> Outputs {
    let groups = s.len();
    let mut out = vec![bf16::ZERO; x.len()];
    b.asymmetric_per_group(x, s, o, &mut out, p).unwrap();
    let (mut gw, mut gs, mut go) = (
        vec![bf16::ZERO; x.len()],
        vec![bf16::ZERO; groups],
        vec![bf16::ZERO; groups],
    );
    b.asymmetric_per_group_backward(g, x, s, o, &mut gw, &mut gs, &mut go, p)
        .unwrap();
    Outputs {
        out: bits(&out),
        grad_weight: bits(&gw),
        grad_scale: bits(&gs),
        grad_offset: bits(&go),
    }
}

/// Per channel with `s.len()` rows, or per tensor when `per_tensor` (one scale).
pub fn run_symmetric(
    b: Backend,
    g: &[bf16],
    x: &[bf16],
    s: &[bf16],
    p: &Symmetric,
    per_tensor: bool,
) -> Outputs {
    let mut out = vec![bf16::ZERO; x.len()];
    let mut gw = vec![bf16::ZERO; x.len()];
    let mut gs = vec![bf16::ZERO; s.len()];
    if per_tensor {
        b.symmetric_per_tensor(x, s[0], &mut out, p).unwrap();
        b.symmetric_per_tensor_backward(g, x, s[0], &mut gw, &mut gs[0], p)
            .unwrap();
    } else {
        b.symmetric_per_channel(x, s, &mut out, p).unwrap();
        b.symmetric_per_channel_backward(g, x, s, &mut gw, &mut gs, p)
            .unwrap();
    }
    Outputs {
        out: bits(&out),
        grad_weight: bits(&gw),
        grad_scale: bits(&gs),
        grad_offset: vec![],
    }
}

/// Bit-exact elementwise outputs, reductions within the documented bound.
pub fn check_asymmetric(got: &Outputs, want: &Asymmetric) -> Result<(), String> {
    exact("out", &got.out, &want.out)?;
    exact("grad_weight", &got.grad_weight, &want.grad_weight)?;
    for (k, (&g, &w)) in got.grad_scale.iter().zip(&want.grad_scale).enumerate() {
        check_reduced(bf16::from_bits(g), w).map_err(|e| format!("grad_scale[{k}]: {e}"))?;
    }
    for (k, (&g, &w)) in got.grad_offset.iter().zip(&want.grad_offset).enumerate() {
        check_reduced(bf16::from_bits(g), w).map_err(|e| format!("grad_offset[{k}]: {e}"))?;
    }
    Ok(())
}

pub fn check_symmetric(got: &Outputs, want: &SymmetricRef) -> Result<(), String> {
    exact("out", &got.out, &want.out)?;
    exact("grad_weight", &got.grad_weight, &want.grad_weight)?;
    for (k, (&g, &w)) in got.grad_scale.iter().zip(&want.grad_scale).enumerate() {
        check_reduced(bf16::from_bits(g), w).map_err(|e| format!("grad_scale[{k}]: {e}"))?;
    }
    Ok(())
}

fn exact(name: &str, got: &[u16], want: &[bf16]) -> Result<(), String> {
    assert_eq!(got.len(), want.len(), "{name}: length");
    for (i, (&g, w)) in got.iter().zip(want).enumerate() {
        if g != w.to_bits() {
            return Err(format!(
                "{name}[{i}]: got {g:#06x}, want {:#06x}",
                w.to_bits()
            ));
        }
    }
    Ok(())
}

/// Every backend this machine offers, named; fails if the backend the
/// target promises is missing, so a test cannot silently pass on the scalar
/// backend alone. `QAT_DIVISION=instruction` or `reciprocal` sets how they
/// divide (the scalar backend, the reference, always by instruction); CI
/// runs the comparisons both ways.
pub fn backends() -> Vec<(&'static str, Backend)> {
    match std::env::var("QAT_DIVISION").as_deref() {
        Ok("instruction") => qat_kernels::set_division(qat_kernels::Division::Instruction),
        Ok("reciprocal") => qat_kernels::set_division(qat_kernels::Division::Reciprocal),
        Ok(other) => panic!("QAT_DIVISION={other}: instruction or reciprocal"),
        Err(_) => {}
    }
    let all: Vec<(&'static str, Backend)> = Backend::all().collect();
    #[cfg(target_arch = "aarch64")]
    assert!(
        all.iter().any(|(_, b)| b.isa() == qat_kernels::Isa::Neon),
        "NEON backend missing"
    );
    #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
    for (variable, isa) in [
        ("QAT_REQUIRE_AVX2", qat_kernels::Isa::Avx2),
        ("QAT_REQUIRE_AVX512", qat_kernels::Isa::Avx512),
    ] {
        if std::env::var_os(variable).is_some() {
            assert!(
                all.iter().any(|(_, b)| b.isa() == isa),
                "{isa:?} backend missing"
            );
        }
    }
    all
}

/// Runs `run` on every backend: each result must pass `check` and have the
/// bits of the first (scalar) backend's.
pub fn on_every_path(
    what: &str,
    run: impl Fn(Backend) -> Outputs,
    check: impl Fn(&Outputs) -> Result<(), String>,
) {
    let mut first: Option<Outputs> = None;
    for (name, b) in backends() {
        let got = run(b);
        check(&got).unwrap_or_else(|e| panic!("{what}, {name}: {e}"));
        match &first {
            None => first = Some(got),
            Some(f) => assert_eq!(&got, f, "{what}: {name} differs from scalar"),
        }
    }
}

/// splitmix64: a small deterministic generator.
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * 2f64.powi(-53)
    }
    pub fn uniform(&mut self, lo: f64, hi: f64) -> bf16 {
        bf16::from_f64(lo + (hi - lo) * self.unit())
    }
    /// Normal(0, sigma), Box-Muller.
    pub fn normal(&mut self, sigma: f64) -> bf16 {
        let (u, v) = (self.unit().max(1e-300), self.unit());
        bf16::from_f64(sigma * (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos())
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
    pub fn vec(&mut self, len: usize, mut f: impl FnMut(&mut Rng) -> bf16) -> Vec<bf16> {
        (0..len).map(|_| f(self)).collect()
    }
}

/// bf16 values worth trying everywhere: zeros, ties, NaN, infinities, subnormals.
pub fn special_values() -> Vec<bf16> {
    let mut v: Vec<bf16> = [
        0.0f32,
        -0.0,
        1.0,
        -1.0,
        0.5,
        -0.5,
        1.5,
        -1.5,
        2.5,
        -2.5,
        1e-4,
        1e-3,
        0.99,
        5.0,
        -5.0,
        1e30,
        -1e30,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::NAN,
    ]
    .iter()
    .map(|&x| bf16::from_f32(x))
    .collect();
    v.extend(
        [
            0x0001u16, 0x8001, 0x007F, 0x0080, 0x7F7F, 0xFF7F, 0xFFC1, 0x7F81,
        ]
        .map(bf16::from_bits),
    );
    v
}

/// docs/kernels.md, integer codes: per group `q = r + n` from the forward
/// formula's `r`, `None` where `r` is NaN.
pub fn asymmetric_codes(
    x: &[bf16],
    s: &[bf16],
    o: &[bf16],
    p: &AsymmetricPerGroup,
) -> Vec<Option<u8>> {
    let n = 2f32.powi(p.bit as i32 - 1);
    x.chunks(p.group_size)
        .enumerate()
        .flat_map(|(k, xs)| {
            let (s, o) = (widen(s[k]), widen(o[k]));
            let alpha = max(s, p.eps) * n;
            xs.iter().map(move |&x| {
                let xn = (widen(x) - o) / alpha;
                let r = round(clip(xn, -p.clip_val, p.clip_val) * n - 0.5);
                (!r.is_nan()).then_some((r + n) as u8)
            })
        })
        .collect()
}

/// docs/kernels.md, dequantization per group, op by op: `r = q - n`,
/// `d = (r + 0.5) / n`, `out = d * alpha + o`.
pub fn asymmetric_values(q: &[u8], s: &[bf16], o: &[bf16], p: &AsymmetricPerGroup) -> Vec<bf16> {
    let n = 2f32.powi(p.bit as i32 - 1);
    q.chunks(p.group_size)
        .enumerate()
        .flat_map(|(k, qs)| {
            let (s, o) = (widen(s[k]), widen(o[k]));
            let alpha = max(s, p.eps) * n;
            qs.iter().map(move |&q| {
                let d = ((q as f32 - n) + 0.5) / n;
                narrow(d * alpha + o)
            })
        })
        .collect()
}

/// docs/kernels.md, symmetric codes `c = clip(round(x / ps), min_v, max_v)`,
/// `None` where NaN.
pub fn symmetric_codes(x: &[bf16], s: &[bf16], cols: usize, p: &Symmetric) -> Vec<Option<i8>> {
    let mut codes = vec![];
    for (row, &s) in s.iter().enumerate() {
        let ps = max(widen(s), p.eps);
        for &x in &x[row * cols..(row + 1) * cols] {
            let c = clip(round(widen(x) / ps), p.min_v, p.max_v) + 0.0;
            codes.push((!c.is_nan()).then_some(c as i8));
        }
    }
    codes
}

/// docs/kernels.md, symmetric dequantization: `c * ps`.
pub fn symmetric_values(c: &[i8], s: &[bf16], cols: usize, p: &Symmetric) -> Vec<bf16> {
    let mut out = vec![];
    for (row, &s) in s.iter().enumerate() {
        let ps = max(widen(s), p.eps);
        out.extend(
            c[row * cols..(row + 1) * cols]
                .iter()
                .map(|&c| narrow(c as f32 * ps)),
        );
    }
    out
}
