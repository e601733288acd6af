//! What a model was trained on: the data set's name where it is a known one (MNIST,
//! Fashion-MNIST), else the directory it came from, and always each of the four files'
//! SHA-256 and the input shape. Checkpoints carry it (metadata `data`), so that `eval`,
//! `predict` and `train --resume` default to the model's own data and refuse other data.
//!
//! The checksums are of the files' IDX content (after gunzip where the file is compressed),
//! computed from what was parsed: the IDX header (magic number and dimensions, big-endian u32s)
//! followed by the payload, which the reader checks is all there is. So `foo.gz`, a
//! recompressed copy and the raw file of one content have one checksum, the one
//! `zcat FILE | sha256sum` prints.

use super::Dataset;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// The four files, in the order they are listed.
pub const FILES: [&str; 4] = [
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
];

/// The known data sets and the SHA-256 of their four files' content, in [`FILES`] order
/// (MNIST as shipped in data/mnist and published by LeCun et al.; Fashion-MNIST as published by
/// Zalando and shipped by Debian's `dataset-fashion-mnist`). Their MD5s are the catalogue's
/// `content_md5` (src/download/catalogue.rs); a test holds the two tables together.
pub const KNOWN: [(&str, [&str; 4]); 2] = [
    (
        "mnist",
        [
            "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
            "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
            "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
            "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
        ],
    ),
    (
        "fashion-mnist",
        [
            "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
            "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
            "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
            "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
        ],
    ),
];

/// A data set's identity, as a checkpoint records it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataRecord {
    /// `mnist` or `fashion-mnist` when the four files are that data set's, else absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The directory the files were read from (absolute where it could be made so), for a data
    /// set without a name: where `eval` and `--resume` look for it by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dir: Option<String>,
    /// File stem (as in [`FILES`]) → SHA-256 of its IDX content, in hex.
    pub sha256: BTreeMap<String, String>,
    /// Image rows and columns (the input width is their product).
    pub rows: usize,
    pub cols: usize,
}

/// How the data at hand relates to a recorded data set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Relation {
    /// All four files are the recorded ones.
    Same,
    /// Some files are the recorded ones, others not (an expanded or trimmed training set
    /// beside the same test set, say).
    Overlapping,
    /// No file is one of the recorded ones.
    Different,
}

fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// SHA-256 of an IDX file's content: the header words (big-endian) and the payload.
fn idx_sha256(header: &[u32], payload: &[u8]) -> String {
    let mut h = Sha256::new();
    for word in header {
        h.update(word.to_be_bytes());
    }
    h.update(payload);
    hex(&h.finalize())
}

/// The SHA-256 of the images file and the labels file that held `set` (before any split).
pub fn pair_sha256(set: &Dataset) -> (String, String) {
    let n = set.len() as u32;
    let images = idx_sha256(
        &[0x0000_0803, n, set.rows as u32, set.cols as u32],
        &set.images,
    );
    let labels = idx_sha256(&[0x0000_0801, n], &set.labels);
    (images, labels)
}

impl DataRecord {
    /// The record of the training file pair `train` and the test pair `test`, as read from
    /// `dir`. The name is set where the checksums are a known data set's.
    pub fn of(train: &Dataset, test: &Dataset, dir: &std::path::Path) -> DataRecord {
        let (ti, tl) = pair_sha256(train);
        let (ei, el) = pair_sha256(test);
        let sums = [ti, tl, ei, el];
        let name = KNOWN
            .iter()
            .find(|(_, known)| known.iter().zip(&sums).all(|(k, s)| *k == s))
            .map(|(name, _)| name.to_string());
        let dir = match name {
            Some(_) => None,
            None => Some(
                std::fs::canonicalize(dir)
                    .unwrap_or_else(|_| dir.to_path_buf())
                    .display()
                    .to_string(),
            ),
        };
        DataRecord {
            name,
            dir,
            sha256: FILES
                .iter()
                .map(|f| f.to_string())
                .zip(sums.iter().cloned())
                .collect(),
            rows: train.rows,
            cols: train.cols,
        }
    }

    /// How `other` (the data at hand) relates to this record, by the four checksums.
    pub fn relation(&self, other: &DataRecord) -> Relation {
        let same = FILES
            .iter()
            .filter(|f| {
                let a = self.sha256.get(**f);
                a.is_some() && a == other.sha256.get(**f)
            })
            .count();
        match same {
            4 => Relation::Same,
            0 => Relation::Different,
            _ => Relation::Overlapping,
        }
    }

    /// The data set in a few words: its name, or "the data in DIR (train-images sha256
    /// 1234abcd…)", and the image shape.
    pub fn describe(&self) -> String {
        format!("{}, {}x{} images", self.label(), self.rows, self.cols)
    }

    /// The name, or "the data in DIR (train-images sha256 1234abcd…)".
    pub fn label(&self) -> String {
        let short = |f: &str| {
            self.sha256
                .get(f)
                .map_or("?".to_string(), |s| s.chars().take(12).collect())
        };
        match (&self.name, &self.dir) {
            (Some(name), _) => name.clone(),
            (None, Some(dir)) => format!(
                "the data in {dir} (train-images sha256 {}…)",
                short(FILES[0])
            ),
            (None, None) => format!("unnamed data (train-images sha256 {}…)", short(FILES[0])),
        }
    }

    /// The flags that select this data set: `--dataset NAME` or `--data-dir DIR`.
    pub fn flags(&self) -> String {
        match (&self.name, &self.dir) {
            (Some(name), _) => format!("--dataset {name}"),
            (None, Some(dir)) => format!("--data-dir {dir}"),
            (None, None) => "--data-dir (the directory it was trained on)".to_string(),
        }
    }

    /// Where to read this data set when no data flag is given: the known set by name, else
    /// the recorded directory.
    pub fn source(&self) -> Option<super::Source> {
        match (self.name.as_deref(), &self.dir) {
            (Some("mnist"), _) => Some(super::Source::Mnist),
            (Some("fashion-mnist"), _) => Some(super::Source::FashionMnist),
            (_, Some(dir)) => Some(super::Source::Dir(dir.into())),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny(seed: u8) -> Dataset {
        Dataset {
            rows: 2,
            cols: 3,
            images: (0..12).map(|i| i * seed).collect(),
            labels: vec![seed, 1],
        }
    }

    /// The checksum is of the IDX bytes as `sha256sum` sees them: header words big-endian,
    /// then the payload (computed here by hand from the file's bytes).
    #[test]
    fn checksum_is_the_idx_content_sha256() {
        let set = tiny(3);
        let mut file = vec![0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 3];
        file.extend_from_slice(&set.images);
        assert_eq!(pair_sha256(&set).0, hex(&Sha256::digest(&file)));
        let mut labels = vec![0, 0, 8, 1, 0, 0, 0, 2];
        labels.extend_from_slice(&set.labels);
        assert_eq!(pair_sha256(&set).1, hex(&Sha256::digest(&labels)));
    }

    /// Four shared files are the same data, some an overlap, none a different data set; an
    /// unknown set is named by its directory.
    #[test]
    fn relations_by_checksum() {
        let dir = std::path::Path::new("/nonexistent/x");
        let a = DataRecord::of(&tiny(1), &tiny(2), dir);
        let b = DataRecord::of(&tiny(3), &tiny(4), dir);
        let mix = DataRecord::of(&tiny(5), &tiny(2), dir);
        assert_eq!(a.relation(&a.clone()), Relation::Same);
        assert_eq!(a.relation(&b), Relation::Different);
        assert_eq!(a.relation(&mix), Relation::Overlapping);
        assert_eq!(a.name, None);
        assert_eq!(a.dir.as_deref(), Some("/nonexistent/x"));
        assert_eq!(a.flags(), "--data-dir /nonexistent/x");
    }
}
