// How the bundled modules are built (by host/build.rs, and by the enrich
// benchmark's edited modules, which must be built the same way): the
// environment the nested `cargo build --release --target wasm32-wasip2` gets.

/// Set `cmd`'s environment for a guest build: a small, fast component (it
/// is compiled at every hot swap), with none of the outer build's settings.
pub fn guest_build_env(cmd: &mut std::process::Command) {
    cmd.env("CARGO_PROFILE_RELEASE_DEBUG", "false")
        .env("CARGO_PROFILE_RELEASE_STRIP", "debuginfo")
        .env("CARGO_PROFILE_RELEASE_LTO", "true")
        .env("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "1")
        .env("CARGO_PROFILE_RELEASE_PANIC", "abort")
        .env("CARGO_PROFILE_RELEASE_INCREMENTAL", "false")
        // 128-bit vectors for the scanner (wasmtime compiles them to SSE/NEON).
        .env(
            "CARGO_TARGET_WASM32_WASIP2_RUSTFLAGS",
            "-C target-feature=+simd128",
        );
    // Settings of the outer build that must not leak into a wasm build.
    for var in [
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_BUILD_TARGET",
        "CARGO_TARGET_DIR",
        "RUSTC_WORKSPACE_WRAPPER",
        "RUSTC_WRAPPER",
    ] {
        cmd.env_remove(var);
    }
}
