//! What both benchmarks run: the tensors, the paths, and the six kernels
//! (per group at three group sizes) as named closures.

use half::bf16;
use qat_kernels::{AsymmetricPerGroup, Backend, Symmetric};

/// Deterministic weights ~ N(0, 0.02)-ish and gradients in [-1, 1].
fn data(n: usize, seed: u32) -> Vec<bf16> {
    let mut state = seed.wrapping_mul(2_654_435_761).max(1);
    (0..n)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            bf16::from_f32((state as f32 / u32::MAX as f32 - 0.5) * 0.08)
        })
        .collect()
}

/// Every path this CPU has, named: the scalar one, each SIMD one, and on a CPU
/// with AVX-512 BF16 also the AVX-512 build without it (what AVX-512 CPUs
/// before Zen 4 and Sapphire Rapids run).
pub fn paths() -> Vec<(&'static str, Backend)> {
    Backend::builds().collect()
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

/// A kernel's call on a path, over the shared tensors.
pub type Run = Box<dyn FnMut(&Backend, &mut Tensors)>;

/// One kernel; it owns its scales, offsets and their gradients.
pub struct Kernel {
    pub name: String,
    /// Backward kernels read two tensors and write one, forward ones read one.
    pub backward: bool,
    pub run: Run,
}

/// The six kernels on `n` weights, rows of `cols` for the per-channel ones.
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
            backward: false,
            run: Box::new(move |path, t| {
                path.asymmetric_per_group(&t.x, &s, &o, &mut t.out, &params)
                    .unwrap()
            }),
        });
        let (mut gs, mut go) = (vec![bf16::ZERO; groups], vec![bf16::ZERO; groups]);
        all.push(Kernel {
            name: format!("asymmetric_per_group_backward_g{group_size}"),
            backward: true,
            run: Box::new(move |path, t| {
                path.asymmetric_per_group_backward(
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
        backward: false,
        run: Box::new(move |path, t| {
            path.symmetric_per_channel(&t.x, &s, &mut t.out, &params)
                .unwrap()
        }),
    });
    let s = scale[0];
    all.push(Kernel {
        name: "symmetric_per_tensor".into(),
        backward: false,
        run: Box::new(move |path, t| {
            path.symmetric_per_tensor(&t.x, s, &mut t.out, &params)
                .unwrap()
        }),
    });
    let (s, mut gs) = (scale.clone(), vec![bf16::ZERO; rows]);
    all.push(Kernel {
        name: "symmetric_per_channel_backward".into(),
        backward: true,
        run: Box::new(move |path, t| {
            path.symmetric_per_channel_backward(
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
        backward: true,
        run: Box::new(move |path, t| {
            path.symmetric_per_tensor_backward(&t.g, &t.x, s, &mut t.grad_weight, &mut gs, &params)
                .unwrap()
        }),
    });
    all
}
