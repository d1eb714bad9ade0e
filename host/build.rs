//! Builds the bundled enrichment modules (`enricher-wasm`, the default CSE
//! one, and `enricher-ecs-wasm`) for `wasm32-wasip2` in one cargo run, so
//! their shared crate compiles once, and hands their paths to the crate,
//! which embeds them.
//!
//! The nested cargo uses its own target folder so it never waits on the
//! lock of the build that runs this script.

use std::path::{Path, PathBuf};
use std::process::Command;

const TARGET: &str = "wasm32-wasip2";

include!("guest_profile.rs");

fn main() {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let root = manifest_dir.parent().unwrap().to_path_buf();
    for path in [
        "enricher-core/src",
        "enricher-core/Cargo.toml",
        "enricher-wasm/src",
        "enricher-wasm/Cargo.toml",
        "enricher-ecs-wasm/src",
        "enricher-ecs-wasm/Cargo.toml",
        "wit",
        "Cargo.lock",
        "host/guest_profile.rs",
    ] {
        println!("cargo:rerun-if-changed={}", root.join(path).display());
    }
    ensure_target();
    let target_dir = root.join("target").join("wasm-guests");
    for (env, wasm) in build_guests(&root, GUESTS, &target_dir) {
        println!("cargo:rustc-env={env}={}", wasm.display());
    }
}

/// (package, the variable its component's path goes to).
const GUESTS: &[(&str, &str)] = &[
    ("taxiway-enricher", "TAXIWAY_MODULE_CSE"),
    ("taxiway-enricher-ecs", "TAXIWAY_MODULE_ECS"),
];

/// A fresh machine has the toolchain but maybe not the wasm target, and
/// `RUSTUP_AUTO_INSTALL=0` stops rust-toolchain.toml from fetching it.
fn ensure_target() {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let sysroot = Command::new(&rustc)
        .args(["--print", "sysroot"])
        .output()
        .ok()
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    let installed = sysroot.is_some_and(|s| s.join("lib/rustlib").join(TARGET).exists());
    if installed {
        return;
    }
    println!(
        "cargo:warning=installing the {TARGET} target with rustup (needed to build the bundled modules)"
    );
    let status = Command::new("rustup")
        .args(["target", "add", TARGET])
        .status();
    if !status.is_ok_and(|s| s.success()) {
        panic!(
            "the {TARGET} target is missing and `rustup target add {TARGET}` failed; run it by hand"
        );
    }
}

fn build_guests(
    root: &Path,
    guests: &[(&'static str, &'static str)],
    target_dir: &Path,
) -> Vec<(&'static str, PathBuf)> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(root)
        .args(["build", "--release", "--locked", "--target", TARGET]);
    for (package, _) in guests {
        cmd.args(["-p", package]);
    }
    cmd.arg("--target-dir").arg(target_dir);
    guest_build_env(&mut cmd);
    let status = cmd.status().expect("running cargo for the wasm guests");
    assert!(status.success(), "building the bundled components failed");
    guests
        .iter()
        .map(|(package, env)| {
            let file = package.replace('-', "_");
            let wasm = target_dir
                .join(TARGET)
                .join("release")
                .join(format!("{file}.wasm"));
            (*env, wasm)
        })
        .collect()
}
