//! Data sets: IDX reading, the train / validation / test split, batching order.

pub mod expand;
pub mod idx;
pub mod record;

use crate::error::{Error, Result};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::path::{Path, PathBuf};

/// Labelled images, u8 pixels row-major, one image after another.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dataset {
    pub rows: usize,
    pub cols: usize,
    pub images: Vec<u8>,
    pub labels: Vec<u8>,
}

impl Dataset {
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Pixels per image (the network's input width).
    pub fn pixels(&self) -> usize {
        self.rows * self.cols
    }

    pub fn image(&self, i: usize) -> &[u8] {
        let p = self.pixels();
        &self.images[i * p..(i + 1) * p]
    }

    /// Keeps the first `n` images (all of them if there are fewer) and returns the memory of
    /// the rest.
    pub fn truncate(&mut self, n: usize) {
        let n = n.min(self.len());
        self.images.truncate(n * self.pixels());
        self.images.shrink_to_fit();
        self.labels.truncate(n);
        self.labels.shrink_to_fit();
    }

    /// Images `start..end` as a data set of their own.
    pub fn slice(&self, start: usize, end: usize) -> Dataset {
        let p = self.pixels();
        Dataset {
            rows: self.rows,
            cols: self.cols,
            images: self.images[start * p..end * p].to_vec(),
            labels: self.labels[start..end].to_vec(),
        }
    }
}

/// The three sets a run uses.
#[derive(Clone, Debug)]
pub struct Splits {
    pub train: Dataset,
    pub validation: Dataset,
    pub test: Dataset,
    /// Number of classes (largest label in the files + 1).
    pub classes: usize,
}

impl Splits {
    pub fn get(&self, split: crate::backend::Split) -> &Dataset {
        match split {
            crate::backend::Split::Train => &self.train,
            crate::backend::Split::Validation => &self.validation,
            crate::backend::Split::Test => &self.test,
        }
    }

    pub fn inputs(&self) -> usize {
        self.train.pixels()
    }
}

/// Frees the pixels of all three sets when nothing else holds `splits`: a GPU backend keeps
/// its own copy on the device, and the host's would double the memory a large set takes.
/// Labels, sizes and shapes stay; the images must not be read afterwards. A no-op when the
/// splits are shared (the CPU backend reads the host's images).
pub fn release_unshared_images(splits: &mut std::sync::Arc<Splits>) {
    if let Some(s) = std::sync::Arc::get_mut(splits) {
        for set in [&mut s.train, &mut s.validation, &mut s.test] {
            set.images = Vec::new();
        }
    }
}

/// Where a data set's four IDX files live.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// MNIST shipped in the repository's data/mnist.
    Mnist,
    /// Fashion-MNIST from Debian's `dataset-fashion-mnist`.
    FashionMnist,
    /// Any directory holding the four standard file names.
    Dir(PathBuf),
}

/// Where Debian's `dataset-fashion-mnist` installs its files.
pub const FASHION_MNIST_DIR: &str = "/usr/share/datasets/fashion-mnist";

impl Source {
    /// The directory to read. MNIST is looked up relative to the working directory first, then
    /// next to the crate's sources (so the binary works from anywhere inside a checkout).
    pub fn dir(&self) -> PathBuf {
        match self {
            Source::Mnist => {
                let local = PathBuf::from("data/mnist");
                if local.is_dir() {
                    local
                } else {
                    Path::new(env!("CARGO_MANIFEST_DIR")).join("data/mnist")
                }
            }
            Source::FashionMnist => PathBuf::from(FASHION_MNIST_DIR),
            Source::Dir(d) => d.clone(),
        }
    }
}

/// How many images each split takes. The textbook split: the first 50,000 training images
/// train, the last 10,000 validate, and the 10,000 of t10k test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SplitSizes {
    pub train: usize,
    pub validation: usize,
    /// `None`: the whole test file.
    pub test: Option<usize>,
}

impl Default for SplitSizes {
    fn default() -> Self {
        SplitSizes {
            train: 50_000,
            validation: 10_000,
            test: None,
        }
    }
}

/// Finds `stem` or `stem.gz` in `dir`.
fn find(dir: &Path, stem: &str) -> Result<PathBuf> {
    for name in [format!("{stem}.gz"), stem.to_string()] {
        let p = dir.join(&name);
        if p.is_file() {
            return Ok(p);
        }
    }
    let hint = if dir == Path::new(FASHION_MNIST_DIR) {
        " (install it with `apt-get install -y dataset-fashion-mnist`)"
    } else {
        ""
    };
    Err(Error::io(
        dir.join(format!("{stem}.gz")),
        std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!(
                "neither {stem}.gz nor {stem} found in {}{hint}",
                dir.display()
            ),
        ),
    ))
}

/// Reads one images+labels pair and checks that they agree.
pub fn load_pair(images: &Path, labels: &Path) -> Result<Dataset> {
    let im = idx::read_images(images)?;
    let lb = idx::read_labels(labels)?;
    if im.count != lb.len() {
        return Err(Error::bad_data(
            labels,
            format!(
                "{} labels, but {} holds {} images; the two files must have the same count",
                lb.len(),
                images.display(),
                im.count
            ),
        ));
    }
    Ok(Dataset {
        rows: im.rows,
        cols: im.cols,
        images: im.pixels,
        labels: lb,
    })
}

/// Loads a data set's four files and splits them.
pub fn load(source: &Source, sizes: SplitSizes) -> Result<Splits> {
    let (full, test, origin) = read_four(source)?;
    split(full, test, sizes, &origin)
}

/// Loads a data set's four files and splits them, with the record of what they are (their
/// checksums, and the name where they are a known data set): what a checkpoint stores.
pub fn load_recorded(source: &Source, sizes: SplitSizes) -> Result<(Splits, record::DataRecord)> {
    let (full, test, origin) = read_four(source)?;
    let record = record::DataRecord::of(&full, &test, &source.dir());
    Ok((split(full, test, sizes, &origin)?, record))
}

/// The full training pair, the test pair and the training images' path (for messages).
fn read_four(source: &Source) -> Result<(Dataset, Dataset, PathBuf)> {
    let dir = source.dir();
    let train_images = find(&dir, "train-images-idx3-ubyte")?;
    let train_labels = find(&dir, "train-labels-idx1-ubyte")?;
    let test_images = find(&dir, "t10k-images-idx3-ubyte")?;
    let test_labels = find(&dir, "t10k-labels-idx1-ubyte")?;
    let full = load_pair(&train_images, &train_labels)?;
    let test = load_pair(&test_images, &test_labels)?;
    if (full.rows, full.cols) != (test.rows, test.cols) {
        return Err(Error::bad_data(
            &test_images,
            format!(
                "images are {}x{} but the training images are {}x{}",
                test.rows, test.cols, full.rows, full.cols
            ),
        ));
    }
    Ok((full, test, train_images))
}

/// Splits a full training file into train and validation, and trims the test set.
pub fn split(full: Dataset, test: Dataset, sizes: SplitSizes, origin: &Path) -> Result<Splits> {
    let n = full.len();
    if sizes.train == 0 {
        return Err(Error::config("--train-size must be at least 1"));
    }
    if sizes
        .train
        .checked_add(sizes.validation)
        .is_none_or(|total| total > n)
    {
        return Err(Error::config(format!(
            "--train-size {} plus --validation-size {} is more than the {n} images in {}",
            sizes.train,
            sizes.validation,
            origin.display()
        )));
    }
    if sizes.train > u32::MAX as usize {
        return Err(Error::config(format!(
            "--train-size must be at most {} (samples are indexed by 32 bits), found {}",
            u32::MAX,
            sizes.train
        )));
    }
    let test_len = sizes.test.unwrap_or(test.len());
    if test_len > test.len() {
        return Err(Error::config(format!(
            "--test-size {test_len} is more than the {} test images",
            test.len()
        )));
    }
    let classes = full
        .labels
        .iter()
        .chain(test.labels.iter())
        .copied()
        .max()
        .map_or(0, |m| m as usize + 1);
    // The validation images are copied out of the tail; the training images stay where they
    // were read, so memory holds the data set once, not twice.
    let validation = full.slice(n - sizes.validation, n);
    let mut train = full;
    train.truncate(sizes.train);
    Ok(Splits {
        train,
        validation,
        test: {
            let mut test = test;
            test.truncate(test_len);
            test
        },
        classes,
    })
}

/// The order in which epoch `epoch` visits the `n` training samples: a Fisher–Yates shuffle
/// from a ChaCha8 stream keyed by (seed, epoch), so that any epoch's order can be rebuilt
/// from the seed alone (a resumed run visits exactly what an uninterrupted one would).
pub fn epoch_order(n: usize, seed: u64, epoch: usize) -> Vec<u32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(epoch as u64 + 1);
    let mut order: Vec<u32> = (0..n as u32).collect();
    order.shuffle(&mut rng);
    order
}
