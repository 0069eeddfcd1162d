//! Asymmetric per channel on every path: forward and backward against the
//! independent reference of docs/kernels.md with each row a group, and
//! every other operation (in place, export, shard forms, finish,
//! calibration) bit for bit what asymmetric per group with `group_size =
//! cols` gives, on random rows of awkward lengths with the special values
//! mixed in.

mod common;

use common::{asymmetric, backends, check_asymmetric, special_values, Outputs, Rng};
use half::bf16;
use qat_kernels::{AsymmetricPerChannel, AsymmetricPerGroup, Backend, Calibration};

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
        let mut pick = |rng: &mut Rng, sigma: f64| {
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

/// Every other operation, per channel and per group, as bits (or the error).
fn others(b: Backend, c: &Case) -> [Vec<Vec<u16>>; 2] {
    let (n, rows) = (c.x.len(), c.rows);
    let per_channel = {
        let mut v = Vec::new();
        let mut w = c.x.clone();
        b.asymmetric_per_channel_in_place(&mut w, &c.s, &c.o, &c.channel)
            .unwrap();
        v.push(bits(&w));
        let mut codes = vec![0u8; n];
        let quantized = b.asymmetric_per_channel_quantize(&c.x, &c.s, &c.o, &mut codes, &c.channel);
        v.push(vec![quantized.map_or_else(|e| e.code() as u16, |()| 0)]);
        v.push(codes.iter().map(|&q| q.into()).collect());
        let codes: Vec<u8> = codes
            .iter()
            .map(|&q| q & ((1u32 << c.channel.bit) - 1) as u8)
            .collect();
        let mut values = vec![bf16::ZERO; n];
        b.asymmetric_per_channel_dequantize(&codes, &c.s, &c.o, &mut values, &c.channel)
            .unwrap();
        v.push(bits(&values));
        let mut gw = vec![bf16::ZERO; n];
        let mut sums = vec![0f64; rows * 2 * qat_kernels::block_count(c.cols)];
        b.asymmetric_per_channel_backward_blocks(
            &c.g, &c.x, &c.s, &c.o, &mut gw, &mut sums, &c.channel,
        )
        .unwrap();
        v.push(bits(&gw));
        v.push(
            sums.iter()
                .flat_map(|s| s.to_bits().to_le_bytes().map(u16::from))
                .collect(),
        );
        let (mut gs, mut go) = (vec![bf16::ZERO; rows], vec![bf16::ZERO; rows]);
        qat_kernels::asymmetric_per_channel_finish(
            &sums, &c.s, &mut gs, &mut go, c.cols, &c.channel,
        )
        .unwrap();
        v.push(bits(&gs));
        v.push(bits(&go));
        let mut g = c.g.clone();
        b.asymmetric_per_channel_backward_in_place(
            &mut g, &c.x, &c.s, &c.o, &mut gs, &mut go, &c.channel,
        )
        .unwrap();
        v.push(bits(&g));
        let finite: Vec<bf16> =
            c.x.iter()
                .map(|&x| if x.is_finite() { x } else { bf16::ZERO })
                .collect();
        for mode in [Calibration::Search, Calibration::Lsq] {
            let (mut s, mut o) = (vec![bf16::ZERO; rows], vec![bf16::ZERO; rows]);
            b.asymmetric_per_channel_calibrate(&finite, &mut s, &mut o, &c.channel, mode)
                .unwrap();
            v.push(bits(&s));
            v.push(bits(&o));
        }
        v
    };
    let p = c.group();
    let per_group = {
        let mut v = Vec::new();
        let mut w = c.x.clone();
        b.asymmetric_per_group_in_place(&mut w, &c.s, &c.o, &p)
            .unwrap();
        v.push(bits(&w));
        let mut codes = vec![0u8; n];
        let quantized = b.asymmetric_per_group_quantize(&c.x, &c.s, &c.o, &mut codes, &p);
        v.push(vec![quantized.map_or_else(|e| e.code() as u16, |()| 0)]);
        v.push(codes.iter().map(|&q| q.into()).collect());
        let codes: Vec<u8> = codes
            .iter()
            .map(|&q| q & ((1u32 << p.bit) - 1) as u8)
            .collect();
        let mut values = vec![bf16::ZERO; n];
        b.asymmetric_per_group_dequantize(&codes, &c.s, &c.o, &mut values, &p)
            .unwrap();
        v.push(bits(&values));
        let mut gw = vec![bf16::ZERO; n];
        let mut sums = vec![0f64; rows * 2 * qat_kernels::block_count(c.cols)];
        b.asymmetric_per_group_backward_blocks(&c.g, &c.x, &c.s, &c.o, &mut gw, &mut sums, &p)
            .unwrap();
        v.push(bits(&gw));
        v.push(
            sums.iter()
                .flat_map(|s| s.to_bits().to_le_bytes().map(u16::from))
                .collect(),
        );
        let (mut gs, mut go) = (vec![bf16::ZERO; rows], vec![bf16::ZERO; rows]);
        qat_kernels::asymmetric_per_group_finish(&sums, &c.s, &mut gs, &mut go, &p).unwrap();
        v.push(bits(&gs));
        v.push(bits(&go));
        let mut g = c.g.clone();
        b.asymmetric_per_group_backward_in_place(&mut g, &c.x, &c.s, &c.o, &mut gs, &mut go, &p)
            .unwrap();
        v.push(bits(&g));
        let finite: Vec<bf16> =
            c.x.iter()
                .map(|&x| if x.is_finite() { x } else { bf16::ZERO })
                .collect();
        for mode in [Calibration::Search, Calibration::Lsq] {
            let (mut s, mut o) = (vec![bf16::ZERO; rows], vec![bf16::ZERO; rows]);
            b.asymmetric_per_group_calibrate(&finite, &mut s, &mut o, &p, mode)
                .unwrap();
            v.push(bits(&s));
            v.push(bits(&o));
        }
        v
    };
    [per_channel, per_group]
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
            let mut first: Option<(Outputs, [Vec<Vec<u16>>; 2])> = None;
            for (name, b) in backends() {
                let got = run(b, &c);
                check_asymmetric(&got, &want)
                    .unwrap_or_else(|e| panic!("{rows}x{cols}, bit {bit}, {name}: {e}"));
                let [channel, group] = others(b, &c);
                assert_eq!(
                    channel, group,
                    "{rows}x{cols}, bit {bit}, {name}: per channel != per group"
                );
                match &first {
                    None => first = Some((got, [channel, group])),
                    Some((f, o)) => {
                        assert_eq!(
                            &got, f,
                            "{rows}x{cols}, bit {bit}: {name} differs from scalar"
                        );
                        assert_eq!(
                            &channel, &o[0],
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
        Err(qat_kernels::Error::Shape)
    );
    assert_eq!(out, [bf16::ZERO; 12]);
}
