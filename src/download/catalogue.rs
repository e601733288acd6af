//! The data sets `download` knows: their mirrors, and each file's published checksums and
//! sizes. Checksums: the MD5 of the `.gz` as published by the data set's authors, or, for
//! mirrors that recompress, the MD5 of the uncompressed content (MNIST: the published
//! uncompressed MD5s; Fashion-MNIST: computed from the content of the official files). Sizes:
//! the official `.gz` files' lengths (MNIST's from yann.lecun.com, Fashion-MNIST's from its
//! repository; Debian's `dataset-fashion-mnist` copies are 24 bytes shorter, stored without the
//! file name in the gzip header) and the IDX content's lengths from the dimensions.

/// One file of a data set and its checksums.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RemoteFile {
    pub name: &'static str,
    /// MD5 of the gzip file as the authors publish it.
    pub gz_md5: &'static str,
    /// MD5 of the uncompressed IDX content.
    pub content_md5: &'static str,
    /// Bytes of the gzip file as the authors publish it.
    pub gz_size: u64,
    /// Bytes of the uncompressed IDX content (its header says: 16 + count·rows·cols for
    /// images, 8 + count for labels).
    pub content_size: u64,
}

/// Bytes a gzip file can have at most when it holds `content` bytes: deflate's stored blocks
/// (5 bytes of framing per 65,535 bytes, the worst any compressor does), gzip's 10-byte header
/// and 8-byte trailer, and up to 4 KiB of optional header fields (a file name, a comment).
pub fn largest_gzip(content: u64) -> u64 {
    content + 5 * content.div_ceil(65_535).max(1) + 18 + 4096
}

impl RemoteFile {
    /// The most bytes a copy of this file can have: the published `.gz`, or a mirror's
    /// recompressed copy of the same content ([`largest_gzip`]). A server that sends more is
    /// cut off there.
    pub fn max_bytes(&self) -> u64 {
        self.gz_size.max(largest_gzip(self.content_size))
    }
}

/// A data set's mirrors and files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Catalogue {
    pub name: &'static str,
    /// Base URLs; a file's URL is the base, a slash and its name.
    pub mirrors: &'static [&'static str],
    pub files: [RemoteFile; 4],
    /// Where `download` puts the files when no --dir is given.
    pub default_dir: &'static str,
}

pub const MNIST: Catalogue = Catalogue {
    name: "MNIST",
    mirrors: &[
        "https://ossci-datasets.s3.amazonaws.com/mnist",
        "https://storage.googleapis.com/cvdf-datasets/mnist",
    ],
    files: [
        RemoteFile {
            name: "train-images-idx3-ubyte.gz",
            gz_md5: "f68b3c2dcbeaaa9fbdd348bbdeb94873",
            content_md5: "6bbc9ace898e44ae57da46a324031adb",
            gz_size: 9912422,
            content_size: 47040016,
        },
        RemoteFile {
            name: "train-labels-idx1-ubyte.gz",
            gz_md5: "d53e105ee54ea40749a09fcbcd1e9432",
            content_md5: "a25bea736e30d166cdddb491f175f624",
            gz_size: 28881,
            content_size: 60008,
        },
        RemoteFile {
            name: "t10k-images-idx3-ubyte.gz",
            gz_md5: "9fb629c4189551a2d022fa330f9573f3",
            content_md5: "2646ac647ad5339dbf082846283269ea",
            gz_size: 1648877,
            content_size: 7840016,
        },
        RemoteFile {
            name: "t10k-labels-idx1-ubyte.gz",
            gz_md5: "ec29112dd5afa0611ce80d1b7f02629c",
            content_md5: "27ae3e4e09519cfbb04c329615203637",
            gz_size: 4542,
            content_size: 10008,
        },
    ],
    default_dir: "data/mnist",
};

pub const FASHION_MNIST: Catalogue = Catalogue {
    name: "Fashion-MNIST",
    mirrors: &[
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com",
        "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion",
    ],
    files: [
        RemoteFile {
            name: "train-images-idx3-ubyte.gz",
            gz_md5: "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
            content_md5: "f4a8712d7a061bf5bd6d2ca38dc4d50a",
            gz_size: 26421880,
            content_size: 47040016,
        },
        RemoteFile {
            name: "train-labels-idx1-ubyte.gz",
            gz_md5: "25c81989df183df01b3e8a0aad5dffbe",
            content_md5: "9018921c3c673c538a1fc5bad174d6f9",
            gz_size: 29515,
            content_size: 60008,
        },
        RemoteFile {
            name: "t10k-images-idx3-ubyte.gz",
            gz_md5: "bef4ecab320f06d8554ea6380940ec79",
            content_md5: "8181f5470baa50b63fa0f6fddb340f0a",
            gz_size: 4422102,
            content_size: 7840016,
        },
        RemoteFile {
            name: "t10k-labels-idx1-ubyte.gz",
            gz_md5: "bb300cfdad3c16e7a12a480ee83cd310",
            content_md5: "15d484375f8d13e6eb1aabb0c3f46965",
            gz_size: 5148,
            content_size: 10008,
        },
    ],
    default_dir: "data/fashion-mnist",
};
