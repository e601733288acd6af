//! Errors as values. Every message names what was involved (a file, a flag, a layer), what was
//! expected and what was found, so that a user can act on it without reading the source.

use std::path::PathBuf;

/// Everything that can go wrong in gpu-mlp, as a value the CLI turns into one line and an exit
/// code.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be opened, read or written.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A data file's content is not what its format promises.
    #[error("{path}: {message}")]
    BadData { path: PathBuf, message: String },
    /// A checkpoint that cannot be used.
    #[error("checkpoint {path}: {message}")]
    BadCheckpoint { path: PathBuf, message: String },
    /// An output path that cannot be written, or must not be: `flag` names the option that gave
    /// it (empty where none did). Checked before a run does its work.
    #[error("{}{}: {message}", if flag.is_empty() { String::new() } else { format!("{flag} ") }, path.display())]
    Output {
        flag: String,
        path: PathBuf,
        message: String,
    },
    /// A flag or configuration value out of its range, or values that do not fit together.
    #[error("{0}")]
    Config(String),
    /// Training went wrong beyond repair: a NaN or infinite cost or weight, saturated weights,
    /// accuracy collapsed to chance, or state that would not read back if saved.
    #[error("{0}")]
    Diverged(String),
    /// No GPU adapter, or one that cannot run what was asked.
    #[error("{0}")]
    Gpu(String),
    /// `selftest`: the GPU computed results the CPU reference does not accept.
    #[error("{0}")]
    SelftestFailed(String),
    /// `download` got no good copy of a file: the network is unreachable (a DNS or connection
    /// failure on every mirror), or the mirrors reached refused the file or served bad copies.
    #[error("{0}")]
    Network(String),
    /// A failure that is not the user's: encoding a PNG or JSON, building a file gpu-mlp
    /// writes. The message says what was being made; it is a bug to report.
    #[error("internal error: {0} (please report this as a bug)")]
    Internal(String),
}

impl Error {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    pub fn bad_data(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Error::BadData {
            path: path.into(),
            message: message.into(),
        }
    }

    pub fn bad_checkpoint(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Error::BadCheckpoint {
            path: path.into(),
            message: message.into(),
        }
    }

    pub fn output(flag: &str, path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Error::Output {
            flag: flag.to_string(),
            path: path.into(),
            message: message.into(),
        }
    }

    pub fn config(message: impl Into<String>) -> Self {
        Error::Config(message.into())
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Error::Internal(message.into())
    }

    /// The process exit code the CLI uses for this error (documented in `--help`).
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Internal(_) => 1,
            Error::Config(_) => 2,
            Error::Io { .. }
            | Error::Output { .. }
            | Error::BadData { .. }
            | Error::BadCheckpoint { .. } => 3,
            Error::Diverged(_) => 4,
            Error::Gpu(_) => 5,
            Error::SelftestFailed(_) => 6,
            Error::Network(_) => 7,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    /// Every kind of error exits with a code that `--help` documents (cli::EXIT_CODES), and
    /// failures that are not the user's exit 1, apart from a bad flag's 2.
    #[test]
    fn every_exit_code_is_documented() {
        let errors = [
            Error::internal("encoding a PNG"),
            Error::config("--eta"),
            Error::io("f", std::io::Error::other("x")),
            Error::bad_data("f", "x"),
            Error::bad_checkpoint("f", "x"),
            Error::output("--save", "f", "x"),
            Error::Diverged("x".into()),
            Error::Gpu("x".into()),
            Error::SelftestFailed("x".into()),
            Error::Network("x".into()),
        ];
        let codes: Vec<i32> = errors.iter().map(Error::exit_code).collect();
        assert_eq!(codes, [1, 2, 3, 3, 3, 3, 4, 5, 6, 7]);
        for code in codes {
            assert!(
                crate::cli::EXIT_CODES
                    .lines()
                    .any(|l| l.trim_start().starts_with(&format!("{code} "))),
                "exit code {code} is not in --help"
            );
        }
        assert!(errors[0].to_string().contains("bug"));
    }
}
