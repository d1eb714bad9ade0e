use super::*;
use crate::limits::Limits;
use crate::registry::DEFAULT_MODULE;

fn cached_files(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "cwasm"))
        .collect()
}

#[test]
fn compiled_modules_are_cached_and_a_bad_cache_file_is_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::new(dir.path());
    let runtime = Runtime::new(Limits::default()).unwrap();
    let first = load(&runtime, DEFAULT_MODULE, "built-in", "{}", Some(&cache)).unwrap();
    let files = cached_files(dir.path());
    assert_eq!(files.len(), 1, "one compiled artifact");
    assert!(
        files[0]
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with(&first.info.digest)
    );
    let written = std::fs::metadata(&files[0]).unwrap().modified().unwrap();

    // A second load finds the artifact and does not write it again.
    let second = load(&runtime, DEFAULT_MODULE, "built-in", "{}", Some(&cache)).unwrap();
    assert_eq!(second.info.digest, first.info.digest);
    assert_eq!(
        std::fs::metadata(&files[0]).unwrap().modified().unwrap(),
        written
    );

    // A damaged artifact is not trusted: the module compiles again and the
    // cache is repaired.
    std::fs::write(&files[0], b"not a compiled module").unwrap();
    let third = load(&runtime, DEFAULT_MODULE, "built-in", "{}", Some(&cache)).unwrap();
    assert_eq!(third.info.name, "cse");
    assert!(std::fs::metadata(&files[0]).unwrap().len() > 1000);
}

#[test]
fn a_module_sharing_code_with_an_earlier_one_compiles_only_what_is_new() {
    let runtime = Runtime::new(Limits::default()).unwrap();
    let cse = load(&runtime, DEFAULT_MODULE, "built-in", "{}", None).unwrap();
    assert_eq!(cse.info.name, "cse");
    let after_cse = runtime.function_cache().stats();
    assert!(after_cse.entries > 100, "{after_cse:?}");

    // The ECS module shares the standard library, the allocator and
    // enricher-core with the CSE one: most of its functions come from the
    // cache, and it works.
    let ecs = load(
        &runtime,
        crate::registry::ECS_MODULE,
        "built-in",
        "{}",
        None,
    )
    .unwrap();
    assert_eq!(ecs.info.name, "ecs");
    let after_ecs = runtime.function_cache().stats();
    let (hits, misses) = (
        after_ecs.hits - after_cse.hits,
        after_ecs.misses - after_cse.misses,
    );
    assert!(hits > misses, "hits {hits}, misses {misses}");

    // Emptied, the same module compiles every function again.
    runtime.function_cache().clear();
    load(&runtime, crate::registry::ECS_MODULE, "again", "{}", None).unwrap();
    let again = runtime.function_cache().stats();
    assert!(again.misses - after_ecs.misses > misses, "{again:?}");
}
