//! Link settings that keep less of the extension resident in each Python
//! process that imports it:
//!
//! - packed relative relocations (`DT_RELR`) where the C library that will
//!   load it understands them (glibc 2.36 and later): its table of
//!   load-time relocations shrinks from about 140 KB to a few KB, which
//!   the dynamic loader would otherwise read, and keep resident;
//! - the functions that run (`hot-functions.txt`, made by
//!   `scripts/python-hot-functions.sh`) placed together at the start of
//!   the code, where the linker is LLD (`--symbol-ordering-file`; Rust's
//!   default linker on x86-64 Linux since 1.90): the kernel maps code
//!   64 KiB around each page that runs, so code that runs spread over the
//!   library keeps most of it resident (about 0.8 MB more, measured in
//!   benches/README.md, section 5). A name the linker does not find is
//!   skipped: a stale list costs memory, never correctness.

use std::env;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let var = |name: &str| env::var(name).unwrap_or_default();
    let native = var("HOST") == var("TARGET");
    if native
        && var("CARGO_CFG_TARGET_OS") == "linux"
        && var("CARGO_CFG_TARGET_ENV") == "gnu"
        && glibc_version().is_some_and(|v| v >= (2, 36))
    {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-z,pack-relative-relocs");
    }
    if default_lld(&var) {
        let order = format!("{}/hot-functions.txt", var("CARGO_MANIFEST_DIR"));
        println!("cargo:rerun-if-changed={order}");
        println!("cargo:rustc-cdylib-link-arg=-Wl,--symbol-ordering-file={order}");
        println!("cargo:rustc-cdylib-link-arg=-Wl,--no-warn-symbol-ordering");
    }
}

/// True when the extension is linked by rustc's own LLD: the target is
/// x86-64 Linux (GNU), rustc is 1.90 or later, and neither a linker nor
/// linker flags were chosen in Cargo's configuration or `RUSTFLAGS`.
fn default_lld(var: &dyn Fn(&str) -> String) -> bool {
    let flags = var("CARGO_ENCODED_RUSTFLAGS");
    var("TARGET") == "x86_64-unknown-linux-gnu"
        && var("RUSTC_LINKER").is_empty()
        && !flags.contains("linker")
        && !flags.contains("fuse-ld")
        && rustc_minor(&var("RUSTC")).is_some_and(|minor| minor >= 90)
}

/// The minor version of the compiler (`rustc 1.95.0 (...)` gives 95).
fn rustc_minor(rustc: &str) -> Option<u32> {
    let rustc = if rustc.is_empty() { "rustc" } else { rustc };
    let out = Command::new(rustc).arg("--version").output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    text.split_whitespace()
        .nth(1)?
        .split('.')
        .nth(1)?
        .parse()
        .ok()
}

/// The running glibc's version, from `getconf GNU_LIBC_VERSION`
/// ("glibc 2.36").
fn glibc_version() -> Option<(u32, u32)> {
    let out = Command::new("getconf")
        .arg("GNU_LIBC_VERSION")
        .output()
        .ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    let version = text.trim().strip_prefix("glibc ")?;
    let mut parts = version.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts
        .next()?
        .trim_end_matches(|c: char| !c.is_ascii_digit())
        .parse()
        .ok()?;
    Some((major, minor))
}
