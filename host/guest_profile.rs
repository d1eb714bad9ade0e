// How the bundled modules are built (by host/build.rs, and by the enrich
// benchmark's edited modules, which must be built the same way): the
// environment the nested `cargo build --release --target wasm32-wasip2` gets.
// A small, fast component: it is compiled at every hot swap.
pub const GUEST_PROFILE_ENV: &[(&str, &str)] = &[
    ("CARGO_PROFILE_RELEASE_DEBUG", "false"),
    ("CARGO_PROFILE_RELEASE_STRIP", "debuginfo"),
    ("CARGO_PROFILE_RELEASE_LTO", "true"),
    ("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "1"),
    ("CARGO_PROFILE_RELEASE_PANIC", "abort"),
    ("CARGO_PROFILE_RELEASE_INCREMENTAL", "false"),
    // 128-bit vectors for the scanner (wasmtime compiles them to SSE/NEON).
    (
        "CARGO_TARGET_WASM32_WASIP2_RUSTFLAGS",
        "-C target-feature=+simd128",
    ),
];
