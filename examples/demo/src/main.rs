//! Quantization-aware training with qat-kernels, end to end, in one command:
//!
//! ```sh
//! cargo run --release -p qat-demo
//! ```
//!
//! A student MLP learns to reproduce the outputs of a fixed random "teacher"
//! network on random inputs (the data is generated here, no download). The
//! metric is the mean squared error of its outputs on held-out inputs: lower
//! is better. The student's three
//! layers use the three quantizers where each belongs:
//!
//! - input layer, 32 -> 128: symmetric per tensor, 8 bit;
//! - hidden layer, 128 -> 128: asymmetric per group, 4 bit, groups of 128
//!   input weights, learnable scale and offset (LSQ+);
//! - output head, 128 -> 10: symmetric per channel, 4 bit (LSQ).
//!
//! Three models are compared on held-out data: the fp32 model; the fp32 model
//! quantized after training with min/max scales (PTQ); and the fp32 model
//! fine-tuned with fake quantization in the loop (QAT), where the crate's
//! forward kernels quantize the weights and its backward kernels give the
//! weight, scale and offset gradients.

use half::bf16;
use qat_kernels::{AsymmetricPerGroup, Symmetric};

const INPUT: usize = 32;
const HIDDEN: usize = 128;
const OUTPUTS: usize = 10;
const GROUP: usize = 128;
const BATCH: usize = 64;

/// splitmix64, with a Box-Muller normal.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn unit(&mut self) -> f32 {
        ((self.next() >> 40) as f32 + 0.5) / (1u64 << 24) as f32
    }
    fn normal(&mut self) -> f32 {
        (-2.0 * self.unit().ln()).sqrt() * (std::f32::consts::TAU * self.unit()).cos()
    }
}

/// A dense layer `y = W x + b`, `W` row-major `[out][in]`.
#[derive(Clone)]
struct Dense {
    inputs: usize,
    outputs: usize,
    w: Vec<f32>,
    b: Vec<f32>,
}

/// `a . b`, in eight running sums (lanes the compiler vectorizes; one sum
/// would be a chain of dependent additions), added at the end.
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0f32; 8];
    let (a8, b8) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = a8
        .remainder()
        .iter()
        .zip(b8.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in a8.zip(b8) {
        for i in 0..8 {
            lanes[i] += x[i] * y[i];
        }
    }
    lanes.iter().sum::<f32>() + tail
}

impl Dense {
    fn new(inputs: usize, outputs: usize, rng: &mut Rng, gain: f32) -> Self {
        let scale = gain / (inputs as f32).sqrt();
        let w = (0..inputs * outputs)
            .map(|_| rng.normal() * scale)
            .collect();
        Dense {
            inputs,
            outputs,
            w,
            b: vec![0.0; outputs],
        }
    }

    /// `y[b] = w x[b] + bias` for a batch, with weights `w` (possibly fake-quantized).
    fn forward(&self, w: &[f32], x: &[f32], y: &mut [f32]) {
        for (xb, yb) in x.chunks(self.inputs).zip(y.chunks_mut(self.outputs)) {
            for (o, yo) in yb.iter_mut().enumerate() {
                *yo = self.b[o] + dot(&w[o * self.inputs..(o + 1) * self.inputs], xb);
            }
        }
    }

    /// Gradients of the weights (into `gw`) and bias (`gb`), and of the input
    /// (`dx`, if asked), from the output gradient `dy`.
    fn backward(
        &self,
        w: &[f32],
        x: &[f32],
        dy: &[f32],
        gw: &mut [f32],
        gb: &mut [f32],
        dx: Option<&mut [f32]>,
    ) {
        gw.fill(0.0);
        gb.fill(0.0);
        for (xb, dyb) in x.chunks(self.inputs).zip(dy.chunks(self.outputs)) {
            for (o, &d) in dyb.iter().enumerate() {
                gb[o] += d;
                for (g, &xi) in gw[o * self.inputs..(o + 1) * self.inputs]
                    .iter_mut()
                    .zip(xb)
                {
                    *g += d * xi;
                }
            }
        }
        if let Some(dx) = dx {
            dx.fill(0.0);
            for (dxb, dyb) in dx.chunks_mut(self.inputs).zip(dy.chunks(self.outputs)) {
                for (o, &d) in dyb.iter().enumerate() {
                    for (g, &wi) in dxb
                        .iter_mut()
                        .zip(&w[o * self.inputs..(o + 1) * self.inputs])
                    {
                        *g += d * wi;
                    }
                }
            }
        }
    }
}

/// Adam on one parameter vector.
struct Adam {
    m: Vec<f32>,
    v: Vec<f32>,
    lr: f32,
}

impl Adam {
    fn new(n: usize, lr: f32) -> Self {
        Adam {
            m: vec![0.0; n],
            v: vec![0.0; n],
            lr,
        }
    }
    fn step(&mut self, p: &mut [f32], g: &[f32], t: i32) {
        let (b1, b2) = (0.9f32, 0.999f32);
        let (c1, c2) = (1.0 - b1.powi(t), 1.0 - b2.powi(t));
        for (((p, &g), m), v) in p.iter_mut().zip(g).zip(&mut self.m).zip(&mut self.v) {
            *m = b1 * *m + (1.0 - b1) * g;
            *v = b2 * *v + (1.0 - b2) * g * g;
            *p -= self.lr * (*m / c1) / ((*v / c2).sqrt() + 1e-8);
        }
    }
}

fn to_bf16(v: &[f32]) -> Vec<bf16> {
    v.iter().map(|&x| bf16::from_f32(x)).collect()
}

fn to_f32(v: &[bf16]) -> Vec<f32> {
    v.iter().map(|&x| f32::from(x)).collect()
}

/// The quantization state of the student: one learnable scale for the input
/// layer, a scale and offset per group of the hidden layer, a scale per
/// output row of the head.
#[derive(Clone)]
struct Quant {
    input_scale: Vec<f32>,
    hidden_scale: Vec<f32>,
    hidden_offset: Vec<f32>,
    head_scale: Vec<f32>,
}

const INPUT_Q: Symmetric = Symmetric {
    eps: 1e-6,
    min_v: -128.0,
    max_v: 127.0,
};
const HEAD_Q: Symmetric = Symmetric {
    eps: 1e-6,
    min_v: -8.0,
    max_v: 7.0,
};
const HIDDEN_Q: AsymmetricPerGroup = AsymmetricPerGroup {
    group_size: GROUP,
    bit: 4,
    eps: 1e-6,
    clip_val: 0.99,
};

impl Quant {
    /// Post-training calibration, the usual way: symmetric scales from each
    /// tensor's or row's largest magnitude, asymmetric groups from min/max.
    fn min_max(layers: &[Dense; 3]) -> Self {
        let absmax = |w: &[f32]| w.iter().fold(0f32, |m, x| m.max(x.abs()));
        let (mut hidden_scale, mut hidden_offset) = (vec![], vec![]);
        for group in layers[1].w.chunks(GROUP) {
            let lo = group.iter().copied().fold(f32::INFINITY, f32::min);
            let hi = group.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            // 16 levels at offset + (k + 0.5) * scale, k in -8..8: span [lo, hi].
            hidden_scale.push((hi - lo) / 15.0);
            hidden_offset.push((hi + lo) / 2.0);
        }
        Quant {
            input_scale: vec![absmax(&layers[0].w) / 127.0],
            hidden_scale,
            hidden_offset,
            head_scale: layers[2]
                .w
                .chunks(HIDDEN)
                .map(|row| absmax(row) / 7.0)
                .collect(),
        }
    }

    /// Post-training calibration by the crate: per unit, the parameters
    /// whose forward pass is closest to the weights (`Calibration::Search`).
    fn calibrated(layers: &[Dense; 3]) -> Self {
        let w = layers.each_ref().map(|l| to_bf16(&l.w));
        let search = qat_kernels::Calibration::Search;
        let mut input = bf16::ZERO;
        qat_kernels::symmetric_per_tensor_calibrate(&w[0], &mut input, &INPUT_Q, search).unwrap();
        let groups = w[1].len() / GROUP;
        let (mut scale, mut offset) = (vec![bf16::ZERO; groups], vec![bf16::ZERO; groups]);
        qat_kernels::asymmetric_per_group_calibrate(
            &w[1],
            &mut scale,
            &mut offset,
            &HIDDEN_Q,
            search,
        )
        .unwrap();
        let mut head = vec![bf16::ZERO; OUTPUTS];
        qat_kernels::symmetric_per_channel_calibrate(&w[2], &mut head, &HEAD_Q, search).unwrap();
        Quant {
            input_scale: vec![f32::from(input)],
            hidden_scale: to_f32(&scale),
            hidden_offset: to_f32(&offset),
            head_scale: to_f32(&head),
        }
    }

    /// Fake-quantized weights of the three layers, through the crate.
    fn fake_quantize(&self, layers: &[Dense; 3]) -> [Vec<f32>; 3] {
        let w = layers.each_ref().map(|l| to_bf16(&l.w));
        let mut out = w.clone();
        qat_kernels::symmetric_per_tensor(
            &w[0],
            bf16::from_f32(self.input_scale[0]),
            &mut out[0],
            &INPUT_Q,
        )
        .unwrap();
        qat_kernels::asymmetric_per_group(
            &w[1],
            &to_bf16(&self.hidden_scale),
            &to_bf16(&self.hidden_offset),
            &mut out[1],
            &HIDDEN_Q,
        )
        .unwrap();
        qat_kernels::symmetric_per_channel(&w[2], &to_bf16(&self.head_scale), &mut out[2], &HEAD_Q)
            .unwrap();
        out.map(|o| to_f32(&o))
    }
}

/// A packing function of the crate.
type Pack<C> = fn(&[C], u32, &mut [u8]) -> Result<(), qat_kernels::Error>;

/// Packs codes of `bits` bits (signed codes as their two's complement).
fn packed<C>(codes: &[C], bits: u32, pack: Pack<C>) -> Vec<u8> {
    let mut bytes = vec![0; qat_kernels::packed_len(codes.len(), bits).unwrap()];
    pack(codes, bits, &mut bytes).unwrap();
    bytes
}

/// The QAT model as a deployment ships it, integer codes packed densely
/// with bf16 scales and offsets, and the weights rebuilt from that alone:
/// unpacked and dequantized.
fn export(quant: &Quant, layers: &[Dense; 3]) -> [Vec<f32>; 3] {
    let w = layers.each_ref().map(|l| to_bf16(&l.w));
    let input_scale = bf16::from_f32(quant.input_scale[0]);
    let (hidden_scale, hidden_offset) =
        (to_bf16(&quant.hidden_scale), to_bf16(&quant.hidden_offset));
    let head_scale = to_bf16(&quant.head_scale);

    let mut input_codes = vec![0i8; w[0].len()];
    qat_kernels::symmetric_per_tensor_quantize(&w[0], input_scale, &mut input_codes, &INPUT_Q)
        .unwrap();
    let mut hidden_codes = vec![0u8; w[1].len()];
    qat_kernels::asymmetric_per_group_quantize(
        &w[1],
        &hidden_scale,
        &hidden_offset,
        &mut hidden_codes,
        &HIDDEN_Q,
    )
    .unwrap();
    let mut head_codes = vec![0i8; w[2].len()];
    qat_kernels::symmetric_per_channel_quantize(&w[2], &head_scale, &mut head_codes, &HEAD_Q)
        .unwrap();

    let input_bytes = packed(&input_codes, 8, qat_kernels::pack_signed_codes);
    let hidden_bytes = packed(&hidden_codes, 4, qat_kernels::pack_codes);
    let head_bytes = packed(&head_codes, 4, qat_kernels::pack_signed_codes);
    let lines = [
        (
            "input layer",
            &w[0],
            "8-bit symmetric per tensor",
            &input_bytes,
            1,
        ),
        (
            "hidden layer",
            &w[1],
            "4-bit asymmetric per group of 128",
            &hidden_bytes,
            2 * hidden_scale.len(),
        ),
        (
            "output head",
            &w[2],
            "4-bit symmetric per channel",
            &head_bytes,
            head_scale.len(),
        ),
    ];
    let (mut shipped, mut full) = (0, 0);
    for (name, weights, how, bytes, parameters) in lines {
        println!(
            "export: {name}, {} weights, {how}: {} bytes of packed codes + {} bytes of bf16 scales{}",
            weights.len(),
            bytes.len(),
            2 * parameters,
            if name == "hidden layer" { " and offsets" } else { "" }
        );
        shipped += bytes.len() + 2 * parameters;
        full += 2 * weights.len();
    }
    println!(
        "export: model {shipped} bytes, against {full} bytes of bf16 weights ({:.1} times smaller)",
        full as f64 / shipped as f64
    );

    // Rebuilt from the packed bytes and the parameters alone.
    let mut input_back = vec![0i8; w[0].len()];
    qat_kernels::unpack_signed_codes(&input_bytes, 8, &mut input_back).unwrap();
    let mut hidden_back = vec![0u8; w[1].len()];
    qat_kernels::unpack_codes(&hidden_bytes, 4, &mut hidden_back).unwrap();
    let mut head_back = vec![0i8; w[2].len()];
    qat_kernels::unpack_signed_codes(&head_bytes, 4, &mut head_back).unwrap();
    let mut rebuilt = w.clone();
    qat_kernels::symmetric_per_tensor_dequantize(
        &input_back,
        input_scale,
        &mut rebuilt[0],
        &INPUT_Q,
    )
    .unwrap();
    qat_kernels::asymmetric_per_group_dequantize(
        &hidden_back,
        &hidden_scale,
        &hidden_offset,
        &mut rebuilt[1],
        &HIDDEN_Q,
    )
    .unwrap();
    qat_kernels::symmetric_per_channel_dequantize(
        &head_back,
        &head_scale,
        &mut rebuilt[2],
        &HEAD_Q,
    )
    .unwrap();

    let (in_f32, in_bf16) =
        affine_differences(&hidden_back, &hidden_scale, &hidden_offset, &rebuilt[1]);
    println!(
        "export: the affine form q * ps + (o - (n - 0.5) * ps) in f32 changes {in_f32} of the hidden layer's {} \
         values in f32, {in_bf16} in bf16",
        w[1].len()
    );
    let ((in_f32, in_bf16), total) = affine_differences_large();
    println!(
        "export: and {in_f32} in f32, {in_bf16} in bf16 of the {total} of a 4096 x 4096 N(0, 0.02) tensor in \
         min/max groups of 128"
    );
    rebuilt.map(|o| to_f32(&o))
}

/// [`affine_differences`] on a large tensor calibrated the usual way: groups
/// of 128 normal weights with min/max scales and offsets.
fn affine_differences_large() -> ((usize, usize), usize) {
    let mut rng = Rng(7);
    let weights: Vec<f32> = (0..4096 * 4096).map(|_| 0.02 * rng.normal()).collect();
    let (mut scale, mut offset) = (vec![], vec![]);
    for group in weights.chunks(GROUP) {
        let lo = group.iter().copied().fold(f32::INFINITY, f32::min);
        let hi = group.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        scale.push(bf16::from_f32((hi - lo) / 15.0));
        offset.push(bf16::from_f32((hi + lo) / 2.0));
    }
    let weights = to_bf16(&weights);
    let mut codes = vec![0u8; weights.len()];
    qat_kernels::asymmetric_per_group_quantize(&weights, &scale, &offset, &mut codes, &HIDDEN_Q)
        .unwrap();
    let mut values = vec![bf16::ZERO; weights.len()];
    qat_kernels::asymmetric_per_group_dequantize(&codes, &scale, &offset, &mut values, &HIDDEN_Q)
        .unwrap();
    (
        affine_differences(&codes, &scale, &offset, &values),
        weights.len(),
    )
}

/// How many values the plain affine dequantization, `q * ps + zero_point`
/// with `zero_point = o - (n - 0.5) * ps` in f32, gives other bits than the
/// library's: `(in f32, in bf16)`, against the documented formula
/// `((q - n) + 0.5) / n * alpha + o` before narrowing, and against the
/// library's bf16 values after.
fn affine_differences(
    codes: &[u8],
    scale: &[bf16],
    offset: &[bf16],
    values: &[bf16],
) -> (usize, usize) {
    let n = (1u32 << (HIDDEN_Q.bit - 1)) as f32;
    let (mut in_f32, mut in_bf16) = (0, 0);
    let groups = codes.chunks(GROUP).zip(values.chunks(GROUP));
    for ((codes, values), (&s, &o)) in groups.zip(scale.iter().zip(offset)) {
        let (ps, o) = (f32::from(s).max(HIDDEN_Q.eps), f32::from(o));
        let zero_point = o - (n - 0.5) * ps;
        for (&q, &v) in codes.iter().zip(values) {
            let affine = q as f32 * ps + zero_point;
            let documented = ((q as f32 - n) + 0.5) / n * (ps * n) + o;
            in_f32 += usize::from(affine.to_bits() != documented.to_bits());
            in_bf16 += usize::from(bf16::from_f32(affine).to_bits() != v.to_bits());
        }
    }
    (in_f32, in_bf16)
}

/// The regression problem: inputs ~ N(0, I), targets = the outputs of a
/// fixed random teacher network.
struct Task {
    train_x: Vec<f32>,
    train_y: Vec<f32>,
    test_x: Vec<f32>,
    test_y: Vec<f32>,
}

impl Task {
    fn generate(train: usize, test: usize) -> Self {
        let mut rng = Rng(7);
        let teacher = [
            Dense::new(INPUT, 64, &mut rng, 0.7),
            Dense::new(64, OUTPUTS, &mut rng, 1.0),
        ];
        let mut sample = |n: usize| {
            let x: Vec<f32> = (0..n * INPUT).map(|_| rng.normal()).collect();
            let mut h = vec![0.0; n * 64];
            teacher[0].forward(&teacher[0].w, &x, &mut h);
            h.iter_mut().for_each(|v| *v = v.tanh());
            let mut y = vec![0.0; n * OUTPUTS];
            teacher[1].forward(&teacher[1].w, &h, &mut y);
            (x, y)
        };
        let (train_x, train_y) = sample(train);
        let (test_x, test_y) = sample(test);
        Task {
            train_x,
            train_y,
            test_x,
            test_y,
        }
    }
}

/// Activations of one forward pass, kept for the backward pass.
struct Pass {
    h1: Vec<f32>,
    h2: Vec<f32>,
    logits: Vec<f32>,
}

fn forward(layers: &[Dense; 3], w: &[Vec<f32>; 3], x: &[f32]) -> Pass {
    let n = x.len() / INPUT;
    let relu = |v: &mut Vec<f32>| v.iter_mut().for_each(|a| *a = a.max(0.0));
    let mut h1 = vec![0.0; n * HIDDEN];
    layers[0].forward(&w[0], x, &mut h1);
    relu(&mut h1);
    let mut h2 = vec![0.0; n * HIDDEN];
    layers[1].forward(&w[1], &h1, &mut h2);
    relu(&mut h2);
    let mut logits = vec![0.0; n * OUTPUTS];
    layers[2].forward(&w[2], &h2, &mut logits);
    Pass { h1, h2, logits }
}

/// Mean squared error of the outputs against the targets.
fn mse(layers: &[Dense; 3], w: &[Vec<f32>; 3], x: &[f32], y: &[f32]) -> f32 {
    let pass = forward(layers, w, x);
    let total: f64 = pass
        .logits
        .iter()
        .zip(y)
        .map(|(a, b)| ((a - b) as f64).powi(2))
        .sum();
    (total / y.len() as f64) as f32
}

/// The gradient through a ReLU: zero where its output `h` was not positive.
fn relu_backward(grad: &mut [f32], h: &[f32]) {
    grad.iter_mut()
        .zip(h)
        .for_each(|(d, &h)| *d *= if h > 0.0 { 1.0 } else { 0.0 });
}

/// Trains `layers` on the task; with `quant`, in QAT mode (fake-quantized
/// forward, the crate's backward kernels for weights, scales and offsets).
fn train(
    layers: &mut [Dense; 3],
    mut quant: Option<&mut Quant>,
    task: &Task,
    epochs: usize,
    lr: f32,
    label: &str,
) {
    let mut rng = Rng(99);
    let mut adam_w: Vec<Adam> = layers.iter().map(|l| Adam::new(l.w.len(), lr)).collect();
    let mut adam_b: Vec<Adam> = layers.iter().map(|l| Adam::new(l.b.len(), lr)).collect();
    let mut adam_q = quant.as_ref().map(|q| {
        [
            q.input_scale.len(),
            q.hidden_scale.len(),
            q.hidden_offset.len(),
            q.head_scale.len(),
        ]
        .map(|n| Adam::new(n, lr * 0.1))
    });
    let n = task.train_y.len() / OUTPUTS;
    let mut order: Vec<usize> = (0..n).collect();
    let mut t = 0;
    for epoch in 1..=epochs {
        for i in (1..n).rev() {
            order.swap(i, (rng.next() % (i as u64 + 1)) as usize);
        }
        let mut loss_sum = 0.0;
        for batch in order.chunks_exact(BATCH) {
            t += 1;
            let x: Vec<f32> = batch
                .iter()
                .flat_map(|&i| task.train_x[i * INPUT..(i + 1) * INPUT].iter().copied())
                .collect();
            let w = match &quant {
                Some(q) => q.fake_quantize(layers),
                None => layers.each_ref().map(|l| l.w.clone()),
            };
            let pass = forward(layers, &w, &x);
            // Squared error, averaged over the batch's outputs.
            let mut dlogits = pass.logits.clone();
            for (row, &i) in dlogits.chunks_mut(OUTPUTS).zip(batch) {
                let targets = &task.train_y[i * OUTPUTS..(i + 1) * OUTPUTS];
                for (v, &target) in row.iter_mut().zip(targets) {
                    let error = *v - target;
                    loss_sum += (error * error) as f64;
                    *v = 2.0 * error / (BATCH * OUTPUTS) as f32;
                }
            }
            let mut gw: Vec<Vec<f32>> = layers.iter().map(|l| vec![0.0; l.w.len()]).collect();
            let mut gb: Vec<Vec<f32>> = layers.iter().map(|l| vec![0.0; l.b.len()]).collect();
            let (mut dh2, mut dh1) = (vec![0.0; BATCH * HIDDEN], vec![0.0; BATCH * HIDDEN]);
            layers[2].backward(
                &w[2],
                &pass.h2,
                &dlogits,
                &mut gw[2],
                &mut gb[2],
                Some(&mut dh2),
            );
            relu_backward(&mut dh2, &pass.h2);
            layers[1].backward(
                &w[1],
                &pass.h1,
                &dh2,
                &mut gw[1],
                &mut gb[1],
                Some(&mut dh1),
            );
            relu_backward(&mut dh1, &pass.h1);
            layers[0].backward(&w[0], &x, &dh1, &mut gw[0], &mut gb[0], None);

            if let (Some(q), Some(adam_q)) = (quant.as_deref_mut(), adam_q.as_mut()) {
                // The gradients above are with respect to the fake-quantized
                // weights; the crate's backward kernels carry them through the
                // quantizers to the weights (straight-through inside the clip
                // range), the scales and the offsets.
                let g = gw.iter().map(|g| to_bf16(g)).collect::<Vec<_>>();
                let wb = layers.each_ref().map(|l| to_bf16(&l.w));
                let mut out = g.clone();
                let mut gs = bf16::ZERO;
                qat_kernels::symmetric_per_tensor_backward(
                    &g[0],
                    &wb[0],
                    bf16::from_f32(q.input_scale[0]),
                    &mut out[0],
                    &mut gs,
                    &INPUT_Q,
                )
                .unwrap();
                adam_q[0].step(&mut q.input_scale, &[f32::from(gs)], t);
                let groups = q.hidden_scale.len();
                let (mut ghs, mut gho) = (vec![bf16::ZERO; groups], vec![bf16::ZERO; groups]);
                qat_kernels::asymmetric_per_group_backward(
                    &g[1],
                    &wb[1],
                    &to_bf16(&q.hidden_scale),
                    &to_bf16(&q.hidden_offset),
                    &mut out[1],
                    &mut ghs,
                    &mut gho,
                    &HIDDEN_Q,
                )
                .unwrap();
                adam_q[1].step(&mut q.hidden_scale, &to_f32(&ghs), t);
                adam_q[2].step(&mut q.hidden_offset, &to_f32(&gho), t);
                let mut gcs = vec![bf16::ZERO; OUTPUTS];
                qat_kernels::symmetric_per_channel_backward(
                    &g[2],
                    &wb[2],
                    &to_bf16(&q.head_scale),
                    &mut out[2],
                    &mut gcs,
                    &HEAD_Q,
                )
                .unwrap();
                adam_q[3].step(&mut q.head_scale, &to_f32(&gcs), t);
                for (gw, o) in gw.iter_mut().zip(&out) {
                    *gw = to_f32(o);
                }
            }
            for (k, layer) in layers.iter_mut().enumerate() {
                adam_w[k].step(&mut layer.w, &gw[k], t);
                adam_b[k].step(&mut layer.b, &gb[k], t);
            }
        }
        let batches = n / BATCH;
        println!(
            "  {label} epoch {epoch:2}/{epochs}: train MSE {:.5}",
            loss_sum / (batches * BATCH * OUTPUTS) as f64
        );
    }
}

/// The demo's test mean squared errors.
struct Results {
    fp32: f32,
    /// Post-training quantization with min/max parameters.
    min_max: f32,
    /// Post-training quantization with calibrated parameters.
    calibrated: f32,
    /// Quantization-aware fine-tuning from the calibrated parameters.
    qat: f32,
    /// The QAT model rebuilt from its integer codes.
    exported: f32,
}

/// The whole demo.
fn run(train_size: usize, fp32_epochs: usize, qat_epochs: usize) -> Results {
    let task = Task::generate(train_size, 4096);
    let mut rng = Rng(1);
    let mut layers = [
        Dense::new(INPUT, HIDDEN, &mut rng, 1.4),
        Dense::new(HIDDEN, HIDDEN, &mut rng, 1.4),
        Dense::new(HIDDEN, OUTPUTS, &mut rng, 1.0),
    ];
    println!("training the fp32 model ({train_size} samples)");
    train(&mut layers, None, &task, fp32_epochs, 2e-3, "fp32");
    let fp32 = mse(
        &layers,
        &layers.each_ref().map(|l| l.w.clone()),
        &task.test_x,
        &task.test_y,
    );

    let min_max = mse(
        &layers,
        &Quant::min_max(&layers).fake_quantize(&layers),
        &task.test_x,
        &task.test_y,
    );
    let mut quant = Quant::calibrated(&layers);
    let calibrated = mse(
        &layers,
        &quant.fake_quantize(&layers),
        &task.test_x,
        &task.test_y,
    );
    println!(
        "test MSE: fp32 {fp32:.5}, after post-training quantization with min/max parameters {min_max:.5}, \
         with calibrated ones {calibrated:.5}"
    );

    println!("quantization-aware fine-tuning from the fp32 model and the calibrated parameters");
    train(
        &mut layers,
        Some(&mut quant),
        &task,
        qat_epochs,
        5e-4,
        "QAT",
    );
    let fake_quantized = quant.fake_quantize(&layers);
    let qat = mse(&layers, &fake_quantized, &task.test_x, &task.test_y);
    let rebuilt = export(&quant, &layers);
    let same_bits = rebuilt
        .iter()
        .zip(&fake_quantized)
        .all(|(a, b)| a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits()));
    let exported = mse(&layers, &rebuilt, &task.test_x, &task.test_y);
    println!(
        "export: test MSE of the model rebuilt from codes {exported:.5}, the QAT model's {qat:.5}: {}",
        if same_bits && exported == qat { "the same model, bit for bit" } else { "DIFFERENT" }
    );
    Results {
        fp32,
        min_max,
        calibrated,
        qat,
        exported,
    }
}

fn main() {
    println!(
        "qat_demo: kernels on the {:?} backend",
        qat_kernels::active_isa()
    );
    let start = std::time::Instant::now();
    let r = run(65536, 10, 5);
    println!("({:.1} s)", start.elapsed().as_secs_f32());
    println!(
        "qat_demo: test MSE fp32 {:.5}, 4-bit PTQ min/max {:.5}, 4-bit PTQ calibrated {:.5}, 4-bit QAT {:.5} \
         (exported {:.5})",
        r.fp32, r.min_max, r.calibrated, r.qat, r.exported
    );
}

#[cfg(test)]
mod tests {
    /// A shortened run keeps the training loop honest: fp32 learns, and QAT
    /// beats post-training quantization.
    #[test]
    fn shortened_training_run() {
        let super::Results {
            fp32,
            min_max,
            calibrated,
            qat,
            exported,
        } = super::run(4096, 4, 2);
        assert!(fp32.is_finite() && fp32 < 0.1, "fp32 {fp32}");
        assert!(
            calibrated <= min_max,
            "calibrated PTQ {calibrated} > min/max {min_max}"
        );
        assert!(qat < calibrated, "QAT {qat} >= calibrated PTQ {calibrated}");
        assert_eq!(
            exported.to_bits(),
            qat.to_bits(),
            "the exported model differs"
        );
    }
}
