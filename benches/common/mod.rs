//! What both benchmarks run: the tensors, the backends, and the kernels (per
//! group at three group sizes, and the export to codes and back) as named
//! closures.

use half::bf16;
use qat_kernels::{AsymmetricPerGroup, Backend, Calibration, PerToken, Symmetric};

/// Deterministic values in [-0.04, 0.04], a weight's typical size.
pub fn values(n: usize, seed: u32) -> impl Iterator<Item = f32> {
    let mut state = seed.wrapping_mul(2_654_435_761).max(1);
    (0..n).map(move |_| {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        (state as f32 / u32::MAX as f32 - 0.5) * 0.08
    })
}

/// [`values`] as bf16.
fn data(n: usize, seed: u32) -> Vec<bf16> {
    values(n, seed).map(bf16::from_f32).collect()
}

/// Every backend this CPU has, named: the scalar one, each SIMD one, and on a CPU
/// with AVX-512 BF16 also the AVX-512 backend without it (what AVX-512 CPUs
/// before Zen 4 and Sapphire Rapids run).
/// `QAT_DIVISION=instruction` or `reciprocal` sets how the SIMD backends
/// divide by a scale (`Division`; the default, `Auto`, picks by CPU).
pub fn backends() -> Vec<(&'static str, Backend)> {
    match std::env::var("QAT_DIVISION").as_deref() {
        Ok("instruction") => qat_kernels::set_division(qat_kernels::Division::Instruction),
        Ok("reciprocal") => qat_kernels::set_division(qat_kernels::Division::Reciprocal),
        Ok(other) => panic!("QAT_DIVISION={other}: instruction or reciprocal"),
        Err(_) => {}
    }
    Backend::all().collect()
}

/// The big tensors, shared by every kernel: `rows x cols` weights, output
/// gradients, and the two outputs; and the copy's own two, so that neither
/// the copy nor a kernel finds the other's data left in the caches (the L3
/// of the README's machine holds a whole 4096 x 4096 bf16 tensor).
pub struct Tensors {
    pub x: Vec<bf16>,
    pub g: Vec<bf16>,
    pub out: Vec<bf16>,
    pub grad_weight: Vec<bf16>,
    copy_from: Vec<bf16>,
    copy_to: Vec<bf16>,
}

impl Tensors {
    pub fn new(n: usize) -> Self {
        Tensors {
            x: data(n, 1),
            g: data(n, 2),
            out: vec![bf16::ZERO; n],
            grad_weight: vec![bf16::ZERO; n],
            copy_from: data(n, 3),
            copy_to: vec![bf16::ZERO; n],
        }
    }

    /// The baseline: a copy of as many bf16 values as a kernel's weights.
    pub fn copy(&mut self) {
        self.copy_to
            .copy_from_slice(std::hint::black_box(&self.copy_from));
    }
}

/// A kernel's call on a backend, over the shared tensors.
pub type Run = Box<dyn FnMut(&Backend, &mut Tensors)>;

/// One kernel; it owns its scales, offsets, their gradients and its codes.
pub struct Kernel {
    pub name: String,
    /// Bytes the kernel reads and writes per weight: a forward kernel 4 (as
    /// the copy), a backward one 6, quantize and dequantize 3 (a byte per
    /// code).
    #[allow(dead_code)] // `cache` compares with an in-cache copy instead
    pub bytes_per_weight: u64,
    pub run: Run,
}

/// The training kernels (each quantizer's forward and backward) on `n` weights, rows of `cols` for the per-channel ones.
pub fn kernels(n: usize, cols: usize) -> Vec<Kernel> {
    let rows = n / cols;
    let mut all = Vec::new();
    for group_size in [32, 128, 256] {
        let groups = n / group_size;
        let params = AsymmetricPerGroup {
            group_size,
            ..Default::default()
        };
        let scale = vec![bf16::from_f32(0.01); groups];
        let offset = vec![bf16::from_f32(0.001); groups];
        let (s, o) = (scale.clone(), offset.clone());
        all.push(Kernel {
            name: format!("asymmetric_per_group_g{group_size}"),
            bytes_per_weight: 4,
            run: Box::new(move |backend, t| {
                backend
                    .asymmetric_per_group(&t.x, &s, &o, &mut t.out, &params)
                    .unwrap()
            }),
        });
        let (mut gs, mut go) = (vec![bf16::ZERO; groups], vec![bf16::ZERO; groups]);
        all.push(Kernel {
            name: format!("asymmetric_per_group_backward_g{group_size}"),
            bytes_per_weight: 6,
            run: Box::new(move |backend, t| {
                backend
                    .asymmetric_per_group_backward(
                        &t.g,
                        &t.x,
                        &scale,
                        &offset,
                        &mut t.grad_weight,
                        &mut gs,
                        &mut go,
                        &params,
                    )
                    .unwrap()
            }),
        });
    }
    let params = Symmetric::signed(4);
    let scale = vec![bf16::from_f32(0.01); rows];
    let s = scale.clone();
    all.push(Kernel {
        name: "symmetric_per_channel".into(),
        bytes_per_weight: 4,
        run: Box::new(move |backend, t| {
            backend
                .symmetric_per_channel(&t.x, &s, &mut t.out, &params)
                .unwrap()
        }),
    });
    let s = scale[0];
    all.push(Kernel {
        name: "symmetric_per_tensor".into(),
        bytes_per_weight: 4,
        run: Box::new(move |backend, t| {
            backend
                .symmetric_per_tensor(&t.x, s, &mut t.out, &params)
                .unwrap()
        }),
    });
    let (s, mut gs) = (scale.clone(), vec![bf16::ZERO; rows]);
    all.push(Kernel {
        name: "symmetric_per_channel_backward".into(),
        bytes_per_weight: 6,
        run: Box::new(move |backend, t| {
            backend
                .symmetric_per_channel_backward(
                    &t.g,
                    &t.x,
                    &s,
                    &mut t.grad_weight,
                    &mut gs,
                    &params,
                )
                .unwrap()
        }),
    });
    let (s, mut gs) = (scale[0], bf16::ZERO);
    all.push(Kernel {
        name: "symmetric_per_tensor_backward".into(),
        bytes_per_weight: 6,
        run: Box::new(move |backend, t| {
            backend
                .symmetric_per_tensor_backward(&t.g, &t.x, s, &mut t.grad_weight, &mut gs, &params)
                .unwrap()
        }),
    });
    all.extend(export_kernels(n, cols));
    all.extend(calibration_kernels(n, cols));
    all.extend(per_token_kernels(n, cols));
    all
}

/// Dynamic per-token activations, 8 bits: the forward (each row read twice,
/// the second time from the cache) and the backward.
fn per_token_kernels(n: usize, cols: usize) -> Vec<Kernel> {
    let rows = n / cols;
    let params = PerToken::default();
    let (mut scale, mut zero_point) = (vec![0f32; rows], vec![0i32; rows]);
    let mut all = vec![Kernel {
        name: "per_token_asymmetric".into(),
        bytes_per_weight: 4,
        run: Box::new(move |backend, t| {
            backend
                .per_token_asymmetric(&t.x, &mut t.out, &mut scale, &mut zero_point, &params)
                .unwrap()
        }),
    }];
    let (scale, zero_point) = (vec![0.01f32; rows], vec![3i32; rows]);
    all.push(Kernel {
        name: "per_token_backward".into(),
        bytes_per_weight: 6,
        run: Box::new(move |backend, t| {
            backend
                .per_token_backward(&t.g, &t.x, &scale, &zero_point, &mut t.grad_weight, &params)
                .unwrap()
        }),
    });
    all
}

/// Calibration (the full search) per group of 128 (4 bits) and per channel
/// (8 bits): reads the weights, writes the parameters.
fn calibration_kernels(n: usize, cols: usize) -> Vec<Kernel> {
    let params = AsymmetricPerGroup::default();
    let (mut scale, mut offset) = (vec![bf16::ZERO; n / 128], vec![bf16::ZERO; n / 128]);
    let mut all = vec![Kernel {
        name: "asymmetric_per_group_calibrate_g128".into(),
        bytes_per_weight: 2,
        run: Box::new(move |backend, t| {
            backend
                .asymmetric_per_group_calibrate(
                    &t.x,
                    &mut scale,
                    &mut offset,
                    &params,
                    Calibration::Search,
                )
                .unwrap()
        }),
    }];
    let mut scale = vec![bf16::ZERO; n / cols];
    all.push(Kernel {
        name: "symmetric_per_channel_calibrate".into(),
        bytes_per_weight: 2,
        run: Box::new(move |backend, t| {
            backend
                .symmetric_per_channel_calibrate(
                    &t.x,
                    &mut scale,
                    &Symmetric::default(),
                    Calibration::Search,
                )
                .unwrap()
        }),
    });
    all
}

/// Export to codes and back: per group (groups of 128, 4 bits) and per
/// channel (8 bits), beside the forward kernels they must keep up with.
fn export_kernels(n: usize, cols: usize) -> Vec<Kernel> {
    let (rows, group_size) = (n / cols, 128);
    let params = AsymmetricPerGroup {
        group_size,
        ..Default::default()
    };
    let scale = vec![bf16::from_f32(0.01); n / group_size];
    let offset = vec![bf16::from_f32(0.001); n / group_size];
    let (s, o) = (scale.clone(), offset.clone());
    let mut codes = vec![0u8; n];
    let mut all = vec![Kernel {
        name: "asymmetric_per_group_quantize_g128".into(),
        bytes_per_weight: 3,
        run: Box::new(move |backend, t| {
            backend
                .asymmetric_per_group_quantize(&t.x, &s, &o, &mut codes, &params)
                .unwrap()
        }),
    }];
    let codes: Vec<u8> = (0..n).map(|i| (i * 7 % 16) as u8).collect();
    all.push(Kernel {
        name: "asymmetric_per_group_dequantize_g128".into(),
        bytes_per_weight: 3,
        run: Box::new(move |backend, t| {
            backend
                .asymmetric_per_group_dequantize(&codes, &scale, &offset, &mut t.out, &params)
                .unwrap()
        }),
    });
    let symmetric = Symmetric::default();
    let scale = vec![bf16::from_f32(0.0005); rows];
    let s = scale.clone();
    let mut codes = vec![0i8; n];
    all.push(Kernel {
        name: "symmetric_per_channel_quantize".into(),
        bytes_per_weight: 3,
        run: Box::new(move |backend, t| {
            backend
                .symmetric_per_channel_quantize(&t.x, &s, &mut codes, &symmetric)
                .unwrap()
        }),
    });
    let codes: Vec<i8> = (0..n).map(|i| (i * 7 % 256) as u8 as i8).collect();
    all.push(Kernel {
        name: "symmetric_per_channel_dequantize".into(),
        bytes_per_weight: 3,
        run: Box::new(move |backend, t| {
            backend
                .symmetric_per_channel_dequantize(&codes, &scale, &mut t.out, &symmetric)
                .unwrap()
        }),
    });
    all
}
