//! The per-epoch history as CSV: one [`EpochRecord`] per line, written after every
//! epoch so a run can be plotted while it goes and resumed after it stops.
//!
//! Numbers are written with Rust's shortest round-trip formatting, so reading the
//! file back gives exactly the values written (NaN and infinities included); an empty
//! field is `None`.

use std::fmt::Display;
use std::path::Path;
use std::str::FromStr;

use super::{EpochRecord, write_atomic};
use crate::{Error, Result};

/// The CSV header line, naming the columns in order.
pub const HEADER: &str =
    "epoch,train_loss,train_accuracy,val_loss,val_accuracy,learning_rate,seconds";

/// Number of columns in [`HEADER`].
const COLUMNS: usize = 7;

/// A value as a CSV field: empty for `None`.
fn opt<T: Display>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

/// The history as CSV text: [`HEADER`], then one line per record.
pub fn to_csv(records: &[EpochRecord]) -> String {
    let mut out = String::with_capacity(HEADER.len() + 1 + records.len() * 64);
    out.push_str(HEADER);
    out.push('\n');
    for r in records {
        out.push_str(&format!(
            "{},{},{},{},{},{},{}\n",
            r.epoch,
            r.train_loss,
            opt(r.train_accuracy),
            opt(r.val_loss),
            opt(r.val_accuracy),
            r.learning_rate,
            r.seconds
        ));
    }
    out
}

/// Writes the history to `path` as CSV, atomically (see
/// [`write_atomic`]).
pub fn write_csv(path: &Path, records: &[EpochRecord]) -> Result<()> {
    write_atomic(path, to_csv(records).as_bytes())
}

/// Reads a history written by [`write_csv`], e.g. to resume a run.
///
/// Errs with [`Error::Io`] when the file cannot be read, and with [`Error::Format`]
/// naming the line (and column) when it is not such a history.
pub fn read_csv(path: &Path) -> Result<Vec<EpochRecord>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    parse_csv(path, &text)
}

/// Parses CSV text read from `path` (named in errors).
fn parse_csv(path: &Path, text: &str) -> Result<Vec<EpochRecord>> {
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim_end_matches('\r')));
    match lines.next() {
        Some((_, header)) if header == HEADER => {}
        Some((n, header)) => {
            return Err(Error::format(
                path,
                format!("line {n}: expected header \"{HEADER}\", found \"{header}\""),
            ));
        }
        None => return Err(Error::format(path, "line 1: empty file, expected a header")),
    }
    let mut records = Vec::new();
    for (n, line) in lines {
        if line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split(',').collect();
        if fields.len() != COLUMNS {
            return Err(Error::format(
                path,
                format!("line {n}: {} fields, expected {COLUMNS}", fields.len()),
            ));
        }
        let field = |i: usize| Field {
            path,
            line: n,
            name: HEADER.split(',').nth(i).unwrap_or("?"),
            text: fields[i].trim(),
        };
        records.push(EpochRecord {
            epoch: field(0).required()?,
            train_loss: field(1).required()?,
            train_accuracy: field(2).optional()?,
            val_loss: field(3).optional()?,
            val_accuracy: field(4).optional()?,
            learning_rate: field(5).required()?,
            seconds: field(6).required()?,
        });
    }
    Ok(records)
}

/// One CSV field and where it came from, for error messages.
struct Field<'a> {
    /// The file.
    path: &'a Path,
    /// 1-based line number.
    line: usize,
    /// The column's name.
    name: &'a str,
    /// The field's text, trimmed.
    text: &'a str,
}

impl Field<'_> {
    /// The field's value; empty is an error.
    fn required<T: FromStr>(&self) -> Result<T> {
        if self.text.is_empty() {
            return Err(Error::format(
                self.path,
                format!("line {}: {} is empty", self.line, self.name),
            ));
        }
        self.parse()
    }

    /// The field's value, `None` when empty.
    fn optional<T: FromStr>(&self) -> Result<Option<T>> {
        if self.text.is_empty() {
            Ok(None)
        } else {
            self.parse().map(Some)
        }
    }

    /// Parses the field.
    fn parse<T: FromStr>(&self) -> Result<T> {
        self.text.parse().map_err(|_| {
            Error::format(
                self.path,
                format!(
                    "line {}: {} \"{}\" is not a valid {}",
                    self.line,
                    self.name,
                    self.text,
                    std::any::type_name::<T>()
                ),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_dir::TestDir;
    use super::*;

    fn records() -> Vec<EpochRecord> {
        vec![
            EpochRecord {
                epoch: 1,
                train_loss: 0.612_345_6,
                train_accuracy: Some(0.5),
                val_loss: None,
                val_accuracy: None,
                learning_rate: 1e-3,
                seconds: 2.25,
            },
            EpochRecord {
                epoch: 2,
                train_loss: 0.1,
                train_accuracy: None,
                val_loss: Some(0.3),
                val_accuracy: Some(0.912_345_7),
                learning_rate: 3e-4,
                seconds: 1.0 / 3.0,
            },
        ]
    }

    #[test]
    fn csv_layout() {
        let text = to_csv(&records());
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], HEADER);
        assert_eq!(lines[1], "1,0.6123456,0.5,,,0.001,2.25");
        assert!(lines[2].starts_with("2,0.1,,0.3,0.9123457,0.0003,0.333"));
        assert_eq!(lines.len(), 3);
    }

    #[test]
    fn round_trip_through_file() {
        let dir = TestDir::new("history");
        let path = dir.path().join("history.csv");
        let mut recs = records();
        write_csv(&path, &recs).unwrap();
        assert_eq!(read_csv(&path).unwrap(), recs);
        write_csv(&path, &[]).unwrap();
        assert_eq!(read_csv(&path).unwrap(), vec![]);
        // Non-finite values survive (NaN compared by text, as NaN != NaN).
        recs[0].train_loss = f32::INFINITY;
        recs[1].val_loss = Some(f32::NAN);
        write_csv(&path, &recs).unwrap();
        let back = read_csv(&path).unwrap();
        assert_eq!(back[0].train_loss, f32::INFINITY);
        assert!(back[1].val_loss.is_some_and(f32::is_nan));
    }

    #[test]
    fn errors_name_file_and_line() {
        let path = Path::new("runs/h.csv");
        let bad_float = format!("{HEADER}\n1,0.5,,,,0.1,1\n2,abc,,,,0.1,1\n");
        let e = parse_csv(path, &bad_float).unwrap_err().to_string();
        assert!(
            e.starts_with("runs/h.csv: line 3: train_loss \"abc\""),
            "{e}"
        );
        let short = format!("{HEADER}\n1,0.5\n");
        let e = parse_csv(path, &short).unwrap_err().to_string();
        assert!(e.contains("line 2: 2 fields, expected 7"), "{e}");
        let empty_required = format!("{HEADER}\n1,0.5,,,,,1\n");
        let e = parse_csv(path, &empty_required).unwrap_err().to_string();
        assert!(e.contains("line 2: learning_rate is empty"), "{e}");
        let e = parse_csv(path, "epoch,loss\n").unwrap_err().to_string();
        assert!(e.contains("line 1: expected header"), "{e}");
        assert!(parse_csv(path, "").is_err());
        let e = read_csv(Path::new("/nonexistent/mote/h.csv")).unwrap_err();
        assert!(matches!(e, Error::Io { .. }));
    }

    #[test]
    fn accepts_crlf_and_blank_lines() {
        let text = format!("{HEADER}\r\n1,0.5,,,,0.1,1\r\n\r\n");
        let recs = parse_csv(Path::new("h.csv"), &text).unwrap();
        assert_eq!(recs.len(), 1);
        assert_eq!(recs[0].seconds, 1.0);
    }
}
