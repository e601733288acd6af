//! `expand-data`: each training image followed by its four one-pixel shifts, the validation
//! images unchanged after them, the test set copied; and `train --data-dir` reads the result.

use gpu_mlp::data::expand::{expanded_len, shift};
use gpu_mlp::data::idx;
use std::path::Path;
use std::process::Command;

fn write_idx(dir: &Path, stem: &str, dims: &[u32], data: &[u8]) {
    let magic: u32 = 0x800 | dims.len() as u32;
    let mut bytes = magic.to_be_bytes().to_vec();
    dims.iter().for_each(|d| bytes.extend(d.to_be_bytes()));
    bytes.extend(data);
    std::fs::write(dir.join(stem), bytes).unwrap();
}

#[test]
fn shifts_move_by_one_pixel_and_blank_the_edge() {
    let image = [1, 2, 3, 4, 5, 6]; // 2 rows × 3 columns
    let mut out = [0u8; 6];
    let cases: [((isize, isize), [u8; 6]); 4] = [
        ((-1, 0), [4, 5, 6, 0, 0, 0]),
        ((1, 0), [0, 0, 0, 1, 2, 3]),
        ((0, -1), [2, 3, 0, 5, 6, 0]),
        ((0, 1), [0, 1, 2, 0, 4, 5]),
    ];
    for (s, want) in cases {
        shift(&image, 2, 3, s, &mut out);
        assert_eq!(out, want, "shift {s:?}");
    }
}

#[test]
fn expand_data_writes_five_images_per_training_image() {
    let src = tempfile::tempdir().unwrap();
    // 4 training images of 2×2 (the last 1 validates), labels 0..3; 2 test images.
    let train: Vec<u8> = (1..=16).collect();
    write_idx(src.path(), "train-images-idx3-ubyte", &[4, 2, 2], &train);
    write_idx(src.path(), "train-labels-idx1-ubyte", &[4], &[0, 1, 2, 3]);
    write_idx(src.path(), "t10k-images-idx3-ubyte", &[2, 2, 2], &[9; 8]);
    write_idx(src.path(), "t10k-labels-idx1-ubyte", &[2], &[1, 2]);
    let out = tempfile::tempdir().unwrap();
    let run = Command::new(env!("CARGO_BIN_EXE_gpu-mlp"))
        .args(["expand-data", "--validation-size", "1", "--data-dir"])
        .arg(src.path())
        .arg("--out")
        .arg(out.path())
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );

    let images = idx::read_images(&out.path().join("train-images-idx3-ubyte")).unwrap();
    let labels = idx::read_labels(&out.path().join("train-labels-idx1-ubyte")).unwrap();
    assert_eq!(images.count, expanded_len(4, 1));
    assert_eq!(images.count, 16);
    assert_eq!(labels, [0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 3]);
    // Image 0 = [1 2; 3 4], then up, down, left, right.
    assert_eq!(
        &images.pixels[..20],
        &[1, 2, 3, 4, 3, 4, 0, 0, 0, 0, 1, 2, 2, 0, 4, 0, 0, 1, 0, 3]
    );
    // The validation image comes last, unchanged.
    assert_eq!(&images.pixels[60..], &[13, 14, 15, 16]);
    for stem in ["t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"] {
        assert_eq!(
            std::fs::read(out.path().join(stem)).unwrap(),
            std::fs::read(src.path().join(stem)).unwrap()
        );
    }
}
