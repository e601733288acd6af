//! The IDX reader accepts the shipped files and refuses every malformed one with a message
//! that names the problem, without allocating what a header merely claims.

use gpu_mlp::data::idx::{parse_images, parse_labels, read_images, read_labels};
use gpu_mlp::data::{self, Source, SplitSizes};
use std::io::Write;
use std::path::Path;

fn header(magic: u32, dims: &[u32]) -> Vec<u8> {
    let mut v = magic.to_be_bytes().to_vec();
    for d in dims {
        v.extend_from_slice(&d.to_be_bytes());
    }
    v
}

fn err_images(bytes: &[u8]) -> String {
    parse_images(bytes, Path::new("x.idx"))
        .unwrap_err()
        .to_string()
}

#[test]
fn shipped_mnist_reads_with_the_canonical_counts() {
    let dir = Source::Mnist.dir();
    let train = read_images(&dir.join("train-images-idx3-ubyte.gz")).unwrap();
    assert_eq!((train.count, train.rows, train.cols), (60_000, 28, 28));
    assert_eq!(train.pixels.len(), 60_000 * 784);
    let labels = read_labels(&dir.join("t10k-labels-idx1-ubyte.gz")).unwrap();
    assert_eq!(labels.len(), 10_000);
    // The first test digit of MNIST is a 7, the first training digit a 5.
    assert_eq!(labels[0], 7);
    assert_eq!(
        read_labels(&dir.join("train-labels-idx1-ubyte.gz")).unwrap()[0],
        5
    );
    // Pixel mean of the training set after /255 is 0.1307 (shared/data/README.md).
    let mean =
        train.pixels.iter().map(|&p| p as f64).sum::<f64>() / train.pixels.len() as f64 / 255.0;
    assert!((mean - 0.1307).abs() < 1e-4, "mean {mean}");
}

#[test]
fn textbook_split_is_50000_10000_10000() {
    let s = data::load(&Source::Mnist, SplitSizes::default()).unwrap();
    assert_eq!(
        (s.train.len(), s.validation.len(), s.test.len(), s.classes),
        (50_000, 10_000, 10_000, 10)
    );
    assert_eq!(s.inputs(), 784);
    // Validation is the last 10,000 of the training file, so it starts at image 50,000.
    let full = read_images(&Source::Mnist.dir().join("train-images-idx3-ubyte.gz")).unwrap();
    assert_eq!(
        s.validation.image(0),
        &full.pixels[50_000 * 784..50_001 * 784]
    );
}

#[test]
fn raw_and_gzip_files_read_the_same() {
    let mut bytes = header(0x803, &[2, 2, 3]);
    bytes.extend(1..=12u8);
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("a");
    std::fs::write(&raw, &bytes).unwrap();
    let gz = dir.path().join("b.gz");
    let mut enc = flate2::write::GzEncoder::new(
        std::fs::File::create(&gz).unwrap(),
        flate2::Compression::default(),
    );
    enc.write_all(&bytes).unwrap();
    enc.finish().unwrap();
    let a = read_images(&raw).unwrap();
    assert_eq!(a, read_images(&gz).unwrap());
    assert_eq!((a.count, a.rows, a.cols), (2, 2, 3));
    assert_eq!(a.pixels, (1..=12).collect::<Vec<u8>>());
}

#[test]
fn wrong_magic_is_refused() {
    let mut bytes = header(0x801, &[1, 1, 1]);
    bytes.push(0);
    let e = err_images(&bytes);
    assert!(
        e.contains("magic number is 0x00000801, expected 0x00000803"),
        "{e}"
    );
    let e = parse_labels(&header(0x803, &[0])[..], Path::new("l"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("expected 0x00000801"), "{e}");
}

#[test]
fn truncated_header_and_payload_are_refused() {
    let e = err_images(&header(0x803, &[5])[..]);
    assert!(e.contains("ends inside the IDX header"), "{e}");
    let mut bytes = header(0x803, &[2, 2, 2]);
    bytes.extend([0u8; 5]);
    let e = err_images(&bytes);
    assert!(
        e.contains("truncated") && e.contains("8 bytes") && e.contains("only 5"),
        "{e}"
    );
}

#[test]
fn trailing_bytes_are_refused() {
    let mut bytes = header(0x801, &[2]);
    bytes.extend([1, 2, 3]);
    let e = parse_labels(&bytes[..], Path::new("l"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("more data after them"), "{e}");
}

#[test]
fn absurd_dimensions_are_an_error_not_an_allocation() {
    // 2³²−1 images of 65,535×65,535 pixels: 1.8e19 bytes claimed by a 16-byte header.
    let e = err_images(&header(0x803, &[u32::MAX, 65_535, 65_535]));
    assert!(e.contains("more than the 16 GiB"), "{e}");
    // A claim within the cap but far beyond the data is refused as truncated after reading
    // only what exists (the buffer grows with the data, not with the claim).
    let e = err_images(&header(0x803, &[1_000_000, 100, 100]));
    assert!(e.contains("truncated"), "{e}");
    let e = err_images(&header(0x803, &[3, 0, 28]));
    assert!(e.contains("at least 1"), "{e}");
}

#[test]
fn image_and_label_counts_must_agree() {
    let dir = tempfile::tempdir().unwrap();
    let mut im = header(0x803, &[3, 1, 1]);
    im.extend([0, 1, 2]);
    let mut lb = header(0x801, &[2]);
    lb.extend([0, 1]);
    std::fs::write(dir.path().join("im"), im).unwrap();
    std::fs::write(dir.path().join("lb"), lb).unwrap();
    let e = data::load_pair(&dir.path().join("im"), &dir.path().join("lb"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("2 labels") && e.contains("3 images"), "{e}");
}

#[test]
fn missing_files_name_what_was_looked_for() {
    let dir = tempfile::tempdir().unwrap();
    let e = data::load(
        &Source::Dir(dir.path().to_path_buf()),
        SplitSizes::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("train-images-idx3-ubyte"), "{e}");
}

#[test]
fn split_sizes_beyond_the_file_are_refused() {
    let sizes = SplitSizes {
        train: 55_000,
        validation: 10_000,
        test: None,
    };
    let e = data::load(&Source::Mnist, sizes).unwrap_err().to_string();
    assert!(
        e.contains("--train-size 55000 plus --validation-size 10000"),
        "{e}"
    );
}
