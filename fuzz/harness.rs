//! What each fuzz target checks, shared by the cargo-fuzz targets (fuzz/fuzz_targets/) and the
//! regression tests that replay the kept inputs (tests/fuzz_regressions.rs), so that a kept
//! input is checked exactly as it was when the fuzzer found it.
//!
//! Every check is: the parser returns a value or an error for any bytes (no panic, no
//! allocation beyond what the bytes justify), and what it accepts is consistent.

// Each fuzz target uses one of the checks.
#![allow(dead_code)]

use gpu_mlp::checkpoint::Checkpoint;
use gpu_mlp::data::{self, idx, Dataset, SplitSizes};
use gpu_mlp::model::Params;
use gpu_mlp::predict::{mnist_style, Gray, SIDE};
use std::io::Cursor;
use std::path::Path;

/// The first byte picks what the rest is read as: an IDX image file, an IDX label file, or
/// (mode 2) a pair of them cut at a position from the next two bytes, then split into
/// train / validation / test with sizes from the next 24 bytes.
pub fn idx(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let path = Path::new("fuzz.idx");
    match mode % 3 {
        0 => match idx::parse_images(reader(rest), path) {
            Ok(im) => assert_eq!(im.pixels.len(), im.count * im.rows * im.cols),
            Err(e) => one_line(&e),
        },
        1 => {
            if let Err(e) = idx::parse_labels(reader(rest), path) {
                one_line(&e);
            }
        }
        _ => {
            if rest.len() < 26 {
                return;
            }
            let (head, files) = rest.split_at(26);
            let cut = (u16::from_be_bytes([head[0], head[1]]) as usize).min(files.len());
            let size = |i: usize| {
                let b: [u8; 8] = head[2 + 8 * i..10 + 8 * i].try_into().unwrap_or([0; 8]);
                u64::from_be_bytes(b) as usize
            };
            let (images, labels) = files.split_at(cut);
            let (Ok(im), Ok(lb)) = (
                idx::parse_images(reader(images), path),
                idx::parse_labels(reader(labels), path),
            ) else {
                return;
            };
            if im.count != lb.len() {
                return;
            }
            let set = Dataset {
                rows: im.rows,
                cols: im.cols,
                images: im.pixels,
                labels: lb,
            };
            let sizes = SplitSizes {
                train: size(0),
                validation: size(1),
                test: Some(size(2)),
            };
            if let Ok(s) = data::split(set.clone(), set.clone(), sizes, path) {
                assert_eq!(s.train.len(), sizes.train);
                assert_eq!(s.validation.len(), sizes.validation);
                assert_eq!(s.train.images.len(), s.train.len() * s.train.pixels());
                assert_eq!(
                    s.validation.images,
                    set.slice(set.len() - sizes.validation, set.len()).images
                );
            }
        }
    }
}

fn reader(bytes: &[u8]) -> Box<dyn std::io::Read> {
    match idx::decompress(Cursor::new(bytes.to_vec())) {
        Ok(r) => r,
        Err(e) => panic!("reading from memory cannot fail: {e}"),
    }
}

/// Any bytes as a checkpoint file: what is accepted has tensors of the shapes its layer sizes
/// imply, and writes back to bytes that read as the same checkpoint.
pub fn checkpoint(data: &[u8]) {
    let path = Path::new("fuzz.safetensors");
    let ck = match Checkpoint::from_bytes(data, path) {
        Ok(ck) => ck,
        Err(e) => return one_line(&e),
    };
    assert_eq!(ck.params.sizes(), ck.network.layers);
    let bytes = match ck.to_bytes() {
        Ok(b) => b,
        Err(e) => panic!("an accepted checkpoint must serialise: {e}"),
    };
    let again = match Checkpoint::from_bytes(&bytes, path) {
        Ok(c) => c,
        Err(e) => panic!("a written checkpoint must read back: {e}"),
    };
    assert_eq!(again.network, ck.network);
    assert_same_bits(&again.params, &ck.params);
    match (&again.optimizer, &ck.optimizer) {
        (Some((k1, s1)), Some((k2, s2))) => {
            assert_eq!((k1, s1.step), (k2, s2.step));
            assert_eq!(s1.slots.len(), s2.slots.len());
            s1.slots
                .iter()
                .zip(&s2.slots)
                .for_each(|(a, b)| assert_same_bits(a, b));
        }
        (None, None) => {}
        _ => panic!("the optimizer state did not survive a write and a read"),
    }
    assert_eq!(again.train, ck.train);
}

/// Any bytes as a picture given to `predict`: decoded (PNG or JPEG) with its size checked
/// against the file first, then made MNIST-style; what comes out is a 28×28 image.
pub fn image(data: &[u8]) {
    let path = Path::new("fuzz.png");
    let gray = match Gray::from_bytes(data, path) {
        Ok(g) => g,
        Err(e) => return one_line(&e),
    };
    assert_eq!(gray.values.len(), gray.width * gray.height);
    assert!(gray.values.iter().all(|v| (0.0..=1.0).contains(v)));
    match mnist_style(&gray, path) {
        Ok(prepared) => assert_eq!(prepared.pixels.len(), SIDE * SIDE),
        Err(e) => one_line(&e),
    }
}

/// The command line prints an error as one line: no message may span more.
fn one_line(e: &gpu_mlp::Error) {
    let m = e.to_string();
    assert!(!m.contains('\n'), "an error message spans lines: {m:?}");
}

fn assert_same_bits(a: &Params, b: &Params) {
    let bits = |p: &Params| -> Vec<u32> {
        p.layers
            .iter()
            .flat_map(|l| l.weight.iter().chain(&l.bias))
            .map(|v| v.to_bits())
            .collect()
    };
    assert_eq!(bits(a), bits(b));
}
