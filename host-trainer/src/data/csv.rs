//! Numeric CSV files: one sample per line, comma-separated numbers, one of the columns
//! the target (a class index or a real value), the others the features.
//!
//! The parser is deliberately small: fields are separated by `,` and trimmed of
//! surrounding whitespace; quoted fields are not interpreted (a header name may be
//! wrapped in `"…"`, which is stripped). An optional header row names the columns, a
//! UTF-8 byte-order mark and `\r\n` line endings are accepted, and blank lines at the
//! end of the file are ignored.
//!
//! Every malformation is an [`Error::Format`] naming the file, the line (counted
//! from 1) and, for a bad field, the column (counted from 0, like
//! [`LabelColumn::Index`]) and its header name: `data.csv: line 17, column 3 ('petal_width'): 'abc' is not a number`.

use super::dataset::{Dataset, Targets};
use crate::error::{Error, Result};
use std::path::Path;

/// Which column holds the target.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum LabelColumn {
    /// The last column (the common layout, hence the default).
    #[default]
    Last,
    /// The column at this index, counted from 0.
    Index(usize),
    /// The column with this header name (needs [`CsvOptions::header`]).
    Name(String),
}

/// What the targets of a data set are; shared by the CSV and `.npy` loaders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Task {
    /// Integer class labels `≥ 0`. With `classes: None` the number of classes is the
    /// largest label + 1; with `Some(c)` every label must be `< c` (so that a split
    /// missing the highest class still gets the model's class count).
    Classification {
        /// The number of classes, or `None` to infer it from the labels.
        classes: Option<usize>,
    },
    /// One real value per sample.
    Regression,
}

impl Default for Task {
    /// Classification with the class count inferred.
    fn default() -> Self {
        Self::Classification { classes: None }
    }
}

/// The task of a CSV file (the same type as [`Task`], named for [`CsvOptions`]).
pub type CsvTask = Task;

/// How to read a CSV file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvOptions {
    /// Whether the first line names the columns rather than holding a sample.
    pub header: bool,
    /// The column holding the target; every other column is a feature.
    pub label_column: LabelColumn,
    /// Whether the target is a class label or a real value.
    pub task: CsvTask,
}

impl Default for CsvOptions {
    /// A header row, the label in the last column, classification with inferred classes.
    fn default() -> Self {
        Self {
            header: true,
            label_column: LabelColumn::Last,
            task: Task::default(),
        }
    }
}

/// Reads the CSV file at `path` into a data set of `sample_shape = [features]`, where
/// `features` is the number of columns less the label column.
pub fn load(path: &Path, opts: &CsvOptions) -> Result<Dataset> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let text = std::str::from_utf8(&bytes).map_err(|e| {
        Error::format(
            path,
            format!("byte {}: the file is not UTF-8 text", e.valid_up_to()),
        )
    })?;
    parse(path, text, opts)
}

/// Parses CSV text already in memory, as [`load`] does; `path` only names it in errors.
pub fn parse(path: &Path, text: &str, opts: &CsvOptions) -> Result<Dataset> {
    let fail = |detail: String| Error::format(path, detail);
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines: Vec<(usize, &str)> = text
        .split('\n')
        .enumerate()
        .map(|(i, l)| (i + 1, l.strip_suffix('\r').unwrap_or(l)))
        .collect();
    while lines.last().is_some_and(|(_, l)| l.trim().is_empty()) {
        lines.pop();
    }
    let mut rows = lines.iter().copied();
    let names: Option<Vec<String>> = if opts.header {
        let Some((_, line)) = rows.next() else {
            return Err(fail("the file is empty: no header row and no data".into()));
        };
        Some(line.split(',').map(header_name).collect())
    } else {
        None
    };
    let rows: Vec<(usize, &str)> = rows.collect();
    let Some(&(first_line, first)) = rows.first() else {
        return Err(fail(if opts.header {
            "the file has a header row but no data rows".into()
        } else {
            "the file is empty: no data rows".into()
        }));
    };
    let (columns, columns_line) = match &names {
        Some(n) => (n.len(), 1),
        None => (first.split(',').count(), first_line),
    };
    if columns < 2 {
        return Err(fail(format!(
            "line {columns_line}: {columns} column; a sample needs at least one feature \
             column and the label column"
        )));
    }
    let label = match &opts.label_column {
        LabelColumn::Last => columns - 1,
        LabelColumn::Index(i) if *i < columns => *i,
        LabelColumn::Index(i) => {
            return Err(fail(format!(
                "label column {i} does not exist: line {columns_line} has {columns} \
                 columns (counted from 0)"
            )));
        }
        LabelColumn::Name(want) => {
            let Some(names) = &names else {
                return Err(fail(format!(
                    "label column '{want}' is given by name but the options say the file \
                     has no header row"
                )));
            };
            names.iter().position(|n| n == want).ok_or_else(|| {
                fail(format!(
                    "line 1: no column is named '{want}' (the columns are {})",
                    names
                        .iter()
                        .map(|n| format!("'{n}'"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })?
        }
    };
    let features = columns - 1;
    let place = |line: usize, col: usize| match names.as_ref().and_then(|n| n.get(col)) {
        Some(name) => format!("line {line}, column {col} ('{name}')"),
        None => format!("line {line}, column {col}"),
    };

    let mut inputs = Vec::with_capacity(rows.len().saturating_mul(features));
    let mut labels = Vec::new();
    let mut values = Vec::new();
    let mut max_label = None::<usize>;
    for &(line_no, line) in &rows {
        if line.trim().is_empty() {
            return Err(fail(format!(
                "line {line_no}: blank line inside the data (expected {columns} fields)"
            )));
        }
        let count = line.split(',').count();
        if count != columns {
            return Err(fail(format!(
                "line {line_no}: {count} fields, expected {columns} (as on line {columns_line})"
            )));
        }
        for (col, field) in line.split(',').enumerate() {
            let field = field.trim();
            if col != label {
                inputs.push(
                    number(field).map_err(|e| fail(format!("{}: {e}", place(line_no, col))))?,
                );
                continue;
            }
            match opts.task {
                Task::Regression => {
                    values.push(
                        number(field).map_err(|e| fail(format!("{}: {e}", place(line_no, col))))?,
                    );
                }
                Task::Classification { classes } => {
                    let l = class_label(field)
                        .map_err(|e| fail(format!("{}: {e}", place(line_no, col))))?;
                    if let Some(c) = classes.filter(|&c| l >= c) {
                        return Err(fail(format!(
                            "{}: label {l} is not below the {c} classes",
                            place(line_no, col)
                        )));
                    }
                    max_label = Some(max_label.map_or(l, |m| m.max(l)));
                    labels.push(l);
                }
            }
        }
    }
    let targets = match opts.task {
        Task::Regression => Targets::Values { values, width: 1 },
        Task::Classification { classes } => Targets::Classes {
            labels,
            // Labels are below u32::MAX, so the + 1 cannot overflow.
            classes: classes.unwrap_or_else(|| max_label.map_or(0, |m| m + 1)),
        },
    };
    Ok(Dataset {
        inputs,
        sample_shape: vec![features],
        targets,
    })
}

/// A header name: trimmed, with one pair of surrounding double quotes stripped.
fn header_name(field: &str) -> String {
    let f = field.trim();
    f.strip_prefix('"')
        .and_then(|f| f.strip_suffix('"'))
        .unwrap_or(f)
        .to_string()
}

/// A field for messages: quoted, and cut short if long.
fn shown(field: &str) -> String {
    const MAX: usize = 32;
    if field.chars().count() > MAX {
        format!("'{}…'", field.chars().take(MAX).collect::<String>())
    } else {
        format!("'{field}'")
    }
}

/// A finite number, or why the field is not one.
fn number(field: &str) -> std::result::Result<f32, String> {
    if field.is_empty() {
        return Err("the field is empty, not a number".into());
    }
    match field.parse::<f32>() {
        Ok(v) if v.is_finite() => Ok(v),
        Ok(_) => Err(format!(
            "{} is not a finite number (NaN and infinities are not allowed, and f32 \
             overflows to infinity above 3.4e38)",
            shown(field)
        )),
        Err(_) => Err(format!("{} is not a number", shown(field))),
    }
}

/// A class label: an integer in `0..u32::MAX`, written as `3` or `3.0`.
fn class_label(field: &str) -> std::result::Result<usize, String> {
    if field.is_empty() {
        return Err("the field is empty, not a class label".into());
    }
    let value = match field.parse::<u64>() {
        Ok(v) => Some(v),
        Err(_) => field
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite() && *v >= 0.0 && v.fract() == 0.0 && *v < 4.3e9)
            .map(|v| v as u64),
    };
    match value.map(usize::try_from) {
        Some(Ok(v)) if v < u32::MAX as usize => Ok(v),
        Some(_) => Err(format!(
            "{} is too large for a class label (at most {})",
            shown(field),
            u32::MAX - 1
        )),
        None => Err(format!(
            "{} is not a class label (an integer ≥ 0)",
            shown(field)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    /// A fresh folder under the system temp dir, removed when dropped.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(name: &str) -> Self {
            let dir = std::env::temp_dir().join(format!(
                "mote-csv-{name}-{}-{:?}",
                std::process::id(),
                std::thread::current().id()
            ));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            Self(dir)
        }

        fn write(&self, name: &str, text: &str) -> PathBuf {
            let p = self.0.join(name);
            std::fs::write(&p, text).unwrap();
            p
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn p() -> &'static Path {
        Path::new("data.csv")
    }

    fn err(text: &str, opts: &CsvOptions) -> String {
        parse(p(), text, opts).unwrap_err().to_string()
    }

    const IRIS: &str = "sepal_length,sepal_width,petal_length,petal_width,species\n\
                        5.1,3.5,1.4,0.2,0\n\
                        7.0,3.2,4.7,1.4,1\r\n\
                        6.3, 3.3 ,6.0,2.5,2\n\
                        \n\n";

    #[test]
    fn round_trip_through_a_file() {
        let dir = TempDir::new("roundtrip");
        let path = dir.write("iris.csv", IRIS);
        let ds = load(&path, &CsvOptions::default()).unwrap();
        assert_eq!(ds.sample_shape, [4]);
        assert_eq!(ds.len(), 3);
        assert_eq!(
            ds.inputs,
            [5.1, 3.5, 1.4, 0.2, 7.0, 3.2, 4.7, 1.4, 6.3, 3.3, 6.0, 2.5]
        );
        assert_eq!(
            ds.targets,
            Targets::Classes {
                labels: vec![0, 1, 2],
                classes: 3
            }
        );
        let missing = dir.0.join("nope.csv");
        let e = load(&missing, &CsvOptions::default()).unwrap_err();
        assert!(matches!(e, Error::Io { .. }), "{e}");
        assert!(e.to_string().contains("nope.csv"), "{e}");
    }

    #[test]
    fn label_column_by_name_index_and_regression() {
        let opts = CsvOptions {
            header: true,
            label_column: LabelColumn::Name("sepal_length".into()),
            task: Task::Regression,
        };
        let ds = parse(p(), IRIS, &opts).unwrap();
        assert_eq!(
            ds.targets,
            Targets::Values {
                values: vec![5.1, 7.0, 6.3],
                width: 1
            }
        );
        assert_eq!(&ds.inputs[..4], [3.5, 1.4, 0.2, 0.0]);
        let opts = CsvOptions {
            header: false,
            label_column: LabelColumn::Index(0),
            task: Task::Classification { classes: Some(5) },
        };
        let ds = parse(p(), "1,0.5,0.25\n4.0,1,2", &opts).unwrap();
        assert_eq!(ds.inputs, [0.5, 0.25, 1.0, 2.0]);
        assert_eq!(
            ds.targets,
            Targets::Classes {
                labels: vec![1, 4],
                classes: 5
            }
        );
        // A BOM and a quoted header name.
        let ds = parse(p(), "\u{feff}\"a\",\"b\"\n1,2\n", &CsvOptions::default()).unwrap();
        assert_eq!(ds.inputs, [1.0]);
    }

    #[test]
    fn bad_fields_name_line_and_column() {
        let text = "a,b,c,petal_width,y\n1,2,3,4,0\n1,2,3,abc,1\n";
        let e = err(text, &CsvOptions::default());
        assert_eq!(
            e,
            "data.csv: line 3, column 3 ('petal_width'): 'abc' is not a number"
        );
        let e = err(
            "1,2\n,3\n",
            &CsvOptions {
                header: false,
                ..Default::default()
            },
        );
        assert!(e.contains("line 2, column 0: the field is empty"), "{e}");
        let e = err("x,y\n3,\n", &CsvOptions::default());
        assert!(
            e.contains("line 2, column 1 ('y'): the field is empty"),
            "{e}"
        );
        for bad in ["NaN", "inf", "-infinity", "1e39"] {
            let e = err(&format!("x,y\n{bad},1\n"), &CsvOptions::default());
            assert!(
                e.contains("line 2, column 0 ('x')") && e.contains("not a finite number"),
                "{e}"
            );
        }
    }

    #[test]
    fn wrong_field_counts_and_blank_lines() {
        let e = err("a,b,c\n1,2,3\n1,2\n", &CsvOptions::default());
        assert!(e.contains("line 3: 2 fields, expected 3"), "{e}");
        let e = err("a,b,c\n1,2,3\n1,2,3,4\n", &CsvOptions::default());
        assert!(e.contains("line 3: 4 fields, expected 3"), "{e}");
        let e = err(
            "1,2,3\n\n1,2,3\n",
            &CsvOptions {
                header: false,
                ..Default::default()
            },
        );
        assert!(e.contains("line 2: blank line"), "{e}");
        let e = err("a\n1\n", &CsvOptions::default());
        assert!(e.contains("at least one feature"), "{e}");
    }

    #[test]
    fn empty_files() {
        assert!(err("", &CsvOptions::default()).contains("empty"));
        assert!(err("\n\r\n  \n", &CsvOptions::default()).contains("empty"));
        assert!(err("a,b\n\n", &CsvOptions::default()).contains("no data rows"));
        let no_header = CsvOptions {
            header: false,
            ..Default::default()
        };
        assert!(err("", &no_header).contains("empty"));
    }

    #[test]
    fn label_column_errors() {
        let by_name = |n: &str| CsvOptions {
            label_column: LabelColumn::Name(n.into()),
            ..Default::default()
        };
        let e = err("a,b\n1,2\n", &by_name("species"));
        assert!(
            e.contains("no column is named 'species'") && e.contains("'a', 'b'"),
            "{e}"
        );
        let e = err(
            "1,2\n",
            &CsvOptions {
                header: false,
                ..by_name("a")
            },
        );
        assert!(e.contains("no header row"), "{e}");
        let e = err(
            "a,b\n1,2\n",
            &CsvOptions {
                label_column: LabelColumn::Index(2),
                ..Default::default()
            },
        );
        assert!(e.contains("label column 2 does not exist"), "{e}");
    }

    #[test]
    fn class_labels_must_be_small_non_negative_integers() {
        for (bad, why) in [
            ("2.5", "not a class label"),
            ("-1", "not a class label"),
            ("cat", "not a class label"),
            ("nan", "not a class label"),
            ("99999999999", "too large"),
        ] {
            let e = err(&format!("x,y\n1,0\n1,{bad}\n"), &CsvOptions::default());
            assert!(
                e.contains("line 3, column 1 ('y')") && e.contains(why),
                "{bad}: {e}"
            );
        }
        let e = err(
            "x,y\n1,0\n1,3\n",
            &CsvOptions {
                task: Task::Classification { classes: Some(3) },
                ..Default::default()
            },
        );
        assert!(
            e.contains("line 3, column 1 ('y'): label 3 is not below the 3 classes"),
            "{e}"
        );
        let ds = parse(p(), "x,y\n1,2.0\n", &CsvOptions::default()).unwrap();
        assert_eq!(
            ds.targets,
            Targets::Classes {
                labels: vec![2],
                classes: 3
            }
        );
        // Regression targets are checked as numbers.
        let reg = CsvOptions {
            task: Task::Regression,
            ..Default::default()
        };
        assert!(err("x,y\n1,inf\n", &reg).contains("not a finite number"));
    }

    #[test]
    fn non_utf8_is_a_format_error() {
        let dir = TempDir::new("utf8");
        let path = dir.0.join("bin.csv");
        std::fs::write(&path, b"a,b\n1,\xff\n").unwrap();
        let e = load(&path, &CsvOptions::default()).unwrap_err();
        assert!(matches!(e, Error::Format { .. }));
        assert!(
            e.to_string().contains("byte 6: the file is not UTF-8"),
            "{e}"
        );
    }
}
