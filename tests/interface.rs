//! The weight quantizers' interface is written once per quantizer, in
//! `src/quantizers/<quantizer>/interface.txt`: its names, parameters, the
//! call each operation makes, and each operation's documentation. This
//! test writes from it, with the operations' signatures below (each written
//! once, for every weight quantizer), the quantizer's Rust API (`api.rs`:
//! [`Backend`] methods, the free functions derived from them) and its C
//! entry points with their entries in the tests' registry (`ffi.rs`), and
//! fails while either file is stale. Regenerate with `QAT_BLESS=1 cargo
//! test --test interface` (which needs rustfmt, as `cargo fmt` does).
//! While the crate does not build (a new quantizer's generated files not
//! yet written), compile this file alone, from the repository's root:
//! `rustc --edition 2021 --test tests/interface.rs -o target/interface &&
//! QAT_BLESS=1 target/interface`.
//!
//! The description's keys:
//! - `name`, `params` (the Rust parameters type), `family` (`asymmetric`:
//!   a scale and an offset, `u8` codes; `symmetric`: a scale, `i8` codes),
//!   `scale` (`slice`, or `one`: a single scale, by value in Rust);
//! - `c sizes`, `c parameters`: the C arguments after the pointers;
//!   `c call`: the call of `call::Call` on raw pointers that every C entry
//!   point makes;
//! - `rust call`: the same on slices, `{n}` standing for the weights'
//!   count; `finish sizes`, `finish call`: the finish function's own size
//!   arguments and call (it has no weights to count);
//! - `doc <operation>:` then its documentation, for both languages: a line
//!   starting `C:` or `Rust:` is for that language only; `{name}` links an
//!   operation (`{forward}`, `{quantize}`: this quantizer's), `{NonFinite}`
//!   an error, `{Search}` a calibration mode; backticks are dropped in C.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The operations, in the order of the C header; in Rust the in-place
/// forms follow their operation and `finish` (a free function) comes last.
const OPERATIONS: [&str; 7] = [
    "forward",
    "backward",
    "quantize",
    "dequantize",
    "backward_blocks",
    "finish",
    "calibrate",
];

const ERRORS: [&str; 11] = [
    "Pointer",
    "Shape",
    "BitWidth",
    "Eps",
    "Clip",
    "Range",
    "Overlap",
    "NonFinite",
    "Code",
    "Mode",
    "UnsupportedIsa",
];

struct Description {
    file: PathBuf,
    keys: BTreeMap<String, String>,
    docs: BTreeMap<String, Vec<String>>,
}

impl Description {
    fn read(file: &Path) -> Description {
        let text = std::fs::read_to_string(file).unwrap();
        let (mut keys, mut docs) = (BTreeMap::new(), BTreeMap::new());
        let mut doc: Option<String> = None;
        for line in text.lines() {
            if line.starts_with('#') {
                continue;
            }
            if let Some(op) = line.strip_prefix("doc ").and_then(|l| l.strip_suffix(':')) {
                assert!(
                    OPERATIONS.contains(&op),
                    "{}: no operation {op}",
                    file.display()
                );
                doc = Some(op.to_string());
                docs.insert(op.to_string(), Vec::new());
            } else if let Some(op) = &doc {
                docs.get_mut(op).unwrap().push(line.to_string());
            } else if let Some((key, value)) = line.split_once(':') {
                keys.insert(key.trim().to_string(), value.trim().to_string());
            } else {
                assert!(line.trim().is_empty(), "{}: {line:?}", file.display());
            }
        }
        for lines in docs.values_mut() {
            while lines.last().is_some_and(|l| l.trim().is_empty()) {
                lines.pop();
            }
        }
        Description {
            file: file.to_path_buf(),
            keys,
            docs,
        }
    }

    fn key(&self, key: &str) -> &str {
        self.keys
            .get(key)
            .unwrap_or_else(|| panic!("{}: no `{key}`", self.file.display()))
    }

    fn name(&self) -> &str {
        self.key("name")
    }

    /// The Rust parameters type, and its fields (each named as the C
    /// argument that gives it).
    fn params(&self) -> (&str, Vec<&str>) {
        let (ty, fields) = self.key("params").split_once(" { ").unwrap();
        let fields = fields.trim_end_matches(" }").split(", ").collect();
        (ty, fields)
    }

    fn asymmetric(&self) -> bool {
        match self.key("family") {
            "asymmetric" => true,
            "symmetric" => false,
            f => panic!("{}: family {f}", self.file.display()),
        }
    }

    /// A single scale, by value in Rust.
    fn one_scale(&self) -> bool {
        self.key("scale") == "one"
    }

    /// The learned parameters' names.
    fn learned(&self) -> &'static [&'static str] {
        if self.asymmetric() {
            &["scale", "offset"]
        } else {
            &["scale"]
        }
    }

    fn codes(&self) -> &'static str {
        if self.asymmetric() {
            "u8"
        } else {
            "i8"
        }
    }

    /// The entry point (C) or method (Rust) of an operation.
    fn op_name(&self, op: &str) -> String {
        match op {
            "forward" => self.name().to_string(),
            _ => format!("{}_{op}", self.name()),
        }
    }

    /// An operation's documentation for one language, its paragraphs
    /// filled to `width` columns; `method`: a `Backend` method's (whose
    /// links may say `Self`).
    fn doc(&self, op: &str, c: bool, method: bool, width: usize) -> String {
        let lines = self
            .docs
            .get(op)
            .unwrap_or_else(|| panic!("{}: no `doc {op}:`", self.file.display()));
        let mut text = String::new();
        let mut paragraph = Vec::new();
        for line in lines.iter().chain([&String::new()]) {
            let line = match (line.strip_prefix("C: "), line.strip_prefix("Rust: ")) {
                (Some(l), _) if c => l,
                (Some(_), _) => continue,
                (_, Some(_)) if c => continue,
                (_, Some(l)) => l,
                _ => line,
            };
            if line.trim().is_empty() {
                if !paragraph.is_empty() {
                    text.push_str(&fill(&paragraph.join(" "), width));
                    text.push('\n');
                    paragraph.clear();
                }
            } else {
                paragraph.push(self.links(line.trim(), c, method));
            }
        }
        text.trim_end().to_string() + "\n"
    }

    /// `{...}` links made for the language; backticks dropped in C.
    fn links(&self, line: &str, c: bool, method: bool) -> String {
        let mut out = String::new();
        let mut rest = line;
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let close = open + rest[open..].find('}').unwrap();
            let target = &rest[open + 1..close];
            let name = if OPERATIONS.contains(&target) {
                self.op_name(target)
            } else {
                target.to_string()
            };
            out.push_str(&link(&name, c, method));
            rest = &rest[close + 1..];
        }
        out.push_str(rest);
        if c {
            out.replace('`', "")
        } else {
            out
        }
    }
}

/// `text` in lines of at most `width` columns (a longer word alone).
fn fill(text: &str, width: usize) -> String {
    let mut out = String::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.len() + 1 + word.len() > width {
            out.push_str(&line);
            out.push('\n');
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    out.push_str(&line);
    out.push('\n');
    out
}

/// A link to a function, error or calibration mode (`method`: from a
/// `Backend` method's documentation).
fn link(name: &str, c: bool, method: bool) -> String {
    let screaming = || {
        let mut s = String::new();
        for (i, ch) in name.chars().enumerate() {
            if ch.is_uppercase() && i > 0 {
                s.push('_');
            }
            s.push(ch.to_ascii_uppercase());
        }
        s
    };
    match name {
        "Search" | "Lsq" if c => format!("QAT_CALIBRATE_{}", screaming()),
        "Search" | "Lsq" => format!("[`Calibration::{name}`]"),
        _ if ERRORS.contains(&name) && c => format!("QAT_ERR_{}", screaming()),
        _ if ERRORS.contains(&name) => format!("[`Status::{name}`](crate::Status::{name})"),
        _ if c => format!("qat_{name}"),
        "block_count" => "[`block_count`](crate::block_count)".to_string(),
        _ if name.ends_with("_finish") => format!("[`{name}`](crate::{name})"),
        _ if method => format!("[`Self::{name}`]"),
        _ => format!("[`Backend::{name}`]"),
    }
}

/// What a buffer holds, which gives its types and count.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    /// bf16, one per weight.
    Weights,
    /// bf16, one per unit: scales, offsets and their gradients.
    Learned,
    /// One per weight.
    Codes,
    /// f64 block values.
    Blocks,
}

struct Buffer {
    name: String,
    kind: Kind,
    output: bool,
}

fn buffer(name: &str, kind: Kind, output: bool) -> Buffer {
    Buffer {
        name: name.to_string(),
        kind,
        output,
    }
}

/// Each operation's buffers, in the order of its arguments, and the call
/// it makes on them (`L`: the learned parameters, `G`: their gradients or
/// the calibrated parameters, each a tuple or one name).
fn operation(d: &Description, op: &str) -> (Vec<Buffer>, &'static str) {
    use Kind::*;
    let learned = |output: bool, prefix: &str| -> Vec<Buffer> {
        d.learned()
            .iter()
            .map(|n| buffer(&format!("{prefix}{n}"), Learned, output))
            .collect()
    };
    let mut b = Vec::new();
    let call = match op {
        "forward" => {
            b.push(buffer("weight", Weights, false));
            b.extend(learned(false, ""));
            b.push(buffer("out", Weights, true));
            "forward(weight, L, out)"
        }
        "backward" => {
            b.push(buffer("grad_output", Weights, false));
            b.push(buffer("weight", Weights, false));
            b.extend(learned(false, ""));
            b.push(buffer("grad_weight", Weights, true));
            b.extend(learned(true, "grad_"));
            "backward(grad_output, weight, L, grad_weight, G)"
        }
        "quantize" => {
            b.push(buffer("weight", Weights, false));
            b.extend(learned(false, ""));
            b.push(buffer("codes", Codes, true));
            "quantize(weight, L, codes)"
        }
        "dequantize" => {
            b.push(buffer("codes", Codes, false));
            b.extend(learned(false, ""));
            b.push(buffer("out", Weights, true));
            "dequantize(codes, L, out)"
        }
        "backward_blocks" => {
            b.push(buffer("grad_output", Weights, false));
            b.push(buffer("weight", Weights, false));
            b.extend(learned(false, ""));
            b.push(buffer("grad_weight", Weights, true));
            b.push(buffer("block_sums", Blocks, true));
            "backward_blocks(grad_output, weight, L, grad_weight, block_sums)"
        }
        "finish" => {
            b.push(buffer("block_sums", Blocks, false));
            b.push(buffer("scale", Learned, false));
            b.extend(learned(true, "grad_"));
            "finish(block_sums, scale, G)"
        }
        "calibrate" => {
            b.push(buffer("weight", Weights, false));
            b.extend(learned(true, ""));
            "calibrate(weight, G, MODE)"
        }
        _ => unreachable!(),
    };
    (b, call)
}

/// `names` as a call's argument: a tuple, or the one name.
fn tuple(names: Vec<String>) -> String {
    match names.len() {
        1 => names.into_iter().next().unwrap(),
        _ => format!("({})", names.join(", ")),
    }
}

/// The call with each argument through `arg`: `L` the learned inputs, `G`
/// the learned outputs, `MODE` the calibration mode.
fn call(template: &str, buffers: &[Buffer], arg: impl Fn(&Buffer) -> String, mode: &str) -> String {
    let (method, args) = template.trim_end_matches(')').split_once('(').unwrap();
    let learned = |output: bool| {
        tuple(
            buffers
                .iter()
                .filter(|b| b.kind == Kind::Learned && b.output == output)
                .map(&arg)
                .collect(),
        )
    };
    let args: Vec<String> = args
        .split(", ")
        .map(|a| match a {
            "L" => learned(false),
            "G" => learned(true),
            "MODE" => mode.to_string(),
            name => arg(buffers.iter().find(|b| b.name == name).unwrap()),
        })
        .collect();
    format!("{method}({})", args.join(", "))
}

/// Whether a buffer is a gradient of the learned parameters (which the
/// Rust API gives in the data type's gradient type).
fn learned_gradient(b: &Buffer) -> bool {
    b.kind == Kind::Learned && b.output && b.name.starts_with("grad_")
}

/// The Rust type of a buffer argument: data `T`, gradients of the learned
/// parameters `grad` (`T::Grad`, or `G` where there is no data).
fn rust_type(d: &Description, b: &Buffer, grad: &str) -> String {
    let elem = match b.kind {
        Kind::Weights => "T",
        Kind::Learned if learned_gradient(b) => grad,
        Kind::Learned => "bf16",
        Kind::Codes => d.codes(),
        Kind::Blocks => "f64",
    };
    match (b.kind == Kind::Learned && d.one_scale(), b.output) {
        (true, false) => elem.to_string(),
        (true, true) => format!("&mut {elem}"),
        (false, false) => format!("&[{elem}]"),
        (false, true) => format!("&mut [{elem}]"),
    }
}

/// A buffer as the Rust call passes it: data and gradients through their
/// type's conversion ([`Float`]'s), the others as they are.
fn rust_arg(d: &Description, b: &Buffer, grad: &str) -> String {
    let name = match (b.kind == Kind::Learned && d.one_scale(), b.output) {
        (true, false) => format!("core::slice::from_ref(&{})", b.name),
        (true, true) => format!("core::slice::from_mut({})", b.name),
        _ => b.name.clone(),
    };
    let convert = |ty: &str| {
        let how = if b.output { "output" } else { "input" };
        format!("<{ty}>::{how}({name})")
    };
    match b.kind {
        Kind::Weights => convert("T"),
        Kind::Learned if learned_gradient(b) => convert(grad),
        _ => name,
    }
}

fn doc_comment(out: &mut String, text: &str, indent: &str) {
    for line in text.lines() {
        if line.is_empty() {
            let _ = writeln!(out, "{indent}///");
        } else {
            let _ = writeln!(out, "{indent}/// {line}");
        }
    }
}

const GENERATED: &str = "Generated from interface.txt by `QAT_BLESS=1 cargo test --test\n//! interface`, which fails while this file is stale: do not edit.";

/// The Rust API: each operation a [`Backend`] method (and, through `api!`,
/// a free function on the active backend), the in-place forms, `finish`.
fn rust(d: &Description) -> String {
    let params = d.params().0;
    let rust_call = |n: &str| d.key("rust call").replace("{n}", n);
    let mut out = format!(
        "//! {}'s operations on slices: [`Backend`] methods and the free\n//! functions derived from them.\n//! {GENERATED}\n\n",
        d.key("title")
    );
    // Written as an `impl` for rustfmt, which leaves a macro's body as it
    // is; `api!` in its place (see `generated_interface_is_fresh`).
    out.push_str("use half::bf16;\n\nuse super::*;\n// The conversions of data slices.\nuse crate::float::sealed::Float as _;\nuse crate::{Backend, Calibration, Error, Float};\n\nimpl Backend {\n");
    let method = |out: &mut String, name: String, doc: &str, args: Vec<String>, body: String| {
        doc_comment(out, doc, "    ");
        let _ = writeln!(
            out,
            "    pub fn {name}<T: Float>(self, {}) -> Result<(), Error> {{\n{body}\n    }}\n",
            args.join(", ")
        );
    };
    for op in OPERATIONS {
        if op == "finish" {
            continue;
        }
        let (buffers, template) = operation(d, op);
        let mut args: Vec<String> = buffers
            .iter()
            .map(|b| format!("{}: {}", b.name, rust_type(d, b, "T::Grad")))
            .collect();
        args.push(format!("params: &{params}"));
        if op == "calibrate" {
            args.push("mode: Calibration".to_string());
        }
        let n = if op == "dequantize" {
            "codes.len()"
        } else {
            "weight.len()"
        };
        let body = format!(
            "        slices!({}.{})",
            rust_call(n),
            call(
                template,
                &buffers,
                |b| rust_arg(d, b, "T::Grad"),
                "Some(mode)"
            )
        );
        method(
            &mut out,
            d.op_name(op),
            &d.doc(op, false, true, 72),
            args,
            body,
        );
        // The in-place forms: one buffer for an input and the output.
        if op == "forward" || op == "backward" {
            // `whole` is the one buffer; the call reads it as `inner` and
            // writes it as `output`.
            let (whole, inner) = if op == "forward" {
                ("weight", "weight")
            } else {
                ("grad", "grad_output")
            };
            let output = if op == "forward" {
                "out"
            } else {
                "grad_weight"
            };
            let mut args = vec![format!("{whole}: &mut [T]")];
            args.extend(
                buffers
                    .iter()
                    .filter(|b| ![whole, inner, output].contains(&b.name.as_str()))
                    .map(|b| format!("{}: {}", b.name, rust_type(d, b, "T::Grad"))),
            );
            args.push(format!("params: &{params}"));
            let (prelude, n) = if op == "forward" {
                ("let (n, w) = (weight.len(), T::output(weight));", "n")
            } else {
                ("let w = T::output(grad);", "weight.len()")
            };
            let the_call = call(
                template,
                &buffers,
                |b| match b.name.as_str() {
                    n if n == inner => "w.reading()".to_string(),
                    n if n == output => "w".to_string(),
                    _ => rust_arg(d, b, "T::Grad"),
                },
                "",
            );
            let body = format!(
                "        {prelude}\n        slices!({}.{the_call})",
                rust_call(n)
            );
            let doc = if op == "forward" {
                format!(
                    "{} writing over `weight`.\n",
                    link(&d.op_name(op), false, true)
                )
            } else {
                fill(
                    &format!(
                        "{} with `grad` holding the output gradient on entry and the weight gradient on return.",
                        link(&d.op_name(op), false, true)
                    ),
                    72,
                )
            };
            method(
                &mut out,
                format!("{}_in_place", d.op_name(op)),
                &doc,
                args,
                body,
            );
        }
    }
    out.push_str("}\n\n");
    // `finish`: no weights, so no backend's kernels; a free function.
    let (buffers, template) = operation(d, "finish");
    let mut args: Vec<String> = buffers
        .iter()
        .map(|b| format!("{}: {}", b.name, rust_type(d, b, "G")))
        .collect();
    if let Some(sizes) = d.keys.get("finish sizes") {
        args.extend(sizes.split(',').map(|s| s.trim().to_string()));
    }
    args.push(format!("params: &{params}"));
    doc_comment(&mut out, &d.doc("finish", false, false, 76), "");
    let _ = writeln!(
        out,
        "pub fn {}<G: Float>({}) -> Result<(), Error> {{\n    slices!({}.{})\n}}",
        d.op_name("finish"),
        args.join(", "),
        d.key("finish call"),
        call(template, &buffers, |b| rust_arg(d, b, "G"), "")
    );
    out
}

/// The C entry points, each one call, and their registry entries.
fn c(d: &Description) -> String {
    let sizes: Vec<&str> = d.key("c sizes").split(',').map(str::trim).collect();
    let parameters: Vec<&str> = d.key("c parameters").split(',').map(str::trim).collect();
    let mut out = format!(
        "//! {}'s C entry points, each one call (see `crate::ffi`), and\n//! their entries in the tests' registry.\n//! {GENERATED}\n// The docs are the header's, written for C readers: `out[i]` is no link,\n// and each states its pointer contract in a \"Safety:\" paragraph.\n#![allow(rustdoc::broken_intra_doc_links, clippy::missing_safety_doc)]\n\n",
        d.key("title")
    );
    out.push_str(
        "use core::ffi::c_void;\n\nuse super::*;\nuse crate::ffi::{qat_bf16, unknown_dtype};\nuse crate::float::with_dtype;\nuse crate::quantizers::Calibration;\n\n",
    );
    let mut entries = String::new();
    let size_names: Vec<&str> = sizes
        .iter()
        .map(|s| s.split(':').next().unwrap().trim())
        .collect();
    let shape = match size_names.as_slice() {
        ["numel", "group_size"] => "Group",
        ["rows", "cols"] => "Matrix",
        ["numel"] => "Tensor",
        s => panic!("{}: sizes {s:?}", d.file.display()),
    };
    let family = if d.asymmetric() {
        "Asymmetric"
    } else {
        "Symmetric"
    };
    let reference = d.keys.get("same as").map(|r| reference(d, r, &size_names));
    for op in OPERATIONS {
        let (buffers, template) = operation(d, op);
        let name = format!("qat_{}", d.op_name(op));
        let mut doc = d.doc(op, true, false, 76);
        doc.push_str("\nSafety: each non-null pointer must be valid for its count of elements.\n");
        doc_comment(&mut out, &doc, "");
        let mut args: Vec<String> = buffers
            .iter()
            .map(|b| {
                let elem = match b.kind {
                    Kind::Weights | Kind::Learned => "qat_bf16",
                    Kind::Codes => d.codes(),
                    Kind::Blocks => "f64",
                };
                let pointer = if b.output { "*mut" } else { "*const" };
                format!("{}: {pointer} {elem}", b.name)
            })
            .collect();
        args.extend(sizes.iter().map(|s| s.to_string()));
        args.extend(parameters.iter().map(|s| s.to_string()));
        if op == "calibrate" {
            args.push("mode: i32".to_string());
        }
        let _ =
            writeln!(
            out,
            "#[no_mangle]\npub unsafe extern \"C\" fn {name}({}) -> i32 {{\n    raw!({}.{})\n}}\n",
            args.join(", "),
            d.key("c call"),
            call(template, &buffers, |b| b.name.clone(), "Calibration::from_code(mode)")
        );

        // Its dtype form: the data and the gradients of the learned
        // parameters as `void`, of the element type `dtype` says.
        let typed = |b: &Buffer| b.kind == Kind::Weights || learned_gradient(b);
        let mut doc = fill(
            &format!(
                "{name} on data of the element type dtype (a QAT_DTYPE_* value): the buffers typed void hold it, and the gradients of the scale{} are qat_bf16 with QAT_DTYPE_BF16, else float. An unknown dtype returns QAT_ERR_DTYPE, before anything else is checked.",
                if d.asymmetric() { " and offset" } else { "" }
            ),
            76,
        );
        doc.push_str("\nSafety: each non-null pointer must be valid for its count of elements.\n");
        doc_comment(&mut out, &doc, "");
        let dtype_args: Vec<String> = ["dtype: i32".to_string()]
            .into_iter()
            .chain(buffers.iter().zip(&args).map(|(b, arg)| {
                if typed(b) {
                    let pointer = if b.output { "*mut" } else { "*const" };
                    format!("{}: {pointer} c_void", b.name)
                } else {
                    arg.clone()
                }
            }))
            .chain(args[buffers.len()..].iter().cloned())
            .collect();
        let cast = |b: &Buffer| {
            if b.kind == Kind::Weights {
                format!("{}.cast::<T>()", b.name)
            } else if learned_gradient(b) {
                format!("{}.cast::<G>()", b.name)
            } else {
                b.name.clone()
            }
        };
        let _ = writeln!(
            out,
            "#[no_mangle]\npub unsafe extern \"C\" fn {name}_dtype({}) -> i32 {{\n    with_dtype!(dtype, |T, G| raw!({}.{}), else unknown_dtype())\n}}\n",
            dtype_args.join(", "),
            d.key("c call"),
            call(template, &buffers, cast, "Calibration::from_code(mode)")
        );

        // Its registry entry.
        let role = match op {
            "quantize" => format!(
                "Role::Quantize {{ forward: \"qat_{}\", dequantize: \"qat_{}\" }}",
                d.op_name("forward"),
                d.op_name("dequantize")
            ),
            "dequantize" => "Role::Dequantize".to_string(),
            "backward_blocks" => format!(
                "Role::Blocks {{ backward: \"qat_{}\", finish: \"qat_{}\" }}",
                d.op_name("backward"),
                d.op_name("finish")
            ),
            "finish" => "Role::Finish".to_string(),
            "calibrate" => "Role::Calibrate".to_string(),
            _ => "Role::Train".to_string(),
        };
        let params = match op {
            "quantize" | "dequantize" => format!("{family}Codes"),
            _ => family.to_string(),
        };
        let contents = match op {
            "quantize" | "calibrate" => "Finite",
            "dequantize" => "Codes",
            _ => "None",
        };
        let mut scalars: Vec<&str> = size_names.clone();
        scalars.extend(
            parameters
                .iter()
                .map(|p| p.split(':').next().unwrap().trim()),
        );
        if op == "calibrate" {
            scalars.push("mode");
        }
        // The bf16 entry point, then its dtype form with each dtype: the
        // data's element and the gradients' (`None`: the bf16 entry point).
        for dtype in [
            None,
            Some(("Bf16", "Bf16", "Bf16")),
            Some(("F32", "F32", "F32")),
            Some(("F16", "F16", "F32")),
        ] {
            let (entry_name, role) = match dtype {
                None => (name.clone(), role.clone()),
                Some((dt, _, _)) => (
                    format!("{name}_dtype[{dt}]"),
                    role.replace("\", ", "_dtype\", ")
                        .replace("\" }", "_dtype\" }"),
                ),
            };
            let _ = write!(
                entries,
                "        entry! {{\n            {entry_name}({}),\n            {role},\n            {shape}, {params}, {contents}, calibration: {},\n            [\n",
                scalars.join(", "),
                op == "calibrate"
            );
            for b in &buffers {
                let elem = match (b.kind, dtype) {
                    (Kind::Weights, Some((_, data, _))) => data,
                    (Kind::Learned, Some((_, _, grad))) if learned_gradient(b) => grad,
                    (Kind::Weights | Kind::Learned, _) => "Bf16",
                    (Kind::Codes, _) if d.asymmetric() => "U8",
                    (Kind::Codes, _) => "I8",
                    (Kind::Blocks, _) => "F64",
                };
                let count = match b.kind {
                    Kind::Weights | Kind::Codes => "All",
                    Kind::Learned => "Unit",
                    Kind::Blocks => "Blocks",
                };
                let dir = if b.output { "OUT" } else { "IN" };
                let _ = writeln!(entries, "                {}: {elem} {dir} {count},", b.name);
            }
            entries.push_str("            ],\n");
            // (A bf16 dtype form is held to its entry point by the tests,
            // which derive that reference for every one.)
            match (&reference, dtype) {
                (Some((other, sizes)), None) => {
                    let _ = writeln!(
                        entries,
                        "            same_as: qat_{other}{}, |a| {sizes},",
                        &d.op_name(op)[d.name().len()..]
                    );
                }
                _ => {}
            }
            if dtype.is_none() {
                let _ = writeln!(
                    entries,
                    "            rust: |p, a| {},",
                    rust_entry(d, op, &buffers)
                );
            }
            entries.push_str("        },\n");
        }
    }
    let _ = write!(
        out,
        "/// The entry points above in the tests' registry (`crate::registry`).\n/// cbindgen:ignore\n#[cfg(feature = \"test-hooks\")]\npub(crate) mod registry {{\n    use super::*;\n    use crate::registry::{{entry, scalar, slice, slice_mut, status, EntryPoint, Role}};\n    use crate::{{Backend, Calibration, {params_type}}};\n\n    pub(crate) static ENTRY_POINTS: &[EntryPoint] = &[\n{entries}];\n}}\n",
        params_type = d.params().0
    );
    out
}

/// The scalar argument `name` as the registry's `Args` holds it: the
/// registry's own `scalar!`, which its C calls read through too.
fn scalar(name: &str) -> String {
    format!("scalar!(a, {name})")
}

/// The registry's call of an operation through the Rust API: slices of
/// the addresses and counts `p`, the parameters from the scalars `a`.
fn rust_entry(d: &Description, op: &str, buffers: &[Buffer]) -> String {
    let mut args: Vec<String> = buffers
        .iter()
        .enumerate()
        .map(|(i, b)| {
            // The bf16 form: data and gradients as bf16.
            let ty = if b.kind == Kind::Weights || learned_gradient(b) {
                "::<half::bf16>"
            } else {
                ""
            };
            match (b.kind == Kind::Learned && d.one_scale(), b.output) {
                (true, false) => format!("slice{ty}(p[{i}])[0]"),
                (true, true) => format!("&mut slice_mut{ty}(p[{i}])[0]"),
                (false, false) => format!("slice{ty}(p[{i}])"),
                (false, true) => format!("slice_mut{ty}(p[{i}])"),
            }
        })
        .collect();
    let (ty, fields) = d.params();
    if op == "finish" {
        if let Some(extra) = d.keys.get("finish sizes") {
            args.extend(
                extra
                    .split(", ")
                    .map(|s| scalar(s.split(':').next().unwrap())),
            );
        }
    }
    let fields: Vec<String> = fields
        .iter()
        .map(|f| format!("{f}: {}", scalar(f)))
        .collect();
    args.push(format!("&{ty} {{ {} }}", fields.join(", ")));
    if op == "calibrate" {
        args.push("Calibration::from_code(a.mode)?".to_string());
    }
    let function = if op == "finish" {
        d.op_name(op)
    } else {
        format!("Backend::active().{}", d.op_name(op))
    };
    let mut call = format!("Some(status({function}(\n");
    for arg in args {
        let _ = writeln!(call, "                {arg},");
    }
    call + "            )))"
}

/// `same as: <quantizer> with <size> = <expression>, ...`: the quantizer,
/// and its sizes as the registry holds them (`Args::sizes`, in the C
/// header's order), each an expression of this one's.
fn reference(d: &Description, text: &str, sizes: &[&str]) -> (String, String) {
    let (other, with) = text
        .split_once(" with ")
        .unwrap_or_else(|| panic!("{}: same as {text}", d.file.display()));
    let expressions: Vec<&str> = with
        .split(", ")
        .map(|assignment| assignment.split_once(" = ").unwrap().1)
        .collect();
    let names = [sizes[0], sizes.get(1).copied().unwrap_or("_")];
    let args = format!(
        "{{ let [{}] = a.sizes; crate::registry::Args {{ sizes: [{}], ..*a }} }}",
        names.join(", "),
        expressions.join(", ")
    );
    (other.to_string(), args)
}

/// `source` as rustfmt writes it, or `None` without rustfmt.
fn rustfmt(root: &Path, source: &str) -> Option<String> {
    let mut child = Command::new("rustfmt")
        .args(["--edition", "2021", "--emit", "stdout"])
        .current_dir(root)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .ok()?;
    use std::io::Write as _;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(source.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "rustfmt refused the generated code:\n{}\n{source}",
        String::from_utf8_lossy(&output.stderr)
    );
    Some(String::from_utf8(output.stdout).unwrap())
}

#[test]
fn generated_interface_is_fresh() {
    // Compiled alone (see above), from the current directory.
    let root = Path::new(option_env!("CARGO_MANIFEST_DIR").unwrap_or("."));
    let mut descriptions: Vec<PathBuf> = std::fs::read_dir(root.join("src/quantizers"))
        .unwrap()
        .map(|e| e.unwrap().path().join("interface.txt"))
        .filter(|p| p.exists())
        .collect();
    descriptions.sort();
    assert!(
        descriptions.len() >= 4,
        "the weight quantizers' descriptions"
    );
    let bless = std::env::var_os("QAT_BLESS").is_some();
    let mut stale = Vec::new();
    for file in &descriptions {
        let d = Description::read(file);
        let folder = file.parent().unwrap();
        assert_eq!(
            folder.file_name().unwrap().to_str().unwrap(),
            d.name(),
            "a quantizer's folder is its name"
        );
        for (path, source) in [
            (folder.join("api.rs"), rust(&d)),
            (folder.join("ffi.rs"), c(&d)),
        ] {
            let Some(fresh) = rustfmt(root, &source) else {
                assert!(
                    std::env::var_os("QAT_REQUIRE_TOOLS").is_none(),
                    "rustfmt is needed to check the generated interface"
                );
                eprintln!("skipped: no rustfmt to check the generated interface");
                return;
            };
            let fresh = fresh.replacen("\nimpl Backend {\n", "\napi! {\n", 1);
            if bless {
                std::fs::write(&path, &fresh).unwrap();
            }
            if std::fs::read_to_string(&path).unwrap_or_default() != fresh {
                stale.push(path.strip_prefix(root).unwrap().display().to_string());
            }
        }
    }
    assert!(
        stale.is_empty(),
        "stale: {stale:?}; run `QAT_BLESS=1 cargo test --test interface` and commit them"
    );
}
