//! The inputs the fuzzers found interesting (crashes fixed since, and corner cases they
//! reached), replayed through the very checks the fuzz targets run (fuzz/harness.rs): each
//! must give a value or an error, never a panic or an allocation beyond what its bytes
//! justify. The files are in tests/fuzz_regressions/TARGET/; RELIABILITY.md says what each
//! crash was.

#[path = "../fuzz/harness.rs"]
mod harness;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

/// Runs `check` on every file of tests/fuzz_regressions/`target` and reports all that panic.
fn replay(target: &str, check: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz_regressions")
        .join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no inputs in {}", dir.display());
    let failed: Vec<String> = files
        .iter()
        .filter(|f| {
            let bytes = std::fs::read(f).unwrap();
            catch_unwind(AssertUnwindSafe(|| check(&bytes))).is_err()
        })
        .map(|f| f.display().to_string())
        .collect();
    assert!(
        failed.is_empty(),
        "inputs that fail their check: {failed:#?}"
    );
}

#[test]
fn idx_inputs() {
    replay("idx", harness::idx);
}

#[test]
fn checkpoint_inputs() {
    replay("checkpoint", harness::checkpoint);
}

#[test]
fn image_inputs() {
    replay("image", harness::image);
}

/// A 69-byte PNG whose header claims 65,535×65,535 (or 6,000×6,000) pixels is refused from the
/// header, naming the size, before the decoder allocates for it.
#[test]
fn pictures_claiming_more_pixels_than_their_bytes_are_refused() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_regressions/image");
    for (name, size) in [
        ("huge-claim-65535x65535.png", "65535x65535"),
        ("claim-6000x6000-in-69-bytes.png", "6000x6000"),
    ] {
        let bytes = std::fs::read(dir.join(name)).unwrap();
        let e = gpu_mlp::predict::Gray::from_bytes(&bytes, Path::new(name))
            .err()
            .unwrap_or_else(|| panic!("{name} was accepted"));
        let m = e.to_string();
        assert!(m.contains(size) && m.contains("scale it down"), "{m}");
    }
}

/// Checkpoints whose configuration holds a number beyond f32 (1e300 reads as ∞ and would be
/// written back as null, breaking the next save) are refused when read.
#[test]
fn checkpoints_with_numbers_beyond_f32_are_refused() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_regressions/checkpoint");
    for name in ["train-config-eta-1e300", "progress-eta-1e300"] {
        let bytes = std::fs::read(dir.join(name)).unwrap();
        let e = gpu_mlp::checkpoint::Checkpoint::from_bytes(&bytes, Path::new(name))
            .err()
            .unwrap_or_else(|| panic!("{name} was accepted"));
        assert!(e.to_string().contains("not a finite f32"), "{e}");
    }
}
