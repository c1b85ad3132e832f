//! Golden vectors: integer reference input → exact expected output, converted from
//! CMSIS-NN's unit-test data (see `tests/data/golden/README.md` for provenance, schema
//! and formulas).

use serde_json::Value;
use std::path::PathBuf;

/// The folder holding one sub-folder per operator.
pub fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("data")
        .join("golden")
}

/// One golden data set: its file name and parsed JSON object.
pub struct Set {
    /// `<op>/<file>`, for messages.
    pub name: String,
    /// The parsed file.
    pub json: Value,
}

impl Set {
    /// Integer field `key`; panics with the set's name when absent (test code).
    pub fn int(&self, key: &str) -> i64 {
        self.json[key]
            .as_i64()
            .unwrap_or_else(|| panic!("{}: no integer `{key}`", self.name))
    }

    /// Integer array field `key`.
    pub fn ints(&self, key: &str) -> Vec<i64> {
        self.json[key]
            .as_array()
            .unwrap_or_else(|| panic!("{}: no array `{key}`", self.name))
            .iter()
            .map(|v| {
                v.as_i64()
                    .unwrap_or_else(|| panic!("{}: non-integer in `{key}`", self.name))
            })
            .collect()
    }
}

/// Every set of operator `op`, sorted by file name. Panics if there are none, so a
/// missing data folder fails loudly instead of passing vacuously.
pub fn sets(op: &str) -> Vec<Set> {
    let folder = dir().join(op);
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&folder)
        .unwrap_or_else(|e| panic!("golden folder {}: {e}", folder.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    assert!(!paths.is_empty(), "no golden sets in {}", folder.display());
    paths
        .into_iter()
        .map(|p| {
            let text =
                std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            let json =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            let name = format!(
                "{op}/{}",
                p.file_name().unwrap_or_default().to_string_lossy()
            );
            Set { name, json }
        })
        .collect()
}

/// Every operator folder name.
pub fn ops() -> Vec<String> {
    let mut ops: Vec<String> = std::fs::read_dir(dir())
        .expect("golden folder")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    ops.sort();
    ops
}
