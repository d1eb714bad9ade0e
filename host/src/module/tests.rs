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
