//! The C ABI: every status code, outputs untouched on error, in-place calls
//! through equal pointers, empty inputs, the helpers.

#![allow(clippy::type_complexity)]

use std::ffi::CStr;

use qat_kernels::ffi::*;
use qat_kernels::{Isa, Status};

// The header's status codes and ISA values, as documented.
const QAT_ERR_POINTER: i32 = 1;
const QAT_ERR_SHAPE: i32 = 2;
const QAT_ERR_BIT_WIDTH: i32 = 3;
const QAT_ERR_EPS: i32 = 4;
const QAT_ERR_CLIP: i32 = 5;
const QAT_ERR_RANGE: i32 = 6;
const QAT_ERR_OVERLAP: i32 = 7;
const QAT_ERR_UNSUPPORTED_ISA: i32 = 8;
const QAT_ERR_NON_FINITE: i32 = 9;
const QAT_ERR_CODE: i32 = 10;
const QAT_ERR_MODE: i32 = 11;
const QAT_ERR_DTYPE: i32 = 12;
const QAT_ISA_AUTO: i32 = 0;
const QAT_ISA_SCALAR: i32 = 1;
const QAT_ISA_AVX2: i32 = 2;
const QAT_ISA_NEON: i32 = 3;
const QAT_ISA_AVX512: i32 = 4;

const SENTINEL: u16 = 0xDEAD;

/// Buffers for every kernel, outputs pre-filled with the sentinel.
struct Buffers {
    g: Vec<u16>,
    x: Vec<u16>,
    s: Vec<u16>,
    o: Vec<u16>,
    out: Vec<u16>,
    gw: Vec<u16>,
    gs: Vec<u16>,
    go: Vec<u16>,
}

impl Buffers {
    fn new(numel: usize, groups: usize) -> Self {
        let val = |i: usize| half::bf16::from_f32((i as f32 * 0.37).sin()).to_bits();
        Buffers {
            g: (0..numel).map(|i| val(i + 5)).collect(),
            x: (0..numel).map(val).collect(),
            s: vec![half::bf16::from_f32(0.05).to_bits(); groups],
            o: vec![half::bf16::from_f32(0.01).to_bits(); groups],
            out: vec![SENTINEL; numel],
            gw: vec![SENTINEL; numel],
            gs: vec![SENTINEL; groups],
            go: vec![SENTINEL; groups],
        }
    }

    fn untouched(&self) -> bool {
        [&self.out, &self.gw, &self.gs, &self.go]
            .iter()
            .all(|v| v.iter().all(|&b| b == SENTINEL))
    }

    /// Both asymmetric kernels; returns their statuses.
    fn asymmetric(
        &mut self,
        numel: usize,
        group: usize,
        bit: u32,
        eps: f32,
        clip: f32,
    ) -> [i32; 2] {
        // SAFETY: every buffer holds at least the counts these shapes imply
        // whenever the shape is valid.
        unsafe {
            [
                qat_asymmetric_per_group(
                    self.x.as_ptr(),
                    self.s.as_ptr(),
                    self.o.as_ptr(),
                    self.out.as_mut_ptr(),
                    numel,
                    group,
                    bit,
                    eps,
                    clip,
                ),
                qat_asymmetric_per_group_backward(
                    self.g.as_ptr(),
                    self.x.as_ptr(),
                    self.s.as_ptr(),
                    self.o.as_ptr(),
                    self.gw.as_mut_ptr(),
                    self.gs.as_mut_ptr(),
                    self.go.as_mut_ptr(),
                    numel,
                    group,
                    bit,
                    eps,
                    clip,
                ),
            ]
        }
    }

    /// The four symmetric kernels; returns their statuses.
    fn symmetric(
        &mut self,
        rows: usize,
        cols: usize,
        eps: f32,
        min_v: f32,
        max_v: f32,
    ) -> [i32; 4] {
        let numel = rows.wrapping_mul(cols);
        // SAFETY: as above.
        unsafe {
            [
                qat_symmetric_per_channel(
                    self.x.as_ptr(),
                    self.s.as_ptr(),
                    self.out.as_mut_ptr(),
                    rows,
                    cols,
                    eps,
                    min_v,
                    max_v,
                ),
                qat_symmetric_per_channel_backward(
                    self.g.as_ptr(),
                    self.x.as_ptr(),
                    self.s.as_ptr(),
                    self.gw.as_mut_ptr(),
                    self.gs.as_mut_ptr(),
                    rows,
                    cols,
                    eps,
                    min_v,
                    max_v,
                ),
                qat_symmetric_per_tensor(
                    self.x.as_ptr(),
                    self.s.as_ptr(),
                    self.out.as_mut_ptr(),
                    numel,
                    eps,
                    min_v,
                    max_v,
                ),
                qat_symmetric_per_tensor_backward(
                    self.g.as_ptr(),
                    self.x.as_ptr(),
                    self.s.as_ptr(),
                    self.gw.as_mut_ptr(),
                    self.go.as_mut_ptr(),
                    numel,
                    eps,
                    min_v,
                    max_v,
                ),
            ]
        }
    }
}

#[test]
fn codes_match_the_rust_errors() {
    for (code, error) in [
        (QAT_ERR_POINTER, Status::Pointer),
        (QAT_ERR_SHAPE, Status::Shape),
        (QAT_ERR_BIT_WIDTH, Status::BitWidth),
        (QAT_ERR_EPS, Status::Eps),
        (QAT_ERR_CLIP, Status::Clip),
        (QAT_ERR_RANGE, Status::Range),
        (QAT_ERR_OVERLAP, Status::Overlap),
        (QAT_ERR_UNSUPPORTED_ISA, Status::UnsupportedIsa),
        (QAT_ERR_NON_FINITE, Status::NonFinite),
        (QAT_ERR_CODE, Status::Code),
        (QAT_ERR_MODE, Status::Mode),
        (QAT_ERR_DTYPE, Status::Dtype),
    ] {
        assert_eq!(error.code(), code);
        assert_eq!(Status::from_code(code), Some(error));
    }
    assert_eq!(Status::from_code(QAT_OK), None);
    for (code, isa) in [
        (QAT_ISA_AUTO, Isa::Auto),
        (QAT_ISA_SCALAR, Isa::Scalar),
        (QAT_ISA_AVX2, Isa::Avx2),
        (QAT_ISA_NEON, Isa::Neon),
        (QAT_ISA_AVX512, Isa::Avx512),
    ] {
        assert_eq!(isa as i32, code);
        assert_eq!(Isa::from_code(code), Some(isa));
    }
}

#[test]
fn parameter_errors_write_nothing() {
    let valid_asym = (256, 128, 4, 1e-4f32, 0.99f32);
    let cases: [((usize, usize, u32, f32, f32), i32); 17] = [
        ((256, 0, 4, 1e-4, 0.99), QAT_ERR_SHAPE),
        ((256, 100, 4, 1e-4, 0.99), QAT_ERR_SHAPE),
        ((usize::MAX - 1, 1, 4, 1e-4, 0.99), QAT_ERR_SHAPE),
        ((256, 128, 0, 1e-4, 0.99), QAT_ERR_BIT_WIDTH),
        ((256, 128, 17, 1e-4, 0.99), QAT_ERR_BIT_WIDTH),
        ((256, 128, 4, 0.0, 0.99), QAT_ERR_EPS),
        ((256, 128, 4, -1e-4, 0.99), QAT_ERR_EPS),
        ((256, 128, 4, f32::NAN, 0.99), QAT_ERR_EPS),
        ((256, 128, 4, f32::INFINITY, 0.99), QAT_ERR_EPS),
        ((256, 128, 4, 1e-4, 0.0), QAT_ERR_CLIP),
        ((256, 128, 4, 1e-4, 1.0), QAT_ERR_CLIP),
        ((256, 128, 4, 1e-4, -0.5), QAT_ERR_CLIP),
        ((256, 128, 4, 1e-4, f32::NAN), QAT_ERR_CLIP),
        ((256, 128, 4, 1e-4, f32::INFINITY), QAT_ERR_CLIP),
        ((256, 128, 4, 1e-4, 1.5), QAT_ERR_CLIP),
        // Shape is checked before the bit width.
        ((256, 0, 0, 0.0, 0.0), QAT_ERR_SHAPE),
        // Bit width before eps, eps before clip.
        ((256, 128, 99, f32::NAN, 7.0), QAT_ERR_BIT_WIDTH),
    ];
    for ((numel, group, bit, eps, clip), want) in cases {
        let mut b = Buffers::new(256, 2);
        assert_eq!(
            b.asymmetric(numel, group, bit, eps, clip),
            [want; 2],
            "{numel} {group} {bit} {eps} {clip}"
        );
        assert!(b.untouched());
    }
    let mut b = Buffers::new(256, 2);
    let (n, g, bit, e, c) = valid_asym;
    assert_eq!(b.asymmetric(n, g, bit, e, c), [QAT_OK; 2]);
    assert!(b
        .out
        .iter()
        .chain(&b.gw)
        .chain(&b.gs)
        .chain(&b.go)
        .all(|&v| v != SENTINEL));

    let sym_cases: [((usize, usize, f32, f32, f32), i32); 12] = [
        ((usize::MAX, 2, 1e-4, -8.0, 7.0), QAT_ERR_SHAPE),
        ((1 << 62, 1, 1e-4, -8.0, 7.0), QAT_ERR_SHAPE),
        ((2, 128, 0.0, -8.0, 7.0), QAT_ERR_EPS),
        ((2, 128, f32::NAN, -8.0, 7.0), QAT_ERR_EPS),
        ((2, 128, 1e-4, 7.0, -8.0), QAT_ERR_RANGE),
        ((2, 128, 1e-4, -8.5, 7.0), QAT_ERR_RANGE),
        ((2, 128, 1e-4, -8.0, f32::NAN), QAT_ERR_RANGE),
        ((2, 128, 1e-4, f32::NEG_INFINITY, 7.0), QAT_ERR_RANGE),
        ((2, 128, 1e-4, -8.0, 16_777_218.0), QAT_ERR_RANGE),
        ((2, 128, 1e-4, -16_777_218.0, 0.0), QAT_ERR_RANGE),
        ((2, 128, 1e-4, -8.0, 0.25), QAT_ERR_RANGE),
        ((2, 128, -1.0, 1.0, 0.0), QAT_ERR_EPS),
    ];
    for ((rows, cols, eps, min_v, max_v), want) in sym_cases {
        let mut b = Buffers::new(256, 2);
        let got = b.symmetric(rows, cols, eps, min_v, max_v);
        // Per tensor sees rows * cols (wrapped) as one length; only check
        // per-channel for the overflow cases.
        let expect_all = want != QAT_ERR_SHAPE;
        assert_eq!(got[0], want, "{rows}x{cols}");
        assert_eq!(got[1], want, "{rows}x{cols}");
        if expect_all {
            assert_eq!(got, [want; 4], "{rows}x{cols}");
        }
        assert!(b.untouched());
    }
    let mut b = Buffers::new(256, 2);
    assert_eq!(
        b.symmetric(2, 128, 1e-4, -16_777_216.0, 16_777_216.0),
        [QAT_OK; 4]
    );
}

#[test]
fn pointer_errors_write_nothing() {
    let null = std::ptr::null::<u16>();
    let mut b = Buffers::new(256, 2);
    let (x, s, o, g) = (b.x.as_ptr(), b.s.as_ptr(), b.o.as_ptr(), b.g.as_ptr());
    let misaligned = unsafe { (b.x.as_ptr() as *const u8).add(1) } as *const u16;
    let (out, gw, gs, go) = (
        b.out.as_mut_ptr(),
        b.gw.as_mut_ptr(),
        b.gs.as_mut_ptr(),
        b.go.as_mut_ptr(),
    );
    // SAFETY: the pointers are rejected before use, or valid for the counts.
    unsafe {
        for (weight, scale, offset, dst) in [
            (null, s, o, out),
            (x, null, o, out),
            (x, s, null, out),
            (x, s, o, std::ptr::null_mut()),
            (misaligned, s, o, out),
        ] {
            assert_eq!(
                qat_asymmetric_per_group(weight, scale, offset, dst, 256, 128, 4, 1e-4, 0.99),
                QAT_ERR_POINTER
            );
        }
        assert_eq!(
            qat_asymmetric_per_group_backward(
                g,
                x,
                s,
                o,
                gw,
                gs,
                std::ptr::null_mut(),
                256,
                128,
                4,
                1e-4,
                0.99
            ),
            QAT_ERR_POINTER
        );
        assert_eq!(
            qat_symmetric_per_channel(x, null, out, 2, 128, 1e-4, -8.0, 7.0),
            QAT_ERR_POINTER
        );
        assert_eq!(
            qat_symmetric_per_channel_backward(
                g,
                x,
                s,
                gw,
                (gs as *mut u8).add(1) as *mut u16,
                2,
                128,
                1e-4,
                -8.0,
                7.0
            ),
            QAT_ERR_POINTER
        );
        assert_eq!(
            qat_symmetric_per_tensor(x, null, out, 256, 1e-4, -8.0, 7.0),
            QAT_ERR_POINTER
        );
        assert_eq!(
            qat_symmetric_per_tensor_backward(
                g,
                x,
                s,
                gw,
                std::ptr::null_mut(),
                0,
                1e-4,
                -8.0,
                7.0
            ),
            QAT_ERR_POINTER
        );
        // A buffer that would wrap around the address space.
        let high = (usize::MAX - 63) as *const u16;
        assert_eq!(
            qat_symmetric_per_tensor(high, s, out, 256, 1e-4, -8.0, 7.0),
            QAT_ERR_POINTER
        );
        // A bad pointer is reported even when a parameter is bad too.
        assert_eq!(
            qat_asymmetric_per_group(null, s, o, out, 256, 128, 0, 1e-4, 0.99),
            QAT_ERR_POINTER
        );
    }
    assert!(b.untouched());
    // Null is fine where the count is zero.
    // SAFETY: nothing is read or written for empty buffers.
    unsafe {
        let out_null = std::ptr::null_mut();
        assert_eq!(
            qat_asymmetric_per_group(null, null, null, out_null, 0, 128, 4, 1e-4, 0.99),
            QAT_OK
        );
        assert_eq!(
            qat_asymmetric_per_group_backward(
                null, null, null, null, out_null, out_null, out_null, 0, 1, 4, 1e-4, 0.99
            ),
            QAT_OK
        );
        assert_eq!(
            qat_symmetric_per_channel(null, null, out_null, 0, 5, 1e-4, -8.0, 7.0),
            QAT_OK
        );
        assert_eq!(
            qat_symmetric_per_channel_backward(null, null, s, out_null, gs, 2, 0, 1e-4, -8.0, 7.0),
            QAT_OK
        );
        assert_eq!(
            qat_symmetric_per_tensor(null, s, out_null, 0, 1e-4, -8.0, 7.0),
            QAT_OK
        );
        assert_eq!(
            qat_symmetric_per_tensor_backward(null, null, s, out_null, go, 0, 1e-4, -8.0, 7.0),
            QAT_OK
        );
    }
    assert_eq!(&b.gs, &[0, 0], "empty rows have zero gradient");
    assert_eq!(b.go[0], 0, "empty tensor has zero gradient");
}

#[test]
fn overlaps_are_rejected_except_exact_in_place() {
    let mut b = Buffers::new(256, 2);
    let (x, s, o, g) = (
        b.x.as_mut_ptr(),
        b.s.as_mut_ptr(),
        b.o.as_mut_ptr(),
        b.g.as_mut_ptr(),
    );
    let (gw, gs, go) = (b.gw.as_mut_ptr(), b.gs.as_mut_ptr(), b.go.as_mut_ptr());
    // SAFETY: every pointer is valid for its count; the overlapping ones are rejected before use.
    unsafe {
        // out overlaps the weights, shifted by one element.
        assert_eq!(
            qat_asymmetric_per_group(x, s, o, x.add(1), 255, 255, 4, 1e-4, 0.99),
            QAT_ERR_OVERLAP
        );
        // Same start, different length.
        assert_eq!(
            qat_symmetric_per_channel(x, s, x, 1, 128, 1e-4, -8.0, 7.0),
            QAT_OK
        );
        assert_eq!(
            qat_asymmetric_per_group_backward(g, x, s, o, gw, gs, gs, 256, 128, 4, 1e-4, 0.99),
            QAT_ERR_OVERLAP
        );
        assert_eq!(
            qat_asymmetric_per_group_backward(
                g,
                x,
                s,
                o,
                gw,
                x.add(8),
                go,
                256,
                128,
                4,
                1e-4,
                0.99
            ),
            QAT_ERR_OVERLAP
        );
        assert_eq!(
            qat_symmetric_per_channel_backward(g, x, s, gw, gw.add(3), 2, 128, 1e-4, -8.0, 7.0),
            QAT_ERR_OVERLAP
        );
        assert_eq!(
            qat_symmetric_per_tensor_backward(g, x, s, gw, x.add(100), 256, 1e-4, -8.0, 7.0),
            QAT_ERR_OVERLAP
        );
        assert_eq!(
            qat_symmetric_per_tensor(x, s, g.add(255), 2, 1e-4, -8.0, 7.0),
            QAT_OK,
            "adjacent is not overlapping"
        );
    }
}

#[test]
fn in_place_through_equal_pointers_matches_out_of_place() {
    let fresh = || Buffers::new(512, 4);
    let mut a = fresh();
    assert_eq!(a.asymmetric(512, 128, 3, 1e-4, 0.9), [QAT_OK; 2]);
    // Forward, out == weight.
    let mut b = fresh();
    // SAFETY: valid buffers; out is exactly the weight buffer.
    unsafe {
        let x = b.x.as_mut_ptr();
        assert_eq!(
            qat_asymmetric_per_group(x, b.s.as_ptr(), b.o.as_ptr(), x, 512, 128, 3, 1e-4, 0.9),
            QAT_OK
        );
    }
    assert_eq!(b.x, a.out);
    // Backward with grad_weight == grad_output, grad_scale == scale, grad_offset == offset.
    let mut b = fresh();
    // SAFETY: as above.
    unsafe {
        let (g, s, o) = (b.g.as_mut_ptr(), b.s.as_mut_ptr(), b.o.as_mut_ptr());
        assert_eq!(
            qat_asymmetric_per_group_backward(
                g,
                b.x.as_ptr(),
                s,
                o,
                g,
                s,
                o,
                512,
                128,
                3,
                1e-4,
                0.9
            ),
            QAT_OK
        );
    }
    assert_eq!((&b.g, &b.s, &b.o), (&a.gw, &a.gs, &a.go));
    // Symmetric: grad_weight == weight, grad_scale == scale.
    let mut a = fresh();
    assert_eq!(a.symmetric(4, 128, 1e-4, -8.0, 7.0), [QAT_OK; 4]);
    let mut b = fresh();
    let mut c = fresh();
    // SAFETY: as above.
    unsafe {
        let (x, s) = (b.x.as_mut_ptr(), b.s.as_mut_ptr());
        assert_eq!(
            qat_symmetric_per_channel_backward(b.g.as_ptr(), x, s, x, s, 4, 128, 1e-4, -8.0, 7.0),
            QAT_OK
        );
        let x = c.x.as_mut_ptr();
        assert_eq!(
            qat_symmetric_per_tensor(x, c.s.as_ptr(), x, 512, 1e-4, -8.0, 7.0),
            QAT_OK
        );
    }
    assert_eq!((&b.x, &b.s), (&a.gw, &a.gs));
    assert_eq!(c.x, a.out);
}

#[test]
fn isa_selection() {
    // Unknown codes and missing ISAs are refused without changing the choice.
    let before = qat_active_isa();
    assert_ne!(before, QAT_ISA_AUTO);
    assert_eq!(qat_set_isa(42), QAT_ERR_UNSUPPORTED_ISA);
    assert_eq!(qat_set_isa(-1), QAT_ERR_UNSUPPORTED_ISA);
    let missing = if cfg!(target_arch = "aarch64") {
        QAT_ISA_AVX2
    } else {
        QAT_ISA_NEON
    };
    assert_eq!(qat_set_isa(missing), QAT_ERR_UNSUPPORTED_ISA);
    assert_eq!(qat_active_isa(), before);
    assert_eq!(qat_set_isa(QAT_ISA_SCALAR), QAT_OK);
    assert_eq!(qat_active_isa(), QAT_ISA_SCALAR);
    assert_eq!(qat_set_isa(QAT_ISA_AUTO), QAT_OK);
    assert_eq!(qat_active_isa(), Isa::best() as i32);
    #[cfg(target_arch = "aarch64")]
    assert_eq!(
        qat_active_isa(),
        QAT_ISA_NEON,
        "AUTO must pick NEON on aarch64"
    );
    // std's detection, independent of the crate's own, decides what AUTO must be.
    #[cfg(target_arch = "x86_64")]
    {
        let avx2 = std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma");
        let avx512 = avx2
            && std::is_x86_feature_detected!("avx512f")
            && std::is_x86_feature_detected!("avx512bw")
            && std::is_x86_feature_detected!("avx512vl");
        let want = if avx512 {
            QAT_ISA_AVX512
        } else if avx2 {
            QAT_ISA_AVX2
        } else {
            QAT_ISA_SCALAR
        };
        assert_eq!(
            qat_active_isa(),
            want,
            "AUTO must pick the widest backend the CPU has"
        );
        assert_eq!(qat_set_isa(QAT_ISA_AVX2) == QAT_OK, avx2);
        assert_eq!(qat_set_isa(QAT_ISA_AVX512) == QAT_OK, avx512);
        assert_eq!(qat_set_isa(QAT_ISA_AUTO), QAT_OK);
    }
}

#[test]
fn messages_and_version() {
    let text = |p: *const std::ffi::c_char| {
        assert!(!p.is_null());
        // SAFETY: non-null, static and NUL-terminated by contract.
        unsafe { CStr::from_ptr(p) }.to_str().unwrap().to_owned()
    };
    let mut seen = std::collections::HashSet::new();
    for code in 0..=12 {
        let m = text(qat_status_message(code));
        assert!(!m.is_empty() && m != "unknown status code", "{code}");
        assert!(seen.insert(m.clone()), "duplicate message {m}");
        if let Some(e) = Status::from_code(code) {
            assert_eq!(e.to_string(), m);
        }
    }
    for code in [-1, 13, i32::MAX, i32::MIN] {
        assert_eq!(text(qat_status_message(code)), "unknown status code");
    }
    assert_eq!(text(qat_version()), env!("CARGO_PKG_VERSION"));
}
