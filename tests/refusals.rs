//! Every refusal names its argument and the rule it broke. Every entry
//! point of the registry is called with each argument it can refuse made
//! wrong in turn, from a call that succeeds: each buffer null, misaligned,
//! wrapping and overlapping; each size too large or not dividing; each
//! parameter outside its range; each checked content off its rule. The
//! refusal handler's detail, put in words by `qat_refusal_message`, must
//! name the argument as the header does and state the rule with its valid
//! range, as written here from docs/validation.md.

mod registry;

use std::cell::Cell;
use std::ffi::c_char;

use qat_kernels::ffi::*;
use registry::*;

thread_local! {
    /// The last refusal on this thread (tests run on several threads; the
    /// handler is process-wide, the detail per thread).
    static LAST: Cell<Option<qat_refusal>> = const { Cell::new(None) };
}

unsafe extern "C" fn keep(refusal: *const qat_refusal) {
    // SAFETY: the library passes a valid refusal.
    LAST.set(Some(unsafe { *refusal }));
}

/// Tests that read refusals hold this shared while they run; the one that
/// swaps the process-wide handler holds it alone, so that no other test's
/// refusal reaches a handler other than `keep` meanwhile.
static HANDLER: std::sync::RwLock<()> = std::sync::RwLock::new(());

/// Sets `keep` as the handler, for as long as the guard lives.
fn keeping() -> std::sync::RwLockReadGuard<'static, ()> {
    let guard = HANDLER
        .read()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    qat_set_refusal_handler(Some(keep));
    guard
}

/// A refusal in words.
fn words(refusal: &qat_refusal) -> String {
    // SAFETY: a valid refusal; no buffer with size 0.
    let len = unsafe { qat_refusal_message(refusal, std::ptr::null_mut(), 0) };
    let mut buffer = vec![0 as c_char; len + 1];
    // SAFETY: the buffer holds len + 1 bytes.
    let written = unsafe { qat_refusal_message(refusal, buffer.as_mut_ptr(), buffer.len()) };
    assert_eq!(written, len);
    let bytes: Vec<u8> = buffer.iter().map(|&c| c as u8).collect();
    assert_eq!(bytes[len], 0, "NUL-terminated");
    String::from_utf8(bytes[..len].to_vec()).unwrap()
}

/// What a wrong argument must give: the status, the argument's name, and
/// words of the rule (its valid range).
#[derive(Clone, Debug)]
struct Want {
    status: i32,
    argument: &'static str,
    rule: &'static str,
}

fn want(status: i32, argument: &'static str, rule: &'static str) -> Want {
    Want {
        status,
        argument,
        rule,
    }
}

/// One wrong call: a description, its arguments and addresses, and what
/// it must give.
struct Case {
    what: String,
    args: Args,
    pointers: Vec<usize>,
    /// Element 0 of the named buffer set to this byte pattern (contents).
    content: Option<(&'static str, Vec<u8>)>,
    want: Want,
}

/// A call that succeeds: small sizes, valid parameters.
fn valid_args(ep: &EntryPoint) -> Args {
    let mut a = Args::DEFAULT;
    a.sizes = match ep.shape {
        Shape::Group => [8, 4],
        Shape::Matrix => [2, 4],
        Shape::Tensor => [8, 1],
        Shape::Pack => [8, 2],
    };
    a
}

/// Buffers for `args`, each 8-aligned with room to spare, zeroed.
fn buffers(ep: &EntryPoint, args: &Args) -> Vec<Vec<u64>> {
    ep.counts(args)
        .unwrap()
        .iter()
        .zip(ep.buffers)
        .map(|(&n, b)| vec![0u64; (n as usize * b.elem.size()).div_ceil(8) + 8])
        .collect()
}

fn addresses(buffers: &mut [Vec<u64>]) -> Vec<usize> {
    buffers
        .iter_mut()
        .map(|b| b.as_mut_ptr() as usize)
        .collect()
}

/// Adds a case: its description, how it changes the valid arguments,
/// what it must give.
type AddCase<'a> = dyn FnMut(&str, &dyn Fn(&mut Args), Want) + 'a;

/// The wrong values of each parameter an entry point checks, with the
/// words of their rules.
fn parameter_cases(ep: &EntryPoint, valid: &Args) -> Vec<(String, Args, Want)> {
    let mut cases = Vec::new();
    let mut case = |what: &str, change: &dyn Fn(&mut Args), w: Want| {
        let mut a = *valid;
        change(&mut a);
        cases.push((what.to_string(), a, w));
    };
    let eps = |case: &mut AddCase| {
        for (what, value) in [
            ("eps 0", 0.0),
            ("eps NaN", f32::NAN),
            ("eps -inf", f32::NEG_INFINITY),
        ] {
            case(
                what,
                &move |a| a.eps = value,
                want(EPS, "eps", "is not finite and positive"),
            );
        }
    };
    match ep.params {
        Params::Asymmetric | Params::AsymmetricCodes => {
            let range = if ep.params == Params::Asymmetric {
                "is outside 1..=16"
            } else {
                "is outside 1..=8"
            };
            let widest = if ep.params == Params::Asymmetric {
                16
            } else {
                8
            };
            for bit in [0, widest + 1, u32::MAX] {
                case(
                    &format!("bit {bit}"),
                    &move |a| a.bit = bit,
                    want(BIT_WIDTH, "bit", range),
                );
            }
            eps(&mut case);
            for clip in [0.0, 1.0, -0.5, f32::NAN, f32::INFINITY] {
                case(
                    &format!("clip_val {clip}"),
                    &move |a| a.clip_val = clip,
                    want(CLIP, "clip_val", "is not finite with 0 < clip_val < 1"),
                );
            }
            case(
                "bit 1, clip_val 1 - 2^-24",
                &|a| {
                    a.bit = 1;
                    a.clip_val = 1.0 - f32::EPSILON / 2.0;
                },
                want(CLIP, "clip_val", "off the grid"),
            );
        }
        Params::Symmetric | Params::SymmetricCodes => {
            eps(&mut case);
            let level = "is not an integer within -2^24..=2^24";
            for (what, v) in [("0.5", 0.5), ("2^25", 33_554_432.0), ("NaN", f32::NAN)] {
                case(
                    &format!("min_v {what}"),
                    &move |a| a.min_v = v,
                    want(RANGE, "min_v", level),
                );
                case(
                    &format!("max_v {what}"),
                    &move |a| a.max_v = -v,
                    want(RANGE, "max_v", level),
                );
            }
            case(
                "max_v < min_v",
                &|a| (a.min_v, a.max_v) = (3.0, 2.0),
                want(RANGE, "max_v", "is less than min_v"),
            );
            if ep.params == Params::SymmetricCodes {
                let int8 = "is outside -128..=127";
                case(
                    "min_v -129",
                    &|a| a.min_v = -129.0,
                    want(RANGE, "min_v", int8),
                );
                case(
                    "max_v 128",
                    &|a| a.max_v = 128.0,
                    want(RANGE, "max_v", int8),
                );
            }
        }
        Params::Token | Params::TokenBits => {
            for bit in [0, 1, 9, 16] {
                case(
                    &format!("bit {bit}"),
                    &move |a| a.bit = bit,
                    want(BIT_WIDTH, "bit", "is outside 2..=8"),
                );
            }
            if ep.params == Params::Token {
                eps(&mut case);
            }
        }
        Params::Width => {
            for bits in [0, 3, 16] {
                case(
                    &format!("bits {bits}"),
                    &move |a| a.sizes[1] = bits,
                    want(BIT_WIDTH, "bits", "is not 1, 2, 4 or 8"),
                );
            }
        }
    }
    if ep.calibration {
        for mode in [2, -1] {
            case(
                &format!("mode {mode}"),
                &move |a| a.mode = mode,
                want(
                    MODE,
                    "mode",
                    "is not QAT_CALIBRATE_SEARCH (0) or QAT_CALIBRATE_LSQ (1)",
                ),
            );
        }
    }
    cases
}

/// The wrong sizes of an entry point's shape.
fn size_cases(ep: &EntryPoint, valid: &Args) -> Vec<(String, Args, Want)> {
    let too_large = "is too large";
    let mut cases = Vec::new();
    let mut case = |what: &str, sizes: [usize; 2], w: Want| {
        let mut a = *valid;
        a.sizes = sizes;
        cases.push((what.to_string(), a, w));
    };
    match ep.shape {
        Shape::Group => {
            for g in [0, 3] {
                case(
                    &format!("group_size {g}"),
                    [8, g],
                    want(SHAPE, "group_size", "is 0 or does not divide numel"),
                );
            }
            case(
                "numel huge",
                [usize::MAX, 1],
                want(SHAPE, "numel", too_large),
            );
        }
        Shape::Matrix => {
            case("rows huge", [usize::MAX, 1], want(SHAPE, "rows", too_large));
            case(
                "rows * cols wraps",
                [1 << 33, 1 << 31],
                want(SHAPE, "cols", too_large),
            );
        }
        Shape::Tensor => case(
            "numel huge",
            [usize::MAX, 1],
            want(SHAPE, "numel", too_large),
        ),
        Shape::Pack => case(
            "count huge",
            [usize::MAX, 2],
            want(SHAPE, "count", too_large),
        ),
    }
    // Sizes each fine whose block values pass PTRDIFF_MAX bytes: 2^60
    // units, each two f64 block values.
    if ep.buffers.iter().any(|b| b.count == Blocks) && ep.shape != Shape::Tensor {
        case(
            "block values too large",
            [1 << 60, 1],
            want(SHAPE, "block_sums", too_large),
        );
    }
    cases
}

/// Every wrong argument of an entry point, from the call that succeeds
/// with `valid` on buffers at `good`.
fn cases(ep: &EntryPoint, valid: Args, good: &[usize]) -> Vec<Case> {
    let good = good.to_vec();
    let counts = ep.counts(&valid).unwrap();
    let mut out = Vec::new();
    for (what, args, want) in parameter_cases(ep, &valid)
        .into_iter()
        .chain(size_cases(ep, &valid))
    {
        out.push(Case {
            what,
            args,
            pointers: good.clone(),
            content: None,
            want,
        });
    }
    // Each buffer's pointer in turn, the others good.
    for (i, b) in ep.buffers.iter().enumerate() {
        if counts[i] == 0 {
            continue;
        }
        let mut pointer = |what: &str, p: usize, w: Want| {
            let mut pointers = good.clone();
            pointers[i] = p;
            out.push(Case {
                what: format!("{} {what}", b.name),
                args: valid,
                pointers,
                content: None,
                want: w,
            });
        };
        pointer(
            "null",
            0,
            want(POINTER, b.name, "is null with a nonzero count"),
        );
        if b.elem.size() > 1 {
            pointer(
                "misaligned",
                good[i] + 1,
                want(POINTER, b.name, "is not aligned"),
            );
        }
        pointer(
            "wrapping",
            usize::MAX & !(b.elem.size() - 1),
            want(POINTER, b.name, "wraps around"),
        );
    }
    // Each output overlapping each other buffer partly: one element in.
    let sizes: Vec<usize> = ep.buffers.iter().map(|b| b.elem.size()).collect();
    let bytes: Vec<usize> = counts
        .iter()
        .zip(&sizes)
        .map(|(&n, &s)| n as usize * s)
        .collect();
    for (k, out_buf) in ep.buffers.iter().enumerate() {
        if !out_buf.output || bytes[k] == 0 {
            continue;
        }
        for m in (0..ep.buffers.len()).filter(|&m| m != k && bytes[m] > 0) {
            // `k` starts inside `m`, or `m` inside `k`: a partial overlap.
            let Some(p) = [good[m] + sizes[k], good[m] - sizes[k]]
                .into_iter()
                .find(|&p| {
                    let partial = p < good[m] + bytes[m] && good[m] < p + bytes[k];
                    partial && p != good[m]
                })
            else {
                continue;
            };
            let mut pointers = good.clone();
            pointers[k] = p;
            // The documented order: the first pair of buffers found, named
            // by its output (the first one, if both are).
            let (i, j) = (k.min(m), k.max(m));
            let named = if ep.buffers[i].output { i } else { j };
            out.push(Case {
                what: format!("{} overlapping {}", out_buf.name, ep.buffers[m].name),
                args: valid,
                pointers,
                content: None,
                want: want(OVERLAP, ep.buffers[named].name, "overlaps another buffer"),
            });
        }
    }
    // Contents, where the entry point checks them.
    let content = |name: &'static str, value: Vec<u8>, w: Want| Case {
        what: format!("{name}[0] = {value:x?}"),
        args: valid,
        pointers: good.clone(),
        content: Some((name, value)),
        want: w,
    };
    // A NaN of the weights' element type.
    let weight = ep.buffers.iter().find(|b| b.name == "weight");
    let nan = match weight.map(|b| b.elem) {
        Some(Elem::F32) => f32::NAN.to_le_bytes().to_vec(),
        Some(Elem::F16) => 0x7E00u16.to_le_bytes().to_vec(),
        _ => 0x7FC0u16.to_le_bytes().to_vec(),
    };
    match ep.contents {
        Contents::None => {}
        Contents::Finite if ep.calibration => out.push(content(
            "weight",
            nan.clone(),
            want(NON_FINITE, "weight", "has a NaN or infinite value"),
        )),
        Contents::Finite => out.push(content(
            "weight",
            nan,
            want(NON_FINITE, "weight", "is not finite, so no integer code"),
        )),
        Contents::Codes => {
            let rule = match ep.params {
                Params::AsymmetricCodes => "has a code outside 0..2^bit",
                Params::SymmetricCodes => "has a code outside min_v..=max_v",
                _ => "has a code that does not fit in bits bits",
            };
            out.push(content("codes", vec![0x7F], want(CODE, "codes", rule)));
        }
    }
    out
}

#[test]
fn every_refusal_names_its_argument_and_rule() {
    let _handler = keeping();
    let mut total = 0;
    for ep in ENTRY_POINTS.iter() {
        let valid = valid_args(ep);
        let mut bufs = buffers(ep, &valid);
        let good = addresses(&mut bufs);
        LAST.set(None);
        // SAFETY: the buffers hold the counts of these sizes.
        let status = unsafe { (ep.call)(&good, &valid) };
        assert_eq!(status, QAT_OK, "{}: the valid call", ep.name);
        assert!(
            LAST.get().is_none(),
            "{}: a handler call without a refusal",
            ep.name
        );

        let cases = cases(ep, valid, &good);
        let mut arguments = std::collections::BTreeSet::new();
        for case in &cases {
            for b in bufs.iter_mut() {
                b.fill(0);
            }
            if let Some((name, value)) = &case.content {
                let i = ep.buffers.iter().position(|b| b.name == *name).unwrap();
                bytemuck(&mut bufs[i])[..value.len()].copy_from_slice(value);
            }
            let before = bufs.clone();
            LAST.set(None);
            // SAFETY: every case is refused before its buffers are touched
            // (checked below), and its good pointers hold their counts.
            let status = unsafe { (ep.call)(&case.pointers, &case.args) };
            assert!(
                bufs == before,
                "{}: {}: written on refusal",
                ep.name,
                case.what
            );
            let w = &case.want;
            let where_ = format!("{}: {}", ep.name, case.what);
            assert_eq!(status, w.status, "{where_}: status");
            let refusal = LAST.get().unwrap_or_else(|| panic!("{where_}: no refusal"));
            assert_eq!(refusal.status, status, "{where_}");
            let message = words(&refusal);
            assert!(
                message.starts_with(&format!("{} ", w.argument)) && message.contains(w.rule),
                "{where_}: \"{message}\" does not say \"{} ... {}\"",
                w.argument,
                w.rule
            );
            arguments.insert(w.argument);
            total += 1;
        }
        for b in ep.buffers {
            assert!(
                arguments.contains(b.name),
                "{}: {} never refused",
                ep.name,
                b.name
            );
        }
        println!(
            "{}: {} refusals, arguments {arguments:?}",
            ep.name,
            cases.len()
        );
    }
    println!(
        "{} entry points, {total} refused calls, each naming its argument and rule",
        ENTRY_POINTS.len()
    );
}

/// The bytes of a buffer of u64.
fn bytemuck(v: &mut [u64]) -> &mut [u8] {
    // SAFETY: u8 has no alignment or validity requirement; the length is
    // the same memory.
    unsafe { std::slice::from_raw_parts_mut(v.as_mut_ptr().cast(), v.len() * 8) }
}

#[test]
fn messages_are_cut_as_snprintf_cuts_them() {
    let refusal = qat_refusal {
        status: 3,
        argument: qat_kernels::Argument::Bit as i32,
        rule: qat_kernels::Rule::TokenBits as i32,
    };
    let whole = "bit is outside 2..=8";
    assert_eq!(words(&refusal), whole);
    for size in 0..whole.len() + 3 {
        let mut buffer = vec![0x55 as c_char; size + 4];
        // SAFETY: the buffer holds size + 4 bytes.
        let len = unsafe { qat_refusal_message(&refusal, buffer.as_mut_ptr(), size) };
        assert_eq!(len, whole.len());
        let kept = size.saturating_sub(1).min(whole.len());
        let bytes: Vec<u8> = buffer.iter().map(|&c| c as u8).collect();
        assert_eq!(&bytes[..kept], &whole.as_bytes()[..kept], "size {size}");
        if size > 0 {
            assert_eq!(bytes[kept], 0, "size {size}: NUL");
        }
        let untouched = if size == 0 { 0 } else { kept + 1 };
        assert!(
            bytes[untouched..].iter().all(|&b| b == 0x55),
            "size {size}: past the end"
        );
    }
    let unknown = qat_refusal {
        status: 3,
        argument: 1000,
        rule: 0,
    };
    assert_eq!(words(&unknown), "unknown refusal");
    // SAFETY: a null refusal is allowed.
    assert_eq!(
        unsafe { qat_refusal_message(std::ptr::null(), std::ptr::null_mut(), 0) },
        15
    );
}

#[test]
fn the_handler_chains_and_is_not_called_on_success() {
    unsafe extern "C" fn other(_: *const qat_refusal) {}
    let _alone = HANDLER
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let before = qat_set_refusal_handler(Some(other));
    let mine = qat_set_refusal_handler(before);
    assert_eq!(mine.map(|f| f as usize), Some(other as *const () as usize));
    qat_set_refusal_handler(Some(keep));
    LAST.set(None);
    assert_eq!(
        qat_set_isa(1234),
        qat_kernels::Status::UnsupportedIsa.code()
    );
    assert_eq!(words(&LAST.get().unwrap()), "isa is not a QAT_ISA_* value");
    LAST.set(None);
    assert_eq!(qat_set_isa(qat_kernels::Isa::Auto as i32), QAT_OK);
    assert!(LAST.get().is_none());
}

#[test]
fn docs_list_every_rule_with_its_status() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/validation.md"))
        .unwrap();
    let listed: Vec<&str> = doc
        .lines()
        .filter(|l| l.starts_with("| `QAT_ERR_"))
        .collect();
    let screaming = |name: String| {
        name.chars()
            .enumerate()
            .flat_map(|(i, c)| {
                (i > 0 && c.is_uppercase())
                    .then_some('_')
                    .into_iter()
                    .chain(c.to_uppercase())
            })
            .collect::<String>()
    };
    let rules: Vec<String> = (0..)
        .map_while(qat_kernels::Rule::from_code)
        .map(|rule| {
            format!(
                "| `QAT_ERR_{}` | {} |",
                screaming(format!("{:?}", rule.status())),
                rule.text()
            )
        })
        .collect();
    assert_eq!(listed, rules, "docs/validation.md's list of rules");
}

#[test]
fn an_unknown_division_is_refused_and_changes_nothing() {
    let _handler = keeping();
    let before = qat_kernels::ffi::qat_active_division();
    for division in [-1, 3, i32::MAX] {
        LAST.set(None);
        let status = qat_kernels::ffi::qat_set_division(division);
        assert_eq!(status, qat_kernels::Status::Mode.code(), "{division}");
        assert_eq!(
            words(&LAST.get().unwrap()),
            "division is not QAT_DIVISION_AUTO (0), QAT_DIVISION_INSTRUCTION (1) or QAT_DIVISION_RECIPROCAL (2)"
        );
        assert_eq!(qat_kernels::ffi::qat_active_division(), before);
    }
}

#[test]
fn an_unknown_dtype_is_refused_first() {
    let _handler = keeping();
    for dtype in [-1, 3, 7, i32::MAX] {
        LAST.set(None);
        // SAFETY: refused before any pointer is looked at (null ones here).
        let status = unsafe {
            qat_symmetric_per_tensor_dtype(
                dtype,
                std::ptr::null(),
                std::ptr::null(),
                std::ptr::null_mut(),
                usize::MAX,
                0.0,
                9.5,
                -3.0,
            )
        };
        assert_eq!(status, qat_kernels::Status::Dtype.code(), "{dtype}");
        assert_eq!(
            words(&LAST.get().unwrap()),
            "dtype is not QAT_DTYPE_BF16 (0), QAT_DTYPE_F32 (1) or QAT_DTYPE_F16 (2)"
        );
    }
}
