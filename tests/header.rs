//! The committed header is exactly what cbindgen generates from the sources.
//! Regenerate it with `QAT_BLESS=1 cargo test --test header`.
#![cfg(target_arch = "x86_64")]

use std::path::Path;

#[test]
fn committed_header_is_fresh() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(root.join("cbindgen.toml")).expect("cbindgen.toml");
    let bindings = cbindgen::Builder::new()
        .with_config(config)
        .with_src(root.join("src/lib.rs"))
        .generate()
        .expect("cbindgen generates the header");
    let mut fresh = Vec::new();
    bindings.write(&mut fresh);
    let fresh = String::from_utf8(fresh).unwrap();
    for name in [
        "qat_asymmetric_per_group_backward",
        "QAT_ERR_POINTER = 1,",
        "QAT_ERR_UNSUPPORTED_ISA = 8,",
        "QAT_ISA_SCALAR = 1,",
        "QAT_ISA_AVX512 = 4,",
        "qat_bf16",
    ] {
        assert!(fresh.contains(name), "generated header lacks {name}");
    }

    let path = root.join("include/qat_kernels.h");
    if std::env::var_os("QAT_BLESS").is_some() {
        std::fs::write(&path, &fresh).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == fresh,
        "include/qat_kernels.h is stale: run `QAT_BLESS=1 cargo test --test header` and commit it"
    );
}
