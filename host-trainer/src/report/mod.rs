//! What a training run leaves behind for people and tools to read: the per-epoch
//! history as CSV ([`history`]), loss and accuracy curves as SVG ([`curves`]), and
//! the run's headline numbers as flat JSON ([`summary_json`]).
//!
//! Every file is written with [`write_atomic`], so an interrupted run never leaves a
//! half-written report that a resumed run would then misread.

pub mod curves;
pub mod history;
pub mod summary_json;

use std::ffi::OsString;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

pub use curves::write_svg;
pub use history::{read_csv, write_csv};
pub use summary_json::{RunMetrics, median, write_metrics_json};

/// One epoch of training, as the history, the curves and the progress lines show it.
///
/// Accuracies are fractions in `[0, 1]`; `None` where the run has no such number
/// (no validation set, or a loss-only task).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    /// The epoch's number, counting from 1.
    pub epoch: usize,
    /// Mean training loss over the epoch.
    pub train_loss: f32,
    /// Training accuracy over the epoch, for classification.
    pub train_accuracy: Option<f32>,
    /// Validation loss after the epoch, when there is a validation set.
    pub val_loss: Option<f32>,
    /// Validation accuracy after the epoch, when there is a validation set.
    pub val_accuracy: Option<f32>,
    /// The learning rate used in the epoch (its last value, if it was scheduled).
    pub learning_rate: f32,
    /// Wall-clock seconds the epoch took, validation included.
    pub seconds: f64,
}

/// `<path>.tmp`: where [`write_atomic`] stages a file.
fn tmp_path(path: &Path) -> PathBuf {
    let mut name: OsString = path.as_os_str().to_owned();
    name.push(".tmp");
    PathBuf::from(name)
}

/// Writes `bytes` to `path` so that readers see either the old file or the whole new
/// one, never a part: writes `<path>.tmp`, flushes it to disk, then renames it over
/// `path`.
///
/// Errs with [`Error::Io`] naming the file that failed; the temporary file is removed
/// on failure.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = tmp_path(path);
    let staged = (|| {
        let mut file = File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()
    })();
    if let Err(e) = staged {
        let _ = fs::remove_file(&tmp);
        return Err(Error::io(&tmp, e));
    }
    if let Err(e) = fs::rename(&tmp, path) {
        let _ = fs::remove_file(&tmp);
        return Err(Error::io(path, e));
    }
    // Make the rename itself durable where the platform allows syncing a directory;
    // failing to is not an error, the data is already safe in the file.
    if let Some(dir) = path.parent() {
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod test_dir {
    //! Scratch directories for tests, unique per test and removed afterwards.

    use std::path::{Path, PathBuf};

    /// A directory under the system temp dir, removed on drop.
    pub struct TestDir(PathBuf);

    impl TestDir {
        /// A fresh directory named after `name` and the process id.
        pub fn new(name: &str) -> Self {
            let dir =
                std::env::temp_dir().join(format!("mote-report-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            Self(dir)
        }

        /// The directory.
        pub fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for TestDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::test_dir::TestDir;
    use super::*;

    #[test]
    fn atomic_write_replaces_and_leaves_no_tmp() {
        let dir = TestDir::new("atomic");
        let path = dir.path().join("out.txt");
        write_atomic(&path, b"first").unwrap();
        write_atomic(&path, b"second").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"second");
        assert!(!tmp_path(&path).exists());
        assert_eq!(tmp_path(&path).file_name().unwrap(), "out.txt.tmp");
    }

    #[test]
    fn atomic_write_reports_the_path() {
        let dir = TestDir::new("atomic-missing");
        let path = dir.path().join("no-such-dir").join("out.txt");
        match write_atomic(&path, b"x") {
            Err(Error::Io { path: p, .. }) => assert!(p.ends_with("out.txt.tmp")),
            other => panic!("expected Io error, got {other:?}"),
        }
    }
}
