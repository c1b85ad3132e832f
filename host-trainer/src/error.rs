//! The trainer's error: what went wrong, with the file (and where in it) when there is
//! one, formatted as one line for the CLI.

use std::fmt;
use std::path::{Path, PathBuf};

/// Shorthand for results whose error is [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

/// An error of the host side of mote.
#[derive(Debug)]
pub enum Error {
    /// A file could not be opened, read or written.
    Io {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// A file's contents are not what its format requires.
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong, and where in the file.
        detail: String,
    },
    /// Inputs that are each valid do not fit together (e.g. 8,000 images, 7,999 labels).
    Mismatch {
        /// What does not fit.
        detail: String,
    },
    /// A kernel rejected its arguments.
    Kernel(mote_core::Error),
    /// Training cannot go on (the loss diverged, …); the last good checkpoint is kept.
    Training(String),
    /// The device asked for cannot be used (no GPU, no GPU support in this build, …).
    Device(String),
    /// A spec (model, training or data settings) that cannot be built.
    Spec {
        /// Where: the layer (`layer 3 (conv2d 'c1')`) or setting (`training.batch`).
        at: String,
        /// What is wrong.
        detail: String,
    },
}

impl Error {
    /// An [`Error::Io`] for `path`.
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    /// An [`Error::Format`] for `path`.
    pub fn format(path: &Path, detail: impl Into<String>) -> Self {
        Self::Format {
            path: path.to_path_buf(),
            detail: detail.into(),
        }
    }
}

impl Error {
    /// An [`Error::Spec`] at `at`.
    pub fn spec(at: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::Spec {
            at: at.into(),
            detail: detail.into(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io { path, source } => write!(f, "{}: {source}", path.display()),
            Self::Format { path, detail } => write!(f, "{}: {detail}", path.display()),
            Self::Mismatch { detail } => f.write_str(detail),
            Self::Kernel(e) => write!(f, "{e}"),
            Self::Spec { at, detail } => write!(f, "{at}: {detail}"),
            Self::Training(detail) => f.write_str(detail),
            Self::Device(detail) => f.write_str(detail),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io { source, .. } => Some(source),
            Self::Kernel(e) => Some(e),
            _ => None,
        }
    }
}

impl From<mote_core::Error> for Error {
    fn from(e: mote_core::Error) -> Self {
        Self::Kernel(e)
    }
}
