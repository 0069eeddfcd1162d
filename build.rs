//! Gives the shared library a soname on ELF platforms, so that C programs
//! link against `libqat_kernels.so.0` and a later compatible release can
//! replace it.
fn main() {
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if matches!(
        os.as_str(),
        "linux" | "android" | "freebsd" | "netbsd" | "openbsd"
    ) {
        let major = env!("CARGO_PKG_VERSION_MAJOR");
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libqat_kernels.so.{major}");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
