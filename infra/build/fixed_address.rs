//! Build script shared by every Lambda function (and the cold-start baseline): links
//! the bootstrap as a fixed-address executable instead of a position-independent one.
//!
//! Why: a position-independent Rust binary of this size carries ~40,000 relative
//! relocations, and the dynamic loader rewrites every one at start-up, copying each
//! page of `.data.rel.ro` it touches. That was the largest single item of a
//! function's init (see BENCHMARKS.md). Linked at a fixed address, the linker settles
//! them once at build time. The code itself is still compiled position-independent;
//! only the executable's own load address stops being randomised (shared libraries,
//! stack and heap still are), a trade that suits a single-tenant Lambda sandbox.

fn main() {
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
    // The script's own source is tracked by Cargo; nothing else feeds it.
    println!("cargo:rerun-if-changed=Cargo.toml");
}
