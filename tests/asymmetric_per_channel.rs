//! Asymmetric per channel on every backend: forward and backward against the
//! independent reference of docs/kernels.md with each row a group, and
//! every other operation (in place, export, shard forms, finish,
//! calibration) bit for bit what asymmetric per group with `group_size =
//! cols` gives, on random rows of awkward lengths with the special values
//! mixed in.

mod common;

use common::{asymmetric, backends, check_asymmetric, special_values, Outputs, Rng};
use half::bf16;
use qat_kernels::{AsymmetricPerChannel, AsymmetricPerGroup, Backend, Calibration, Error};

fn bits(v: &[bf16]) -> Vec<u16> {
    v.iter().map(|b| b.to_bits()).collect()
}

struct Case {
    rows: usize,
    cols: usize,
    g: Vec<bf16>,
    x: Vec<bf16>,
    s: Vec<bf16>,
    o: Vec<bf16>,
    channel: AsymmetricPerChannel,
}

impl Case {
    fn new(rng: &mut Rng, rows: usize, cols: usize, bit: u32) -> Case {
        let specials = special_values();
        let pick = |rng: &mut Rng, sigma: f64| {
            if rng.below(16) == 0 {
                specials[rng.below(specials.len())]
            } else {
                rng.normal(sigma)
            }
        };
        let n = rows * cols;
        Case {
            rows,
            cols,
            g: (0..n).map(|_| pick(rng, 1.0)).collect(),
            x: (0..n).map(|_| pick(rng, 0.1)).collect(),
            s: (0..rows).map(|_| rng.uniform(1e-3, 0.05)).collect(),
            o: (0..rows).map(|_| rng.uniform(-0.02, 0.02)).collect(),
            channel: AsymmetricPerChannel {
                bit,
                ..Default::default()
            },
        }
    }

    fn group(&self) -> AsymmetricPerGroup {
        AsymmetricPerGroup {
            group_size: self.cols,
            bit: self.channel.bit,
            eps: self.channel.eps,
            clip_val: self.channel.clip_val,
        }
    }
}

/// Forward and backward through the per-channel entry points.
fn run(b: Backend, c: &Case) -> Outputs {
    let n = c.x.len();
    let mut out = vec![bf16::ZERO; n];
    b.asymmetric_per_channel(&c.x, &c.s, &c.o, &mut out, &c.channel)
        .unwrap();
    let (mut gw, mut gs, mut go) = (
        vec![bf16::ZERO; n],
        vec![bf16::ZERO; c.rows],
        vec![bf16::ZERO; c.rows],
    );
    b.asymmetric_per_channel_backward(
        &c.g, &c.x, &c.s, &c.o, &mut gw, &mut gs, &mut go, &c.channel,
    )
    .unwrap();
    Outputs {
        out: bits(&out),
        grad_weight: bits(&gw),
        grad_scale: bits(&gs),
        grad_offset: bits(&go),
    }
}

/// The operations of an asymmetric quantizer on rows of `cols`, as the
/// crate's API gives them: per channel, or per group with each row a group.
trait Ops {
    fn in_place(&self, b: Backend, w: &mut [bf16], s: &[bf16], o: &[bf16]);
    fn quantize(
        &self,
        b: Backend,
        x: &[bf16],
        s: &[bf16],
        o: &[bf16],
        codes: &mut [u8],
    ) -> Result<(), Error>;
    fn dequantize(&self, b: Backend, codes: &[u8], s: &[bf16], o: &[bf16], out: &mut [bf16]);
    fn blocks(
        &self,
        b: Backend,
        g: &[bf16],
        x: &[bf16],
        s: &[bf16],
        o: &[bf16],
        gw: &mut [bf16],
        sums: &mut [f64],
    );
    fn finish(&self, sums: &[f64], s: &[bf16], gs: &mut [bf16], go: &mut [bf16], cols: usize);
    fn backward_in_place(
        &self,
        b: Backend,
        g: &mut [bf16],
        x: &[bf16],
        s: &[bf16],
        o: &[bf16],
        gs: &mut [bf16],
        go: &mut [bf16],
    );
    fn calibrate(&self, b: Backend, x: &[bf16], s: &mut [bf16], o: &mut [bf16], mode: Calibration);
}

impl Ops for AsymmetricPerChannel {
    fn in_place(&self, b: Backend, w: &mut [bf16], s: &[bf16], o: &[bf16]) {
        b.asymmetric_per_channel_in_place(w, s, o, self).unwrap()
    }
    fn quantize(
        &self,
        b: Backend,
        x: &[bf16],
        s: &[bf16],
        o: &[bf16],
        codes: &mut [u8],
    ) -> Result<(), Error> {
        b.asymmetric_per_channel_quantize(x, s, o, codes, self)
    }
    fn dequantize(&self, b: Backend, codes: &[u8], s: &[bf16], o: &[bf16], out: &mut [bf16]) {
        b.asymmetric_per_channel_dequantize(codes, s, o, out, self)
            .unwrap()
    }
    fn blocks(
        &self,
        b: Backend,
        g: &[bf16],
        x: &[bf16],
        s: &[bf16],
        o: &[bf16],
        gw: &mut [bf16],
        sums: &mut [f64],
    ) {
        b.asymmetric_per_channel_backward_blocks(g, x, s, o, gw, sums, self)
            .unwrap()
    }
    fn finish(&self, sums: &[f64], s: &[bf16], gs: &mut [bf16], go: &mut [bf16], cols: usize) {
        qat_kernels::asymmetric_per_channel_finish(sums, s, gs, go, cols, self).unwrap()
    }
    fn backward_in_place(
        &self,
        b: Backend,
        g: &mut [bf16],
        x: &[bf16],
        s: &[bf16],
        o: &[bf16],
        gs: &mut [bf16],
        go: &mut [bf16],
    ) {
        b.asymmetric_per_channel_backward_in_place(g, x, s, o, gs, go, self)
            .unwrap()
    }
    fn calibrate(&self, b: Backend, x: &[bf16], s: &mut [bf16], o: &mut [bf16], mode: Calibration) {
        b.asymmetric_per_channel_calibrate(x, s, o, self, mode)
            .unwrap()
    }
}

impl Ops for AsymmetricPerGroup {
    fn in_place(&self, b: Backend, w: &mut [bf16], s: &[bf16], o: &[bf16]) {
        b.asymmetric_per_group_in_place(w, s, o, self).unwrap()
    }
    fn quantize(
        &self,
        b: Backend,
        x: &[bf16],
        s: &[bf16],
        o: &[bf16],
        codes: &mut [u8],
    ) -> Result<(), Error> {
        b.asymmetric_per_group_quantize(x, s, o, codes, self)
    }
    fn dequantize(&self, b: Backend, codes: &[u8], s: &[bf16], o: &[bf16], out: &mut [bf16]) {
        b.asymmetric_per_group_dequantize(codes, s, o, out, self)
            .unwrap()
    }
    fn blocks(
        &self,
        b: Backend,
        g: &[bf16],
        x: &[bf16],
        s: &[bf16],
        o: &[bf16],
        gw: &mut [bf16],
        sums: &mut [f64],
    ) {
        b.asymmetric_per_group_backward_blocks(g, x, s, o, gw, sums, self)
            .unwrap()
    }
    fn finish(&self, sums: &[f64], s: &[bf16], gs: &mut [bf16], go: &mut [bf16], _cols: usize) {
        qat_kernels::asymmetric_per_group_finish(sums, s, gs, go, self).unwrap()
    }
    fn backward_in_place(
        &self,
        b: Backend,
        g: &mut [bf16],
        x: &[bf16],
        s: &[bf16],
        o: &[bf16],
        gs: &mut [bf16],
        go: &mut [bf16],
    ) {
        b.asymmetric_per_group_backward_in_place(g, x, s, o, gs, go, self)
            .unwrap()
    }
    fn calibrate(&self, b: Backend, x: &[bf16], s: &mut [bf16], o: &mut [bf16], mode: Calibration) {
        b.asymmetric_per_group_calibrate(x, s, o, self, mode)
            .unwrap()
    }
}

/// Every other operation, as bits (a refused export as its status).
fn others(b: Backend, c: &Case, q: &impl Ops) -> Vec<Vec<u16>> {
    let (n, rows, bit) = (c.x.len(), c.rows, c.channel.bit);
    let mut v = Vec::new();
    let mut w = c.x.clone();
    q.in_place(b, &mut w, &c.s, &c.o);
    v.push(bits(&w));
    let mut codes = vec![0u8; n];
    let quantized = q.quantize(b, &c.x, &c.s, &c.o, &mut codes);
    v.push(vec![quantized.map_or_else(|e| e.code() as u16, |()| 0)]);
    v.push(codes.iter().map(|&q| q.into()).collect());
    let codes: Vec<u8> = codes
        .iter()
        .map(|&q| q & ((1u32 << bit) - 1) as u8)
        .collect();
    let mut values = vec![bf16::ZERO; n];
    q.dequantize(b, &codes, &c.s, &c.o, &mut values);
    v.push(bits(&values));
    let mut gw = vec![bf16::ZERO; n];
    let mut sums = vec![0f64; rows * 2 * qat_kernels::block_count(c.cols)];
    q.blocks(b, &c.g, &c.x, &c.s, &c.o, &mut gw, &mut sums);
    v.push(bits(&gw));
    v.push(
        sums.iter()
            .flat_map(|s| s.to_bits().to_le_bytes().map(u16::from))
            .collect(),
    );
    let (mut gs, mut go) = (vec![bf16::ZERO; rows], vec![bf16::ZERO; rows]);
    q.finish(&sums, &c.s, &mut gs, &mut go, c.cols);
    v.push(bits(&gs));
    v.push(bits(&go));
    let mut g = c.g.clone();
    q.backward_in_place(b, &mut g, &c.x, &c.s, &c.o, &mut gs, &mut go);
    v.push(bits(&g));
    let finite: Vec<bf16> =
        c.x.iter()
            .map(|&x| if x.is_finite() { x } else { bf16::ZERO })
            .collect();
    for mode in [Calibration::Search, Calibration::Lsq] {
        let (mut s, mut o) = (vec![bf16::ZERO; rows], vec![bf16::ZERO; rows]);
        q.calibrate(b, &finite, &mut s, &mut o, mode);
        v.push(bits(&s));
        v.push(bits(&o));
    }
    v
}

#[test]
fn per_channel_is_the_reference_with_each_row_a_group_on_every_path() {
    let mut rng = Rng(0xC4A7);
    let mut cases = 0;
    for &(rows, cols) in &[
        (1, 1),
        (3, 7),
        (4, 16),
        (2, 33),
        (5, 129),
        (1, 4097),
        (8, 250),
    ] {
        for bit in [1, 2, 4, 8] {
            let c = Case::new(&mut rng, rows, cols, bit);
            let want = asymmetric(&c.g, &c.x, &c.s, &c.o, &c.group());
            let mut first: Option<(Outputs, Vec<Vec<u16>>)> = None;
            for (name, b) in backends() {
                let got = run(b, &c);
                check_asymmetric(&got, &want)
                    .unwrap_or_else(|e| panic!("{rows}x{cols}, bit {bit}, {name}: {e}"));
                let (channel, group) = (others(b, &c, &c.channel), others(b, &c, &c.group()));
                assert_eq!(
                    channel, group,
                    "{rows}x{cols}, bit {bit}, {name}: per channel != per group"
                );
                match &first {
                    None => first = Some((got, channel)),
                    Some((f, o)) => {
                        assert_eq!(
                            &got, f,
                            "{rows}x{cols}, bit {bit}: {name} differs from scalar"
                        );
                        assert_eq!(
                            &channel, o,
                            "{rows}x{cols}, bit {bit}: {name} differs from scalar"
                        );
                    }
                }
                cases += 1;
            }
        }
    }
    assert!(cases > 0);
}

#[test]
fn a_slice_of_the_wrong_length_is_a_shape_error_and_writes_nothing() {
    let p = AsymmetricPerChannel::default();
    let (x, s, o) = ([bf16::ONE; 12], [bf16::ONE; 5], [bf16::ZERO; 5]);
    let mut out = [bf16::ZERO; 12];
    // 12 weights do not make 5 rows.
    assert_eq!(
        qat_kernels::asymmetric_per_channel(&x, &s, &o, &mut out, &p),
        Err(qat_kernels::Error::new(
            qat_kernels::Argument::Scale,
            qat_kernels::Rule::ChannelCount
        ))
    );
    assert_eq!(out, [bf16::ZERO; 12]);
}
