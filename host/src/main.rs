fn main() {
    let _e = wasmtime::Engine::default();
}
